// Latent text-to-image diffusion, trained in two stages as Rombach et al. do: the KL autoencoder
// ("klae": reconstruction + beta * KL), then, with it frozen, the text encoder and the latent U-Net
// together ("ldm": eps-prediction MSE on latents scaled to unit variance, captions written from
// each image's class and measured attributes, the prompt dropped to "" with probability
// `prompt_dropout` for classifier-free guidance, an EMA copy for sampling). An ldm checkpoint holds
// its autoencoder too, so it samples on its own. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/diffusion/captions.h"
#include "core/diffusion/latent_autoencoder.h"
#include "core/diffusion/latent_unet.h"
#include "core/diffusion/samplers.h"
#include "core/diffusion/text_encoder.h"
#include "core/metrics/model_samples.h"
#include "core/train/trainer.h"

namespace genlab {

struct LatentAeTrainingConfig {
  LatentAeConfig ae;
  float learning_rate = 1e-3f;
  int batch_size = 64;
  uint64_t seed = 1;

  std::string to_json() const;
  static LatentAeTrainingConfig from_json(const std::string& text);  // throws std::invalid_argument
};

class LatentAeTrainer : public Trainer {
 public:
  LatentAeTrainer(LatentAeTrainingConfig config, std::shared_ptr<const Dataset> data);
  float train_once() override;  // BCE + beta * KL per image, in nats
  float last_loss() const { return last_loss_; }
  double epoch() const override { return double(step_) * config_.batch_size / double(data_->train.count); }
  int64_t batch_images() const override { return config_.batch_size; }
  const LatentAeTrainingConfig& config() const { return config_; }
  LatentAutoencoder& autoencoder() { return ae_; }
  struct Reconstruction {
    double bce = 0, psnr = 0, kl = 0;  // per test image: nats, dB, nats
  };
  Reconstruction test_reconstruction(int64_t max_images = 2000);

 private:
  std::string kind() const override { return "klae"; }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override { return {{"", ae_.get()}}; }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {optimizer_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;

  LatentAeTrainingConfig config_;
  std::shared_ptr<const Dataset> data_;
  LatentAutoencoder ae_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  float last_loss_ = 0;
};

LatentAeTrainingConfig read_latent_ae_config(const std::string& path);  // throws CheckpointError
LatentAutoencoder load_latent_autoencoder(const std::string& path);    // its weights, for eval

struct LdmConfig {
  LatentAeConfig ae;
  TextEncoderConfig text;
  LatentUNetConfig unet;
  CaptionSpec captions;
  double scale_factor = 0;  // latents times this have unit variance (0: measure on the training set)
  std::string autoencoder;  // the klae file the first stage came from (provenance)
  // How the held-out pairs are kept from training: "images" leaves out every image that shows one
  // (the model never sees a dark sneaker), "captions" keeps the images but never writes the pair's
  // attribute word in their captions (it sees dark sneakers, never called dark).
  std::string hold_out = "images";
  BetaSchedule schedule = BetaSchedule::Linear;
  int T = 1000;
  float learning_rate = 1e-3f;  // the pixel U-Net's
  int batch_size = 64;
  float prompt_dropout = 0.1f;
  float ema_decay = 0.999f;
  uint64_t seed = 1;

  std::string to_json() const;
  static LdmConfig from_json(const std::string& text);  // throws std::invalid_argument
};

// The text encoder and the denoiser as one module, so the EMA and the checkpoint take both. Its eps
// is sqrt(1 - alpha_bar_t) * z_t + the U-Net's output: the best guess for unit-variance data plus a
// learned correction (EDM's skip preconditioning). Where z_t is almost all noise that guess is
// almost exact, and the U-Net only adds a small term; asked to rebuild z_t itself there, it misses
// by ~0.1 per value, which the step's x0 = (z_t - sqrt(1 - ab) eps) / sqrt(ab) multiplies by up to
// 1 / sqrt(ab_T) ~ 160 (the pixel model hides this by clipping x0 to the image range; a latent has
// no range to clip to).
class LdmNetImpl : public torch::nn::Module {
 public:
  LdmNetImpl(const TextEncoderConfig& text, const LatentUNetConfig& unet, const NoiseSchedule& schedule);
  // eps for latents z at 0-based steps t and prompt ids (B x L); `attention` as LatentUNet's.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& t, const torch::Tensor& ids,
                        torch::Tensor* attention = nullptr);
  // The same from the text encoder's output (context B x L x D, keep B x L).
  torch::Tensor eps(const torch::Tensor& z, const torch::Tensor& t, const torch::Tensor& context,
                    const torch::Tensor& keep, torch::Tensor* attention = nullptr);
  TextEncoder text{nullptr};
  LatentUNet unet{nullptr};

