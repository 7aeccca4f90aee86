// Trains the class-conditional noise predictor: eps-prediction MSE at uniformly drawn t, the
// class label dropped to the null class with probability `label_dropout` (so one net gives both
// eps(x, c) and eps(x, none) for classifier-free guidance), an EMA copy of the weights for
// sampling, and the loss per t-bucket. Torch header.
#pragma once

#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>

#include "core/data/dataset.h"
#include "core/diffusion/samplers.h"
#include "core/diffusion/unet.h"
#include "core/train/finite_guard.h"
#include "core/train/random_stream.h"

namespace genlab {

struct DiffusionConfig {
  UNetConfig unet;
  bool conditional = true;  // class labels (with the null class for CFG) when the data set has them
  BetaSchedule schedule = BetaSchedule::Linear;
  int T = 1000;
  float learning_rate = 1e-3f;
  int batch_size = 64;
  float label_dropout = 0.1f;
  float ema_decay = 0.999f;
  uint64_t seed = 1;

  std::string to_json() const;
  static DiffusionConfig from_json(const std::string& text);  // throws std::invalid_argument
};

class DiffusionTrainer {
 public:
  static constexpr int kBuckets = 10;  // t-buckets of the loss: [1, 100], [101, 200], ...

  // Fills the U-Net's channels, image size and classes from the data set; seeds torch.
  DiffusionTrainer(DiffusionConfig config, std::shared_ptr<const Dataset> data);

  // One batch; returns the MSE. Throws NonFiniteError on a NaN or inf (the update skipped, or the
  // weights rolled back).
  float train_step();
  int64_t step() const { return step_; }
  double epoch() const { return double(step_) * config_.batch_size / double(data_->train.count); }
  const DiffusionConfig& config() const { return config_; }
  const NoiseSchedule& schedule() const { return schedule_; }
  const Dataset& data() const { return *data_; }
  // Mean loss per t-bucket over the recent steps (NaN where no sample fell yet).
  std::array<float, kBuckets> bucket_losses() const;

  // The EMA net as a denoiser for `labels` (B, long; -1: unconditional) with guidance scale w
  // (0: unconditional, 1: conditional, > 1: guided). Conditional and unconditional predictions run
  // as one batch of 2B. With `record`, a conditional model always runs both (even at w = 0 or 1) and
  // leaves them there after each call, for views of eps(c), eps(none) and their difference.
  struct GuidanceParts {
    torch::Tensor cond, uncond;
  };
  Denoiser denoiser(const torch::Tensor& labels, double w, std::shared_ptr<GuidanceParts> record = nullptr);
  UNet& ema() { return ema_; }
  UNet& net() { return net_; }

  // Weights and EMA, and beside them the optimizer state and the random stream: a resumed run goes
  // on exactly as if it had not stopped.
  void save(const std::string& path, const std::string& metrics_json = "{}");
  void resume(const std::string& path);

 private:
  void reset_optimizer();

  DiffusionConfig config_;
  std::shared_ptr<const Dataset> data_;
  NoiseSchedule schedule_;
  torch::Tensor train_bytes_, train_labels_, alpha_bar_;
  RandomStream rng_;
  TrainingGuard guard_{"diffusion model"};
  UNet net_{nullptr}, ema_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  int64_t step_ = 0;
  std::array<double, kBuckets> bucket_sum_{}, bucket_count_{};
};

DiffusionConfig read_diffusion_config(const std::string& path);

}  // namespace genlab
