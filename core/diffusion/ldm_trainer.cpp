#include "core/diffusion/ldm_trainer.h"

#include "core/train/weight_average.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/io/tensors.h"

namespace genlab {

namespace {

nlohmann::json parsed(const std::string& text) { return nlohmann::json::parse(text); }

torch::Tensor train_images(const Dataset& d, const torch::Tensor& idx) {
  auto bytes = torch::from_blob(const_cast<uint8_t*>(d.train.pixels.data()), {d.train.count, d.channels, d.height, d.width},
                                torch::kUInt8);
  return bytes.index_select(0, idx).to(torch::kFloat).div_(255.0);
}

}  // namespace

std::string LatentAeTrainingConfig::to_json() const {
  return nlohmann::json{{"ae", parsed(ae.to_json())}, {"learning_rate", learning_rate}, {"batch_size", batch_size}, {"seed", seed}}
      .dump();
}

LatentAeTrainingConfig LatentAeTrainingConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("autoencoder training config is not a JSON object");
  LatentAeTrainingConfig c;
  try {
    c.ae = LatentAeConfig::from_json(j.at("ae").dump());
    c.learning_rate = j.at("learning_rate").get<float>();
    c.batch_size = j.at("batch_size").get<int>();
    c.seed = j.at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("autoencoder training config: ") + e.what());
  }
  return c;
}

LatentAeTrainer::LatentAeTrainer(LatentAeTrainingConfig config, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "autoencoder"), config_(std::move(config)), data_(std::move(data)) {
  if (!data_ || data_->train.count == 0) throw std::invalid_argument("the autoencoder needs training images");
  if (data_->height != data_->width) throw std::invalid_argument(data_->source + ": the autoencoder takes square images");
  config_.ae.channels = data_->channels;
  config_.ae.image_size = data_->height;
  config_.ae.validate();
  {
    RandomStream::Scope scope(rng_);
    ae_ = LatentAutoencoder(config_.ae);
  }
  remember_weights();
  reset_optimizers();
}

void LatentAeTrainer::reset_optimizers() {
  optimizer_ = std::make_unique<torch::optim::Adam>(ae_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
}

float LatentAeTrainer::train_once() {
  RandomStream::Scope scope(rng_);
  ae_->train();
  auto idx = own_rows(next_in_order(data_->train.count, config_.batch_size, /*keep_short=*/false));
  auto x = on_device(train_images(*data_, idx));
  auto post = ae_->encode(x);
  auto z = post.mean + (0.5 * post.logvar).exp() * on_device(torch::randn(post.mean.sizes()));
  const int64_t n = x.size(0);
  auto bce = torch::binary_cross_entropy_with_logits(ae_->decode_logits(z), x, {}, {}, at::Reduction::Sum) / n;
  auto kl = 0.5 * (post.mean.pow(2) + post.logvar.exp() - 1 - post.logvar).sum() / n;
  auto loss = bce + config_.ae.beta * kl;
  optimizer_->zero_grad();
  loss.backward();
  float value = loss.item<float>();
  guarded_update(ae_->parameters(), value, "the loss", step_ + 1, [&] { optimizer_->step(); });
  ++step_;
  last_loss_ = value;
  return value;
}

LatentAeTrainer::Reconstruction LatentAeTrainer::test_reconstruction(int64_t max_images) {
  torch::NoGradGuard no_grad;
  ae_->eval();
  const Dataset& d = *data_;
  const int64_t n = std::min(max_images, d.test.count);
  Reconstruction r;
  if (n == 0) return r;
  auto bytes = torch::from_blob(const_cast<uint8_t*>(d.test.pixels.data()), {d.test.count, d.channels, d.height, d.width},
                                torch::kUInt8);
  double bce = 0, mse = 0, kl = 0;
  for (int64_t first = 0; first < n; first += 500) {
    auto x = on_device(bytes.slice(0, first, std::min(n, first + 500)).to(torch::kFloat) / 255.0);
    auto post = ae_->encode(x);
    auto logits = ae_->decode_logits(post.mean);
    bce += torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::Sum).item<double>();
    mse += (torch::sigmoid(logits) - x).pow(2).flatten(1).mean(1).clamp_min(1e-10).log10().sum().item<double>();
    kl += (0.5 * (post.mean.pow(2) + post.logvar.exp() - 1 - post.logvar)).sum().item<double>();
  }
  r.bce = bce / n;
  r.psnr = -10 * mse / n;  // mean over images of 10 log10(1 / MSE)
  r.kl = kl / n;
  return r;
}

