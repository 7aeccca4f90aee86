// Trains one autoencoder or VAE on a data set: batches, the optimizer, the step count, checkpoints.
// Used by the worker (live training in the app) and by genlab-cli. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/data/dataset.h"
#include "core/vae/vae.h"
#include "core/metrics/model_samples.h"
#include "core/train/trainer.h"

namespace genlab {

struct VaeStepLosses {
  float recon = 0, kl = 0, total = 0;
  // VAE-GAN: the reconstruction in D's features, G's adversarial loss, D's loss and its mean
  // verdicts on real images and on decoded ones (reconstructions and prior samples)
  float feature = 0, adversarial = 0, d_loss = 0, d_real = 0, d_fake = 0;
};

class VaeTrainer : public Trainer {
 public:
  // Seeds torch with config.seed; fills channels/height/width from the data set.
  VaeTrainer(VaeConfig config, std::shared_ptr<const Dataset> data);

  // One batch. Throws NonFiniteError on a NaN or inf (the update skipped, or the weights rolled back).
  VaeStepLosses train_step();
  float train_once() override { return train_step().total; }
  const VaeStepLosses& last_losses() const { return last_; }
  // Mean losses over the first `max_images` test images, binarised once with a fixed seed when the
  // config binarises (so test figures are comparable across epochs); z is sampled.
  VaeStepLosses test_losses(int64_t max_images = 10000);

  void set_learning_rate(float lr);
  void set_beta(float beta);
  // VAE-GAN's loss weights (pixel, feature, adversarial), live.
  void set_gan_weights(float pixel, float feature, float adversarial);

  double epoch() const override { return double(step_) * config_.batch_size / double(train_count()); }
  int64_t batch_images() const override { return config_.batch_size; }
  int64_t train_count() const { return data_->train.count; }
  int64_t steps_per_epoch() const;
  const VaeConfig& config() const { return config_; }
  const Dataset& data() const { return *data_; }
  Vae& model() { return model_; }
  VaeGanDiscriminator& discriminator() { return disc_; }  // null unless VAE-GAN
  torch::optim::Adam& optimizer() { return *optimizer_; }

  // [0, 1] float images of a split, B x C x H x W.
  torch::Tensor images(Split split, const torch::Tensor& indices) const;
  torch::Tensor test_targets(int64_t count);  // binarised (fixed) or gray, as training sees them


 private:
  std::string kind() const override { return kind_name(config_.kind); }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override;
  std::vector<torch::optim::Optimizer*> optimizers() override;
  // VAE-GAN's discriminator update on real images and the decoded ones; returns its figures.
  void discriminator_step(const torch::Tensor& real, const torch::Tensor& decoded, VaeStepLosses& losses);
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;
  int64_t order_size() const override { return train_count(); }

  VaeConfig config_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor train_bytes_, test_bytes_;  // uint8 views of the data set's buffers
  torch::Tensor test_binary_;               // fixed binarisation of the test split
  Vae model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  VaeGanDiscriminator disc_{nullptr};
  std::unique_ptr<torch::optim::Adam> d_optimizer_;
  VaeStepLosses last_;
};

// Reads a VAE/AE checkpoint's config from its metadata; throws CheckpointError naming the path
// when the file is another model's.
VaeConfig read_vae_config(const std::string& path, std::string* metadata_json = nullptr);

// Decoded z ~ N(0, I): the VAE's prior samples, for the quality metrics and `genlab-cli sample`.
SampleSource vae_prior_samples(VaeTrainer& trainer, double temperature = 1.0);

}  // namespace genlab