 private:
  torch::Tensor skip_;  // sqrt(1 - alpha_bar) per 0-based step: not a weight, not saved
};
TORCH_MODULE(LdmNet);

class LdmTrainer : public Trainer {
 public:
  // `ae`: the frozen first stage (its config must give the latent the U-Net is sized to). Without a
  // caption spec in `config`, it is fitted on `data` (its held-out pairs kept); the vocabulary and
  // the scale factor likewise. Images showing a held-out pair are left out of training.
  LdmTrainer(LdmConfig config, LatentAutoencoder ae, std::shared_ptr<const Dataset> data);

  float train_once() override;
  float last_loss() const { return last_loss_; }
  double epoch() const override { return double(step_) * config_.batch_size / double(std::max<int64_t>(1, pool_size())); }
  int64_t batch_images() const override { return config_.batch_size; }
  const LdmConfig& config() const { return config_; }
  const NoiseSchedule& schedule() const { return schedule_; }
  int64_t pool_size() const { return pool_.defined() ? pool_.size(0) : 0; }  // training images used
  int64_t held_out_images() const { return held_out_images_; }  // images that show a held-out pair
  LdmNet& ema() { return ema_; }
  LatentAutoencoder& autoencoder() { return ae_; }
  const Vocabulary& vocabulary() const { return ema_->text->vocabulary(); }

  // The caption the trainer would write for training image i at a given draw (for tests and the app).
  std::string caption_of(int64_t train_index, uint64_t random) const;

  // Ids for prompts (B x max_tokens).
  torch::Tensor prompt_ids(const std::vector<std::string>& prompts) const { return ema_->text->batch_ids(prompts); }

  // The EMA net as a denoiser on scaled latents: eps(neg) + w * (eps(prompt) - eps(neg)), with the
  // empty prompt as neg for plain guidance (w = 0: neg only; w = 1: the prompt only). Prompt and neg
  // ids are B x L. With `attention`, the prompt half's token maps are left there (B x L x s x s) after
  // each call.
  Denoiser denoiser(const torch::Tensor& ids, const torch::Tensor& negative_ids, double w,
                    std::shared_ptr<torch::Tensor> attention = nullptr);
  // Scaled latents -> images in [0, 1].
  torch::Tensor decode(const torch::Tensor& z);
  // Images in [0, 1] -> scaled latents (the posterior mean).
  torch::Tensor encode(const torch::Tensor& x);

 private:
  std::string kind() const override { return "ldm"; }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override {
    return {{"ae", ae_.get()}, {"net", net_.get()}, {"ema", ema_.get()}};
  }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {optimizer_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;

  LdmConfig config_;
  LatentAutoencoder ae_;
  std::shared_ptr<const Dataset> data_;
  NoiseSchedule schedule_;
  std::vector<std::array<int, kAttributes>> bits_;  // per training image
  torch::Tensor pool_, latent_mean_, latent_std_, alpha_bar_;  // pool: training indices used
  int64_t held_out_images_ = 0;
  LdmNet net_{nullptr}, ema_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  float last_loss_ = 0;
};

LdmConfig read_ldm_config(const std::string& path);  // throws CheckpointError for another model's file
// The model of an ldm checkpoint, ready to sample (its data set is not needed, nor trained on).
std::unique_ptr<LdmTrainer> open_ldm(const std::string& path);

// Throws CheckpointError naming both files when an autoencoder does not give the latent the
// denoiser was trained on.
void check_autoencoder_matches(const LdmConfig& ldm, const std::string& ldm_path, const LatentAeConfig& ae,
                               const std::string& ae_path);

// Samples of `prompts` (cycled) for the quality and adherence measures, in [0, 1]; labels are the
// prompts' classes (-1 when a prompt names none).
SampleSource ldm_samples(LdmTrainer& trainer, const std::vector<std::string>& prompts, const std::string& sampler,
                         int steps, double cfg, const std::string& negative = "");

}  // namespace genlab