void LatentAeTrainer::check_same_model(const std::string& path) const {
  LatentAeTrainingConfig saved = read_latent_ae_config(path);
  if (saved.ae.to_json() != config_.ae.to_json())
    throw CheckpointError(path + ": holds an autoencoder of another shape (" + saved.ae.to_json() + ")");
}

LatentAeTrainingConfig read_latent_ae_config(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "klae")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not a latent autoencoder (genlab-cli train --model klae)");
  try {
    return LatentAeTrainingConfig::from_json(info.config_json);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

LatentAutoencoder load_latent_autoencoder(const std::string& path) {
  LatentAutoencoder ae(read_latent_ae_config(path).ae);
  load_module(*ae, read_safetensors(path), path);
  ae->eval();
  return ae;
}

std::string LdmConfig::to_json() const {
  return nlohmann::json{{"ae", parsed(ae.to_json())},
                        {"text", parsed(text.to_json())},
                        {"unet", parsed(unet.to_json())},
                        {"captions", parsed(captions.to_json())},
                        {"scale_factor", scale_factor},
                        {"autoencoder", autoencoder},
                        {"hold_out", hold_out},
                        {"schedule", schedule_name(schedule)},
                        {"T", T},
                        {"learning_rate", learning_rate},
                        {"batch_size", batch_size},
                        {"prompt_dropout", prompt_dropout},
                        {"ema_decay", ema_decay},
                        {"seed", seed}}
      .dump();
}

LdmConfig LdmConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("latent diffusion config is not a JSON object");
  LdmConfig c;
  try {
    c.ae = LatentAeConfig::from_json(j.at("ae").dump());
    c.text = TextEncoderConfig::from_json(j.at("text").dump());
    c.unet = LatentUNetConfig::from_json(j.at("unet").dump());
    c.captions = CaptionSpec::from_json(j.at("captions").dump());
    c.scale_factor = j.at("scale_factor").get<double>();
    c.autoencoder = j.at("autoencoder").get<std::string>();
    c.hold_out = j.value("hold_out", std::string("images"));
    c.schedule = parse_schedule(j.at("schedule").get<std::string>());
    c.T = j.at("T").get<int>();
    c.learning_rate = j.at("learning_rate").get<float>();
    c.batch_size = j.at("batch_size").get<int>();
    c.prompt_dropout = j.at("prompt_dropout").get<float>();
    c.ema_decay = j.at("ema_decay").get<float>();
    c.seed = j.at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("latent diffusion config: ") + e.what());
  }
  if (c.T < 1 || c.T > 10000) throw std::invalid_argument("T " + std::to_string(c.T) + " is not in 1..10000");
  if (c.hold_out != "images" && c.hold_out != "captions")
    throw std::invalid_argument("hold-out mode '" + c.hold_out + "' is not images or captions");
  if (c.unet.latent_channels != c.ae.latent_channels || c.unet.latent_size != c.ae.latent_size())
    throw std::invalid_argument("the denoiser's latent is not its autoencoder's");
  if (c.unet.context_width != c.text.width) throw std::invalid_argument("the denoiser reads another text width");
  return c;
}

