#include "core/train/finite_guard.h"

namespace genlab {

namespace {

std::vector<torch::Tensor> weights_of(const Modules& modules) {
  std::vector<torch::Tensor> out;
  for (auto* m : modules) {
    for (auto& p : m->parameters()) out.push_back(p);
    for (auto& b : m->buffers()) out.push_back(b);
  }
  return out;
}

}  // namespace

bool all_finite(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  // One reduction a tensor and one read-back: a sum is NaN or inf when any element is (or overflows).
  std::vector<torch::Tensor> sums;
  for (const auto& t : tensors)
    if (t.defined() && t.is_floating_point()) sums.push_back(t.sum().to(torch::kDouble));
  return sums.empty() || torch::stack(sums).isfinite().all().item<bool>();
}

void TrainingGuard::remember(const Modules& modules, int64_t step) {
  torch::NoGradGuard no_grad;
  saved_.clear();
  for (auto& w : weights_of(modules)) saved_.push_back(w.detach().clone());
  good_step_ = step;
}

void TrainingGuard::before_update(const Modules& modules, const std::vector<torch::Tensor>& updated, int64_t step,
                                  float loss, const std::string& loss_name) {
  std::string what;
  if (!std::isfinite(loss)) {
    what = loss_name + " became " + std::to_string(loss);
  } else {
    std::vector<torch::Tensor> grads;
    for (const auto& p : updated) grads.push_back(p.grad());
    if (all_finite(grads)) return;
    what = "a gradient became nan or inf";
  }
  what += " at step " + std::to_string(step + 1);
  if (!all_finite(weights_of(modules))) restore_and_throw(modules, step, what + ": the weights hold nan or inf");
  throw NonFiniteError(model_, step + 1, -1,
                       what + "; that update was skipped: the weights are those of step " + std::to_string(step) +
                           " (lower the learning rate, then resume)");
}

void TrainingGuard::after_update(const Modules& modules, int64_t step) {
  if (!all_finite(weights_of(modules)))
    restore_and_throw(modules, step, "the weights became nan or inf at step " + std::to_string(step));
  // Only the first update to reach a step is its copy: a GAN's D updates after G's carry G's step
  // count, and the copy must hold D as it was when G got there.
  if (step % every_ == 0 && step != good_step_) remember(modules, step);
}

void TrainingGuard::restore_and_throw(const Modules& modules, int64_t step, const std::string& what) {
  auto weights = weights_of(modules);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < weights.size() && i < saved_.size(); ++i) weights[i].copy_(saved_[i]);
  }
  throw NonFiniteError(model_, step, good_step_,
                       what + "; restored the weights of step " + std::to_string(good_step_) +
                           " (lower the learning rate, then resume)");
}

}  // namespace genlab
