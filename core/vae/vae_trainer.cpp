#include "core/vae/vae_trainer.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/tensors.h"

namespace genlab {

namespace {

torch::Tensor bytes_view(const Dataset& data, const ImageSet& set) {
  // The data set is immutable and outlives the trainer (shared_ptr), so no copy is needed.
  return torch::from_blob(const_cast<uint8_t*>(set.pixels.data()), {set.count, data.channels, data.height, data.width},
                          torch::kUInt8);
}

}  // namespace

VaeTrainer::VaeTrainer(VaeConfig config, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, kind_title(config.kind)), config_(std::move(config)), data_(std::move(data)), model_(nullptr) {
  config_.channels = data_->channels;
  config_.height = data_->height;
  config_.width = data_->width;
  config_.validate();
  if (data_->train.count == 0) throw std::invalid_argument(data_->source + ": the data set has no training images");
  {
    RandomStream::Scope scope(rng_);
    model_ = Vae(config_);
    if (config_.kind == AutoencoderKind::VAEGAN) disc_ = VaeGanDiscriminator(config_.channels, config_.height, config_.width);
  }
  remember_weights();
  reset_optimizers();
  train_bytes_ = bytes_view(*data_, data_->train);
  test_bytes_ = bytes_view(*data_, data_->test);
  if (config_.binarize && data_->test.count > 0) {
    auto gen = at::detail::createCPUGenerator(config_.seed + 7919);
    test_binary_ = torch::bernoulli(test_bytes_.to(torch::kFloat) / 255.0, gen);
  }
}

void VaeTrainer::reset_optimizers() {
  optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
  // DCGAN's Adam(0.5, 0.999) for the discriminator, as the GAN tab trains its D.
  if (disc_)
    d_optimizer_ = std::make_unique<torch::optim::Adam>(
        disc_->parameters(), torch::optim::AdamOptions(config_.d_learning_rate).betas({0.5, 0.999}));
}

std::vector<std::pair<std::string, torch::nn::Module*>> VaeTrainer::checkpointed() {
  if (!disc_) return {{"", model_.get()}};
  return {{"vae", model_.get()}, {"discriminator", disc_.get()}};
}

std::vector<torch::optim::Optimizer*> VaeTrainer::optimizers() {
  if (!disc_) return {optimizer_.get()};
  return {optimizer_.get(), d_optimizer_.get()};
}

int64_t VaeTrainer::steps_per_epoch() const {
  return (train_count() + config_.batch_size - 1) / config_.batch_size;
}

torch::Tensor VaeTrainer::images(Split split, const torch::Tensor& indices) const {
  const torch::Tensor& bytes = split == Split::Train ? train_bytes_ : test_bytes_;
  return on_device(bytes.index_select(0, indices).to(torch::kFloat).div_(255.0));
}

torch::Tensor VaeTrainer::test_targets(int64_t count) {
  count = std::min(count, data_->test.count);
  if (test_binary_.defined()) return test_binary_.slice(0, 0, count);
  return test_bytes_.slice(0, 0, count).to(torch::kFloat) / 255.0;
}

VaeStepLosses VaeTrainer::train_step() {
  model_->train();
  RandomStream::Scope scope(rng_);
  const torch::Tensor whole = next_in_order(train_count(), config_.batch_size, /*keep_short=*/true);
  const int64_t n = whole.size(0);
  const torch::Tensor gray = images(Split::Train, own_rows(whole));
  auto x = gray;
  // Dynamic binarisation (a new sample every time) and the reparameterisation noise, drawn for the
  // whole batch like the batch itself.
  if (config_.binarize)
    x = (on_device(own_rows(torch::rand({n, data_->channels, data_->height, data_->width}))) < x).to(torch::kFloat);
  auto out = model_->forward(x, on_device(own_rows(torch::randn({n, config_.latent}))));
  auto loss = vae_loss(out, x, config_);
  VaeStepLosses losses;
  torch::Tensor total = loss.total;
  if (disc_) {
    // Larsen et al.: D tells real images from reconstructions and prior samples; the encoder
    // learns from the KL and the reconstruction (in pixels and in D's features), the decoder also
    // from fooling D. The adversarial images decode a detached z, so no GAN gradient reaches the encoder.
    auto z_prior = on_device(own_rows(torch::randn({n, config_.latent})));
    // D compares gray images with the decoder's means: shown binarised samples as the real ones, it
    // would teach the decoder to draw black-and-white speckle.
    auto decoded = model_->decode(torch::cat({out.z.detach(), z_prior}));
    discriminator_step(gray, decoded.detach(), losses);
    Frozen d_weights(*disc_);  // G's loss moves the VAE, not D
    auto feature = feature_recon(disc_, gray, torch::sigmoid(out.logits));
    auto adversarial = torch::binary_cross_entropy_with_logits(disc_->forward(decoded), torch::ones({2 * n}, x.options()));
    total = config_.pixel_weight * loss.recon + config_.beta * loss.kl + config_.feature_weight * feature +
            config_.adversarial_weight * adversarial;
    losses.feature = feature.item<float>();
    losses.adversarial = adversarial.item<float>();
  }
  optimizer_->zero_grad();
  total.backward();
  losses.recon = loss.recon.item<float>();
  losses.kl = loss.kl.item<float>();
  losses.total = total.item<float>();
  guarded_update(model_->parameters(), losses.total, "the loss", step_ + 1, [&] { optimizer_->step(); },
                 {&losses.recon, &losses.kl, &losses.feature, &losses.adversarial});
  ++step_;
  last_ = losses;
  return losses;
}

void VaeTrainer::discriminator_step(const torch::Tensor& real, const torch::Tensor& decoded, VaeStepLosses& losses) {
  disc_->train();
  auto real_logits = disc_->forward(real), fake_logits = disc_->forward(decoded);
  auto loss = torch::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
              torch::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
  d_optimizer_->zero_grad();
  loss.backward();
  losses.d_loss = loss.item<float>();
  losses.d_real = torch::sigmoid(real_logits).mean().item<float>();
  losses.d_fake = torch::sigmoid(fake_logits).mean().item<float>();
  guarded_update(disc_->parameters(), losses.d_loss, "the discriminator loss", step_ + 1, [&] { d_optimizer_->step(); },
                 {&losses.d_real, &losses.d_fake});
}

VaeStepLosses VaeTrainer::test_losses(int64_t max_images) {
  torch::NoGradGuard no_grad;
  model_->eval();
  auto targets = on_device(test_targets(max_images));
  const int64_t n = targets.size(0);
  double recon = 0, kl = 0;
  for (int64_t begin = 0; begin < n; begin += 500) {
    auto x = targets.slice(0, begin, std::min(n, begin + 500));
    auto loss = vae_loss(model_->forward(x), x, config_);
    recon += loss.recon.item<double>() * double(x.size(0));
    kl += loss.kl.item<double>() * double(x.size(0));
  }
  VaeStepLosses out;
  if (n == 0) return out;
  out.recon = float(recon / double(n));
  out.kl = float(kl / double(n));
  out.total = out.recon + (variational(config_.kind) ? config_.beta * out.kl : 0.f);
  return out;
}

void VaeTrainer::set_learning_rate(float lr) {
  config_.learning_rate = lr;
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

void VaeTrainer::set_beta(float beta) { config_.beta = beta; }

void VaeTrainer::set_gan_weights(float pixel, float feature, float adversarial) {
  VaeConfig changed = config_;
  changed.pixel_weight = pixel;
  changed.feature_weight = feature;
  changed.adversarial_weight = adversarial;
  changed.validate();  // a bad weight leaves the run as it was
  config_ = changed;
}

void VaeTrainer::check_same_model(const std::string& path) const {
  VaeConfig saved = read_vae_config(path);
  if (saved.kind != config_.kind || saved.arch != config_.arch || saved.latent != config_.latent)
    throw CheckpointError(path + ": holds a " + std::string(kind_name(saved.kind)) + "/" + arch_name(saved.arch) +
                          " with latent " + std::to_string(saved.latent) + ", not the model asked for");
}

VaeConfig read_vae_config(const std::string& path, std::string* metadata_json) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "vae" && info.model != "ae" && info.model != "vaegan")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not an AE, VAE or VAE-GAN");
  try {
    VaeConfig config = VaeConfig::from_json(info.config_json);
    if (metadata_json) *metadata_json = info.metadata_json;
    return config;
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

SampleSource vae_prior_samples(VaeTrainer& trainer, double temperature) {
  return [&trainer, temperature](int n, uint64_t seed, const SampleProgress& progress) {
    return batched(n, 500, progress, [&](int first, int count) {
      torch::NoGradGuard no_grad;
      Vae& model = trainer.model();
      model->eval();
      auto z = seeded_noise(seed * 7919 + uint64_t(first), count, trainer.config().latent) * temperature;
      const VaeConfig& c = trainer.config();
      return Samples{model->decode(z).reshape({count, c.channels, c.height, c.width}), torch::Tensor()};
    });
  };
}

}  // namespace genlab