LdmNetImpl::LdmNetImpl(const TextEncoderConfig& text_config, const LatentUNetConfig& unet_config,
                       const NoiseSchedule& schedule) {
  text = register_module("text", TextEncoder(text_config));
  unet = register_module("unet", LatentUNet(unet_config));
  std::vector<float> skip;
  for (int t = 1; t <= schedule.T; ++t) skip.push_back(float(schedule.noise(t)));
  skip_ = torch::tensor(skip);
}

torch::Tensor LdmNetImpl::eps(const torch::Tensor& z, const torch::Tensor& t, const torch::Tensor& context,
                              const torch::Tensor& keep, torch::Tensor* attention) {
  auto skip = skip_.to(z.device()).index_select(0, t).view({-1, 1, 1, 1});
  return skip * z + unet->forward(z, t, context, keep, attention);
}

torch::Tensor LdmNetImpl::forward(const torch::Tensor& z, const torch::Tensor& t, const torch::Tensor& ids,
                                  torch::Tensor* attention) {
  return eps(z, t, text->forward(ids), ids != Vocabulary::kPad, attention);
}

LdmTrainer::LdmTrainer(LdmConfig config, LatentAutoencoder ae, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "latent diffusion model"), config_(std::move(config)), ae_(std::move(ae)), data_(std::move(data)) {
  if (!data_ || data_->train.count == 0) throw std::invalid_argument("the latent diffusion model needs training images");
  const LatentAeConfig& a = ae_->config();
  if (a.channels != data_->channels || a.image_size != data_->height || data_->height != data_->width)
    throw std::invalid_argument(data_->source + ": its images are not the " + std::to_string(a.channels) + " x " +
                                std::to_string(a.image_size) + " x " + std::to_string(a.image_size) + " the autoencoder takes");
  config_.ae = a;
  if (config_.captions.thresholds.empty()) {
    auto held_out = config_.captions.held_out;
    config_.captions = fit_captions(*data_);
    config_.captions.held_out = held_out;
  }
  if (config_.text.words.empty()) config_.text.words = config_.captions.words();
  config_.text.validate();
  config_.unet.latent_channels = a.latent_channels;
  config_.unet.latent_size = a.latent_size();
  config_.unet.context_width = config_.text.width;
  config_.unet.validate();
  if (!(config_.prompt_dropout >= 0 && config_.prompt_dropout <= 1)) throw std::invalid_argument("prompt dropout is not in 0..1");
  schedule_ = NoiseSchedule::make(config_.schedule, config_.T);
  alpha_bar_ = torch::tensor(std::vector<double>(schedule_.alpha_bar.begin(), schedule_.alpha_bar.end())).to(torch::kFloat);
  // Each training image's attributes, and the images a held-out pair keeps out.
  std::vector<int64_t> pool;
  const bool labelled = !data_->class_names.empty();
  for (int64_t i = 0; i < data_->train.count; ++i) {
    const int label = labelled ? data_->label(Split::Train, i) : -1;
    bits_.push_back(attribute_bits(measure_attributes(data_->image(Split::Train, i), data_->channels, data_->height, data_->width),
                                   config_.captions.thresholds_of(label)));
    const bool shows = shows_held_out(config_.captions, label, bits_.back());
    held_out_images_ += shows;
    if (!shows || config_.hold_out == "captions") pool.push_back(i);
  }
  pool_ = torch::tensor(pool, torch::kLong);
  {
    RandomStream::Scope scope(rng_);
    net_ = LdmNet(config_.text, config_.unet, schedule_);
    ema_ = LdmNet(config_.text, config_.unet, schedule_);
  }
  copy_weights(*net_, *ema_);
  for (auto& w : ae_->parameters()) w.requires_grad_(false);  // the first stage stays as it was trained
  ae_->eval();
  remember_weights();
  reset_optimizers();
}

void LdmTrainer::reset_optimizers() {
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
}

std::string LdmTrainer::caption_of(int64_t i, uint64_t random) const {
  const int label = data_->class_names.empty() ? -1 : data_->label(Split::Train, i);
  const auto& bits = bits_[size_t(i)];
  return write_caption(config_.captions, label, bits, random,
                       config_.hold_out == "captions" ? held_out_attributes(config_.captions, label, bits)
                                                      : std::array<bool, kAttributes>{});
}

