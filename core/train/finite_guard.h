// A NaN or inf stops training before it reaches the weights: the loss and the gradients are
// checked before each update (a bad one is not applied), the weights after it and whenever a loss
// goes bad (broken weights roll back to the last copy kept). Torch header.
#pragma once

#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace genlab {

// what(): "<model>: <what> became nan at step N; <what was kept>". The labs pause on it.
struct NonFiniteError : std::runtime_error {
  NonFiniteError(const std::string& model, int64_t step, int64_t restored_step, const std::string& message)
      : std::runtime_error(model + ": " + message), model(model), step(step), restored_step(restored_step) {}
  std::string model;
  int64_t step;           // the step that met it
  int64_t restored_step;  // the weights were rolled back to this step; -1: the update was skipped, weights untouched
};

// True when every tensor holds only finite values (undefined and integer tensors are skipped).
bool all_finite(const std::vector<torch::Tensor>& tensors);

using Modules = std::vector<torch::nn::Module*>;

class TrainingGuard {
 public:
  explicit TrainingGuard(std::string model, int64_t copy_every = 50) : model_(std::move(model)), every_(copy_every) {}

  // Keeps a copy of the modules' parameters and buffers as the last good weights of `step`.
  void remember(const Modules& modules, int64_t step);
  // After backward, before the optimizer steps from `step` to `step` + 1: throws NonFiniteError when
  // the loss or a gradient of `updated` is not finite. Weights that are themselves broken are first
  // restored to the last copy (the caller then resets its optimizer moments and step count).
  void before_update(const Modules& modules, const std::vector<torch::Tensor>& updated, int64_t step, float loss,
                     const std::string& loss_name = "the loss");
  // After the optimizer step that reached `step`: rolls a blow-up back (and throws), else keeps a
  // copy every `copy_every` steps.
  void after_update(const Modules& modules, int64_t step);

 private:
  [[noreturn]] void restore_and_throw(const Modules& modules, int64_t step, const std::string& what);

  std::string model_;
  int64_t every_, good_step_ = 0;
  std::vector<torch::Tensor> saved_;
};

}  // namespace genlab
