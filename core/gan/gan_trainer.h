// Trains a GAN: k discriminator steps per generator step, losses and learning rates that can be
// switched mid-run, monitoring figures, a NaN guard (core/train/finite_guard.h), and checkpoints
// that resume the run exactly. Image mode reads a data set; toy mode draws 2-D points. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/data/dataset.h"
#include "core/gan/gan.h"
#include "core/gan/progan.h"
#include "core/gan/stylegan.h"
#include "core/metrics/model_samples.h"
#include "core/train/trainer.h"

namespace genlab {

struct GanStepStats {
  int64_t step = 0;  // generator steps so far
  float loss_d = 0, loss_g = 0;
  float value = 0;          // V(D, G) on the batch
  float d_real = 0, d_fake = 0;  // mean sigmoid(score) on real and generated samples
  float grad_norm_d = 0, grad_norm_g = 0;
  float penalty = 0;        // WGAN-GP's gradient penalty, or R1's E||grad D(x)||^2 (0 without either)
};

class GanTrainer : public Trainer {
 public:
  // data: the images (image mode); ignored (may be null) in toy mode. Seeds torch with config.seed.
  GanTrainer(GanConfig config, std::shared_ptr<const Dataset> data);

  // config.d_steps discriminator updates, then one generator update. Each throws NonFiniteError on a
  // NaN or inf (the update skipped, or the weights rolled back).
  GanStepStats train_step();
  float train_once() override { return train_step().loss_g; }
  const GanStepStats& last_stats() const { return last_; }
  GanStepStats step_d();  // one discriminator update
  GanStepStats step_g();  // one generator update

  void set_loss(GanLoss loss);  // also sets Adam's betas for that loss
  void set_optimizer(GanOptimizer optimizer);  // new optimizers for G and D (their state starts afresh)
  void set_d_steps(int k) { config_.d_steps = std::max(1, k); }
  void set_learning_rates(float lr_g, float lr_d);

  // Generated samples for z (and labels for a cGAN): images in [0, 1] at the data's size (a ProGAN
  // still growing: its current resolution, upsampled), or toy points. psi < 1 truncates: a
  // StyleGAN's w toward its running mean, the others' z toward 0 (which a ProGAN's pixel norm undoes).
  torch::Tensor generate(const torch::Tensor& z, const torch::Tensor& labels = {}, double psi = 1.0);
  // G's output in [-1, 1] as G made it, under no_grad in eval mode (the labs' views).
  torch::Tensor generate_raw(const torch::Tensor& z, const torch::Tensor& labels = {}, double psi = 1.0);
  // Every layer of G for z, first to last (the layer view); a StyleGAN's w truncated by psi.
  std::vector<Activation> activations(const torch::Tensor& z, const torch::Tensor& labels, double psi = 1.0);
  // ProGAN: the two paths of the fade now and their blend, as [0, 1] images at the data's size.
  ProGanGenerator::Fade fade(const torch::Tensor& z);
  // ProGAN's stage now (always the full size for the others).
  Growth growth() const { return config_.growth_at(step_); }
  torch::Tensor fixed_noise() const { return fixed_z_; }
  torch::Tensor fixed_labels() const { return fixed_labels_; }
  // Toy mode: real points, and D's judgement in [0, 1] (1: real) on an n x n grid over
  // [-extent, extent]^2, row 0 at the top (+y): sigmoid(score), LSGAN's score clamped, or a WGAN
  // critic's score centred and squashed (its offset carries no meaning).
  torch::Tensor toy_real(int64_t n);
  torch::Tensor toy_decision_surface(int n, float extent);
  // Ring data: how many of the 8 modes hold at least 2 % of `points` (generated points within 0.5 of
  // a mode's centre count for it). The mode-collapse figure of the toy.
  static int ring_modes_covered(const torch::Tensor& points);

  double epoch() const override;
  int64_t batch_images() const override { return int64_t(config_.batch_size) * config_.d_steps; }
  const GanConfig& config() const { return config_; }
  const Dataset* data() const { return data_.get(); }
  GeneratorNet& generator() { return *g_; }
  // The generator that draws every sample and view: the weight average when the config keeps one.
  GeneratorNet& drawing_generator() { return g_ema_ ? *g_ema_ : *g_; }
  DiscriminatorNet& discriminator() { return *d_; }
  // The generator as its architecture, or null for another one.
  ProGanGenerator* progan() { return dynamic_cast<ProGanGenerator*>(g_.get()); }
  StyleGenerator* stylegan() { return dynamic_cast<StyleGenerator*>(g_.get()); }
  // Images in [-1, 1] at any size to the data's size (nearest), as [0, 1].
  torch::Tensor to_display(const torch::Tensor& images) const;

 private:
  std::string kind() const override { return config_.kind(); }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override;
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override {
    // G and D in one file, so a sampler needs only this file
    if (g_ema_) return {{"g", g_.get()}, {"d", d_.get()}, {"g_ema", g_ema_.get()}};
    return {{"g", g_.get()}, {"d", d_.get()}};
  }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {opt_g_.get(), opt_d_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;
  void restore_from_metadata(const std::string& metadata_json) override;
  int64_t order_size() const override { return data_ ? data_->train.count : 0; }
  struct Batch {
    torch::Tensor x, labels;
  };
  Batch real_batch();
  torch::Tensor random_labels(int64_t n);
  void sync_growth();  // a ProGAN's G and D to the stage of this step

  GanConfig config_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor train_bytes_, train_labels_;
  std::shared_ptr<GeneratorNet> g_, g_ema_;  // g_ema_: null without an average
  std::shared_ptr<DiscriminatorNet> d_;
  std::unique_ptr<torch::optim::Optimizer> opt_g_, opt_d_;
  torch::Tensor fixed_z_, fixed_labels_;
  int64_t images_seen_ = 0;
  GanStepStats last_;
};

// Reads a GAN checkpoint's config; throws CheckpointError naming the path for another model's file.
GanConfig read_gan_config(const std::string& path);

// G's images in [0, 1] for the quality metrics (a cGAN: one of each class in turn).
SampleSource gan_samples(GanTrainer& trainer, double psi = 1.0);

// The perceptual path length (Karras et al. 2019, section 3): over `paths` random paths between two
// codes, 1/eps^2 times the squared distance between the `features` (images in [0, 1] -> N x F) of
// G's images at t and t + eps (eps = 1e-4, t uniform); the values below the 1st and above the 99th
// percentile dropped, as the paper does; the mean. In z the paths are great circles (slerp); in w
// (StyleGAN only) straight lines between the mapped codes, with the fixed noise. -1: not measured.
// `progress` returns false to stop early (then both are -1).
struct PathLengths {
  double z = -1, w = -1;
  int paths = 0;
};
PathLengths path_lengths(GanTrainer& trainer, const std::function<torch::Tensor(const torch::Tensor&)>& features,
                         int paths, uint64_t seed,
                         const std::function<bool(int64_t done, int64_t total)>& progress = {});

}  // namespace genlab