float LdmTrainer::train_once() {
  if (pool_.size(0) == 0) throw std::invalid_argument("the held-out pairs leave no training image");
  if (!latent_mean_.defined()) {
    // The posterior of every image used, once (the autoencoder is frozen): the step then draws
    // z ~ N(mean, std) as Rombach et al. do, and the scale factor is measured here when new.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> means, stds;
    for (int64_t first = 0; first < pool_.size(0); first += 500) {
      auto post = ae_->encode(on_device(train_images(*data_, pool_.slice(0, first, std::min(pool_.size(0), first + 500)))));
      means.push_back(post.mean.cpu());
      stds.push_back((0.5 * post.logvar).exp().cpu());
    }
    latent_mean_ = torch::cat(means);
    latent_std_ = torch::cat(stds);
    if (config_.scale_factor <= 0) {
      auto z = latent_mean_ + latent_std_ * torch::randn(latent_mean_.sizes(), torch::Generator(at::detail::createCPUGenerator(config_.seed)));
      config_.scale_factor = 1.0 / z.std().item<double>();
    }
  }
  RandomStream::Scope scope(rng_);
  net_->train();
  const int64_t whole = config_.batch_size;
  auto rows = own_rows(torch::randint(pool_.size(0), {whole}, torch::kLong));
  const int64_t n = rows.size(0);
  auto draws = own_rows(torch::randint(int64_t(1) << 62, {whole}, torch::kLong));
  auto dropped = own_rows(torch::rand({whole})) < config_.prompt_dropout;
  std::vector<std::string> captions;
  for (int64_t k = 0; k < n; ++k)
    captions.push_back(dropped[k].item<bool>() ? std::string()
                                               : caption_of(pool_[rows[k].item<int64_t>()].item<int64_t>(), uint64_t(draws[k].item<int64_t>())));
  auto noise = own_rows(torch::randn({whole, config_.unet.latent_channels, config_.unet.latent_size, config_.unet.latent_size}));
  auto z0 = on_device((latent_mean_.index_select(0, rows) + latent_std_.index_select(0, rows) * noise) * config_.scale_factor);
  auto t = own_rows(torch::randint(1, config_.T + 1, {whole}, torch::kLong));
  auto eps = on_device(own_rows(torch::randn({whole, config_.unet.latent_channels, config_.unet.latent_size, config_.unet.latent_size})));
  auto ab = on_device(alpha_bar_.index_select(0, t - 1).view({n, 1, 1, 1}));
  auto z_t = ab.sqrt() * z0 + (1 - ab).sqrt() * eps;
  auto loss = (net_->forward(z_t, on_device(t - 1), on_device(prompt_ids(captions))) - eps).pow(2).mean();
  last_loss_ = update_followed(loss, *optimizer_, *net_, *ema_, config_.ema_decay);
  return last_loss_;
}

Denoiser LdmTrainer::denoiser(const torch::Tensor& ids, const torch::Tensor& negative_ids, double w,
                              std::shared_ptr<torch::Tensor> attention) {
  LdmNet net = ema_;
  torch::NoGradGuard no_grad;
  net->eval();
  // The prompts are encoded once per run, not once a step: the text does not change as z does.
  const bool both = attention || (w != 0.0 && w != 1.0);
  const torch::Tensor used = both ? torch::cat({ids, negative_ids}) : w == 1.0 ? ids : negative_ids;
  const torch::Tensor context = net->text->forward(used), keep = used != Vocabulary::kPad;
  return [net, context, keep, both, w, attention](const torch::Tensor& z, int t) mutable {
    torch::NoGradGuard no_grad;
    net->eval();
    const int64_t n = z.size(0);
    if (!both) return net->eps(z, torch::full({n}, t - 1, torch::kLong), context, keep);
    torch::Tensor maps;
    auto parts =
        net->eps(torch::cat({z, z}), torch::full({2 * n}, t - 1, torch::kLong), context, keep, attention ? &maps : nullptr)
            .chunk(2, 0);
    if (attention) *attention = maps.slice(0, 0, n);
    return classifier_free_guidance(parts[1], parts[0], w);
  };
}

