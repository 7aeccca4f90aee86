// What every family's trainer answers — one step, its step count, a checkpoint it saves and resumes
// exactly — and what they share: the random stream, the NaN guard and the checkpoint format. What
// wraps training (the CLI's run loop, the labs' training job with its autosave and NaN pause, and
// data-parallel training) is written once against this. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/train/finite_guard.h"
#include "core/train/random_stream.h"

namespace genlab {

class DataParallel;  // core/train/data_parallel.h

// Keeps a module's weights out of autograd while it lives.
class Frozen {
 public:
  explicit Frozen(torch::nn::Module& module) : weights_(module.parameters()) {
    for (auto& w : weights_) w.requires_grad_(false);
  }
  ~Frozen() {
    for (auto& w : weights_) w.requires_grad_(true);
  }

 private:
  std::vector<torch::Tensor> weights_;
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One training step (a GAN: its D steps and one G step); returns the step's main loss. Throws
  // NonFiniteError on a NaN or inf: the update was skipped, or the weights rolled back to the last
  // good copy (the step count with them) and the optimizer moments start afresh.
  virtual float train_once() = 0;
  int64_t step() const { return step_; }
  virtual double epoch() const = 0;
  // Images one step takes in (for images/s).
  virtual int64_t batch_images() const = 0;
  const std::string& model_name() const { return model_name_; }  // "VAE", "GAN", ...: for messages

  // Weights + the genlab metadata (kind, config, data set, step, epoch, metrics, and the training
  // curves when `history_json` is given), and beside them the optimizer state, the random stream and
  // the place in the epoch. Both written to a temporary file and renamed.
  void save(const std::string& path, const std::string& metrics_json = "{}", const std::string& history_json = "");
  // Restores all of that from a checkpoint of the same model: the run goes on exactly as if it had
  // not stopped (from the weights alone, when the state file beside them is missing or stale).
  // Returns the checkpoint's genlab metadata (JSON text: its curves, metrics). Throws
  // CheckpointError naming the path for another model's file.
  std::string resume(const std::string& path);

  // Moves the models to `device` (their optimizers start afresh): call it before resume(), which
  // loads onto it. Batches and noise are still drawn on the CPU from the stream and then moved, so
  // a CUDA run draws the numbers a CPU run does.
  void move_to(torch::Device device);

  // Data-parallel training: from now on this trainer takes its rows of every batch and sums its
  // share of each update's gradients with the other ranks; only rank 0 writes checkpoints.
  void join(std::shared_ptr<DataParallel> ranks) { ranks_ = std::move(ranks); }
  // What the ranks must agree on before training together (JSON text): the model, config, data
  // set, step, place in the epoch and checksums of the weights and the random stream.
  std::string setup_json();
  // One rank was asked to stop (Ctrl-C): all of them stop after this same step.
  bool stop_agreed() const { return stop_agreed_; }

 protected:
  Trainer(uint64_t seed, std::string model_name) : rng_(seed), guard_(model_name), model_name_(std::move(model_name)) {}

  // The checkpoint's "model" entry ("vae", "ae", "gan", "ddpm") and "config", "dataset".
  virtual std::string kind() const = 0;
  virtual std::string config_json() const = 0;
  virtual std::string dataset_spec() const = 0;
  // Every module the checkpoint holds, by the prefix its tensors carry ("" for a single module).
  virtual std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() = 0;
  virtual std::vector<torch::optim::Optimizer*> optimizers() = 0;
  // New optimizers with fresh moments (after a rollback, or a change of optimizer).
  virtual void reset_optimizers() = 0;
  // Throws CheckpointError naming `path` when it holds another model than this one.
  virtual void check_same_model(const std::string& path) const = 0;
  // After the weights and step are back, before the optimizer state loads (metadata as JSON text).
  virtual void restore_from_metadata(const std::string& metadata_json) { (void)metadata_json; }
  // Training images per epoch, for the saved epoch order (0: no shuffled order).
  virtual int64_t order_size() const { return 0; }

  // Runs `apply` (the optimizer step that takes the run to `next_step`) through the NaN guard: the
  // loss and the gradients of `updated` are checked before it, the weights after it; on a rollback
  // the step count and the optimizers go back with the weights, and NonFiniteError is rethrown.
  // With other ranks, first sums their share-weighted gradients of `updated`, `loss` and the
  // figures in `averaged` (the step's other numbers), so every rank takes the same decision.
  template <class Apply>
  void guarded_update(const std::vector<torch::Tensor>& updated, float& loss, const std::string& loss_name,
                      int64_t next_step, Apply&& apply, const std::vector<float*>& averaged = {}) {
    if (ranks_) average_with_ranks(updated, loss, averaged, next_step);
    try {
      guard_.before_update(guarded(), updated, step_, loss, loss_name);
      apply();
      guard_.after_update(guarded(), next_step);
    } catch (const NonFiniteError& e) {
      if (e.restored_step >= 0) {
        step_ = e.restored_step;
        reset_optimizers();  // their moments led to the blow-up: start afresh from the restored weights
      }
      throw;
    }
  }
  // The update of a net that a weight average follows (the diffusion trainers'): loss backward, the
  // guarded optimizer step, the average, the step count. Returns the loss.
  float update_followed(const torch::Tensor& loss, torch::optim::Optimizer& optimizer, torch::nn::Module& net,
                        torch::nn::Module& average, double decay);
  // Keeps the current weights as the last good copy (after building or loading them).
  void remember_weights() { guard_.remember(guarded(), step_); }

  // `t` on the trainer's device (undefined stays undefined).
  torch::Tensor on_device(const torch::Tensor& t) const { return t.defined() ? t.to(device_) : t; }

  // This rank's rows of a batch drawn whole (its images, noise, labels): every rank draws the whole
  // batch from the same stream, so the streams stay equal and N ranks take the steps one process
  // would. Also records this rank's share of the batch for the gradient sum.
  torch::Tensor own_rows(const torch::Tensor& whole);
  // The next `batch` positions of the epoch's shuffled order of `count` images (a new order each
  // epoch); the last batch of an epoch is short when `keep_short`, else skipped.
  torch::Tensor next_in_order(int64_t count, int64_t batch, bool keep_short);

  RandomStream rng_;
  int64_t step_ = 0;
  torch::Tensor order_;  // the epoch's shuffled order, when the trainer walks its data in one
  int64_t cursor_ = 0;   // the next position in order_

 private:
  Modules guarded();
  void average_with_ranks(const std::vector<torch::Tensor>& updated, float& loss, const std::vector<float*>& averaged,
                          int64_t step);

  TrainingGuard guard_;
  std::string model_name_;
  std::shared_ptr<DataParallel> ranks_;
  torch::Device device_{torch::kCPU};
  double share_ = 1;  // this rank's share of the step's batch
  bool stop_agreed_ = false;
};

}  // namespace genlab
