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
#include "core/diffusion/guidance_schedule.h"
#include "core/diffusion/samplers.h"
#include "core/diffusion/sampling_params.h"
#include "core/diffusion/unet.h"
#include "core/metrics/model_samples.h"
#include "core/train/trainer.h"

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
  DistilledFrom distilled;

  std::string to_json() const;
  static DiffusionConfig from_json(const std::string& text);  // throws std::invalid_argument
};

class DiffusionTrainer : public Trainer {
 public:
  static constexpr int kBuckets = 10;  // t-buckets of the loss: [1, 100], [101, 200], ...

  // Fills the U-Net's channels, image size and classes from the data set; seeds torch.
  DiffusionTrainer(DiffusionConfig config, std::shared_ptr<const Dataset> data);

  // One batch; returns the MSE. Throws NonFiniteError on a NaN or inf (the update skipped, or the
  // weights rolled back).
  float train_step();
  float train_once() override { return train_step(); }
  float last_loss() const { return last_loss_; }
  double epoch() const override { return double(step_) * config_.batch_size / double(data_->train.count); }
  int64_t batch_images() const override { return config_.batch_size; }
  const DiffusionConfig& config() const { return config_; }
  const NoiseSchedule& schedule() const { return schedule_; }
  const Dataset& data() const { return *data_; }
  // Mean loss per t-bucket over the recent steps (NaN where no sample fell yet).
  std::array<float, kBuckets> bucket_losses() const;

  // The EMA net as a denoiser for `labels` (B, long; -1: unconditional) with guidance scale w
  // (0: unconditional, 1: conditional, > 1: guided). Conditional and unconditional predictions run
  // as one batch of 2B. With `record`, a conditional model always runs both (even at w = 0 or 1) and
  // leaves them there after each call, for views of eps(c), eps(none) and their difference. A
  // distilled student takes w as an input: one batch of B, and `record` stays empty.
  struct GuidanceParts {
    torch::Tensor cond, uncond;
  };
  Denoiser denoiser(const torch::Tensor& labels, double w, std::shared_ptr<GuidanceParts> record = nullptr);
  // The same with w a function of the timestep (a guidance schedule's curve).
  Denoiser denoiser(const torch::Tensor& labels, std::function<double(int t)> w_at,
                    std::shared_ptr<GuidanceParts> record = nullptr);
  UNet& ema() { return ema_; }
  UNet& net() { return net_; }

 private:
  std::string kind() const override { return "ddpm"; }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override {
    return {{"net", net_.get()}, {"ema", ema_.get()}};
  }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {optimizer_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;

  DiffusionConfig config_;
  std::shared_ptr<const Dataset> data_;
  NoiseSchedule schedule_;
  torch::Tensor train_bytes_, train_labels_, alpha_bar_;
  UNet net_{nullptr}, ema_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::array<double, kBuckets> bucket_sum_{}, bucket_count_{};
  float last_loss_ = 0;
};

DiffusionConfig read_diffusion_config(const std::string& path);

// The class of each of n samples for a model with `classes` classes (none: undefined): `label`, or
// with -1 each class in turn. The label must be in range (check_sampling_params).
torch::Tensor sample_labels(int label, int n, int classes);

// The walk a model takes for a run of `sampler` with `steps`: a distilled student its own DDIM steps,
// unclipped as it learnt them; any other model that sampler and grid, x0 clipped to [-1, 1].
struct SamplingWalkPlan {
  SamplerKind kind;
  std::vector<int> timesteps;
  double clip_x0;
};
SamplingWalkPlan sampling_walk_plan(const DiffusionConfig& config, const std::string& sampler, int steps);

// The EMA net's samples in [0, 1] with `sampler`, `steps` and guidance `cfg` (a class-conditional
// model: one of each class in turn) following `cfg_schedule`, for the quality metrics. A distilled
// student ignores `sampler` and `steps`: it takes the steps it learnt.
SampleSource diffusion_samples(DiffusionTrainer& trainer, const std::string& sampler, int steps, double cfg,
                               double eta = 0, const GuidanceSchedule& cfg_schedule = {});

}  // namespace genlab