torch::Tensor LdmTrainer::decode(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  ae_->eval();
  return ae_->decode(z / config_.scale_factor);
}

torch::Tensor LdmTrainer::encode(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  ae_->eval();
  return ae_->encode(x).mean * config_.scale_factor;
}

void LdmTrainer::check_same_model(const std::string& path) const {
  LdmConfig saved = read_ldm_config(path);
  if (saved.unet.to_json() != config_.unet.to_json() || saved.text.to_json() != config_.text.to_json() ||
      saved.ae.to_json() != config_.ae.to_json())
    throw CheckpointError(path + ": holds a latent diffusion model of another shape or vocabulary");
}

LdmConfig read_ldm_config(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "ldm")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not a latent text-to-image model (genlab-cli train --model ldm)");
  try {
    return LdmConfig::from_json(info.config_json);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

std::unique_ptr<LdmTrainer> open_ldm(const std::string& path) {
  LdmConfig config = read_ldm_config(path);
  auto shape = blank_dataset(config.ae.channels, config.ae.image_size, config.ae.image_size, int(config.captions.class_names.size()));
  auto trainer = std::make_unique<LdmTrainer>(config, LatentAutoencoder(config.ae), shape);
  trainer->resume(path);
  return trainer;
}

void check_autoencoder_matches(const LdmConfig& ldm, const std::string& ldm_path, const LatentAeConfig& ae,
                               const std::string& ae_path) {
  if (ae.latent_channels != ldm.unet.latent_channels || ae.latent_size() != ldm.unet.latent_size ||
      ae.channels != ldm.ae.channels || ae.image_size != ldm.ae.image_size)
    throw CheckpointError(ae_path + ": its latent is " + std::to_string(ae.latent_channels) + " x " +
                          std::to_string(ae.latent_size()) + " x " + std::to_string(ae.latent_size()) + " of " +
                          std::to_string(ae.image_size) + "-pixel images, but " + ldm_path + "'s denoiser was trained on " +
                          std::to_string(ldm.unet.latent_channels) + " x " + std::to_string(ldm.unet.latent_size) + " x " +
                          std::to_string(ldm.unet.latent_size));
}

SampleSource ldm_samples(LdmTrainer& trainer, const std::vector<std::string>& prompts, const std::string& sampler, int steps,
                         double cfg, const std::string& negative) {
  const SamplerKind kind = parse_sampler(sampler);
  return [&trainer, prompts, kind, steps, cfg, negative](int n, uint64_t seed, const SampleProgress& progress) {
    const LdmConfig& c = trainer.config();
    const int ch = c.unet.latent_channels, s = c.unet.latent_size;
    return batched(n, 100, progress, [&](int first, int count) {
      std::vector<std::string> batch, negatives(size_t(count), negative);
      std::vector<int64_t> labels;
      for (int k = 0; k < count; ++k) {
        batch.push_back(prompts[size_t(first + k) % prompts.size()]);
        labels.push_back(read_prompt(c.captions, batch.back()).label);
      }
      auto z_T = seeded_noise(seed * 7919 + uint64_t(first), count, ch * s * s).view({count, ch, s, s});
      auto z = sample(kind, trainer.schedule(), trainer.denoiser(trainer.prompt_ids(batch), trainer.prompt_ids(negatives), cfg),
                      z_T, steps, 0.0, seed * 7919 + uint64_t(first) + 1, {}, 0)
                   .x;
      return Samples{trainer.decode(z).clamp(0, 1), torch::tensor(labels, torch::kLong)};
    });
  };
}

}  // namespace genlab
