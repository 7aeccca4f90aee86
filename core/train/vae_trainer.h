// Trains one autoencoder or VAE on a data set: batches, the optimizer, the step count, checkpoints.
// Used by the worker (live training in the app) and by genlab-cli. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/data/dataset.h"
#include "core/models/vae.h"
#include "core/train/finite_guard.h"
#include "core/train/random_stream.h"

namespace genlab {

struct VaeStepLosses {
  float recon = 0, kl = 0, total = 0;
};

class VaeTrainer {
 public:
  // Seeds torch with config.seed; fills channels/height/width from the data set.
  VaeTrainer(VaeConfig config, std::shared_ptr<const Dataset> data);

  // One batch. Throws NonFiniteError on a NaN or inf (the update skipped, or the weights rolled back).
  VaeStepLosses train_step();
  // Mean losses over the first `max_images` test images, binarised once with a fixed seed when the
  // config binarises (so test figures are comparable across epochs); z is sampled.
  VaeStepLosses test_losses(int64_t max_images = 10000);

  void set_learning_rate(float lr);
  void set_beta(float beta);

  int64_t step() const { return step_; }
  double epoch() const { return double(step_) * config_.batch_size / double(train_count()); }
  int64_t train_count() const { return data_->train.count; }
  int64_t steps_per_epoch() const;
  const VaeConfig& config() const { return config_; }
  const Dataset& data() const { return *data_; }
  Vae& model() { return model_; }
  torch::optim::Adam& optimizer() { return *optimizer_; }

  // [0, 1] float images of a split, B x C x H x W.
  torch::Tensor images(Split split, const torch::Tensor& indices) const;
  torch::Tensor test_targets(int64_t count);  // binarised (fixed) or gray, as training sees them

  // Weights + metadata (config, data set, step, metrics JSON), and beside them the optimizer state,
  // the random stream and the place in the epoch.
  void save(const std::string& path, const std::string& metrics_json = "{}");
  // Restores all of that from a checkpoint of the same configuration: the run goes on exactly as
  // if it had not stopped (with the weights only, when the state file beside them is missing).
  void resume(const std::string& path);

 private:
  torch::Tensor next_batch_indices();
  void reset_optimizer();

  VaeConfig config_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor train_bytes_, test_bytes_;  // uint8 views of the data set's buffers
  torch::Tensor test_binary_;               // fixed binarisation of the test split
  RandomStream rng_;
  Vae model_;
  TrainingGuard guard_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  torch::Tensor permutation_;
  int64_t cursor_ = 0, step_ = 0;
};

// Reads a VAE/AE checkpoint's config from its metadata; throws CheckpointError naming the path
// when the file is another model's.
VaeConfig read_vae_config(const std::string& path, std::string* metadata_json = nullptr);

}  // namespace genlab
