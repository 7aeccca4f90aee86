#include "core/train/vae_trainer.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"

namespace genlab {

namespace {

torch::Tensor bytes_view(const Dataset& data, const ImageSet& set) {
  // The data set is immutable and outlives the trainer (shared_ptr), so no copy is needed.
  return torch::from_blob(const_cast<uint8_t*>(set.pixels.data()), {set.count, data.channels, data.height, data.width},
                          torch::kUInt8);
}

}  // namespace

VaeTrainer::VaeTrainer(VaeConfig config, std::shared_ptr<const Dataset> data)
    : config_(std::move(config)), data_(std::move(data)), rng_(config_.seed), model_(nullptr),
      guard_(config_.kind == AutoencoderKind::VAE ? "VAE" : "autoencoder") {
  config_.channels = data_->channels;
  config_.height = data_->height;
  config_.width = data_->width;
  config_.validate();
  if (data_->train.count == 0) throw std::invalid_argument(data_->source + ": the data set has no training images");
  {
    RandomStream::Scope scope(rng_);
    model_ = Vae(config_);
  }
  guard_.remember({model_.get()}, 0);
  reset_optimizer();
  train_bytes_ = bytes_view(*data_, data_->train);
  test_bytes_ = bytes_view(*data_, data_->test);
  if (config_.binarize && data_->test.count > 0) {
    auto gen = at::detail::createCPUGenerator(config_.seed + 7919);
    test_binary_ = torch::bernoulli(test_bytes_.to(torch::kFloat) / 255.0, gen);
  }
}

void VaeTrainer::reset_optimizer() {
  optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
}

int64_t VaeTrainer::steps_per_epoch() const {
  return (train_count() + config_.batch_size - 1) / config_.batch_size;
}

torch::Tensor VaeTrainer::images(Split split, const torch::Tensor& indices) const {
  const torch::Tensor& bytes = split == Split::Train ? train_bytes_ : test_bytes_;
  return bytes.index_select(0, indices).to(torch::kFloat).div_(255.0);
}

torch::Tensor VaeTrainer::test_targets(int64_t count) {
  count = std::min(count, data_->test.count);
  if (test_binary_.defined()) return test_binary_.slice(0, 0, count);
  return test_bytes_.slice(0, 0, count).to(torch::kFloat) / 255.0;
}

torch::Tensor VaeTrainer::next_batch_indices() {
  if (!permutation_.defined() || cursor_ >= train_count()) {
    permutation_ = torch::randperm(train_count(), torch::kLong);
    cursor_ = 0;
  }
  int64_t end = std::min(cursor_ + config_.batch_size, train_count());
  auto indices = permutation_.slice(0, cursor_, end);
  cursor_ = end;
  return indices;
}

VaeStepLosses VaeTrainer::train_step() {
  model_->train();
  RandomStream::Scope scope(rng_);
  auto x = images(Split::Train, next_batch_indices());
  if (config_.binarize) x = torch::bernoulli(x);  // dynamic binarisation: a new sample every time
  auto out = model_->forward(x);
  auto loss = vae_loss(out, x, config_);
  optimizer_->zero_grad();
  loss.total.backward();
  VaeStepLosses losses{loss.recon.item<float>(), loss.kl.item<float>(), loss.total.item<float>()};
  try {
    guard_.before_update({model_.get()}, model_->parameters(), step_, losses.total);
    optimizer_->step();
    guard_.after_update({model_.get()}, step_ + 1);
  } catch (const NonFiniteError& e) {
    if (e.restored_step >= 0) {
      step_ = e.restored_step;
      reset_optimizer();  // its moments led to the blow-up: start them afresh from the restored weights
    }
    throw;
  }
  ++step_;
  return losses;
}

VaeStepLosses VaeTrainer::test_losses(int64_t max_images) {
  torch::NoGradGuard no_grad;
  model_->eval();
  auto targets = test_targets(max_images);
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
  out.total = out.recon + (config_.kind == AutoencoderKind::VAE ? config_.beta * out.kl : 0.f);
  return out;
}

void VaeTrainer::set_learning_rate(float lr) {
  config_.learning_rate = lr;
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

void VaeTrainer::set_beta(float beta) { config_.beta = beta; }

void VaeTrainer::save(const std::string& path, const std::string& metrics_json) {
  nlohmann::json meta = {
      {"format", "genlab-checkpoint-1"},
      {"model", kind_name(config_.kind)},
      {"config", nlohmann::json::parse(config_.to_json())},
      {"dataset", data_->spec},
      {"step", step_},
      {"epoch", epoch()},
      {"metrics", nlohmann::json::parse(metrics_json)},
  };
  write_safetensors(path, module_to_safetensors(*model_, meta.dump()));
  save_training_state(path, {optimizer_.get()}, {step_, rng_.state(), permutation_, cursor_});
}

void VaeTrainer::resume(const std::string& path) {
  std::string meta_text;
  VaeConfig saved = read_vae_config(path, &meta_text);
  if (saved.kind != config_.kind || saved.arch != config_.arch || saved.latent != config_.latent)
    throw CheckpointError(path + ": holds a " + std::string(kind_name(saved.kind)) + "/" + arch_name(saved.arch) +
                          " with latent " + std::to_string(saved.latent) + ", not the model asked for");
  load_module(*model_, read_safetensors(path), path);
  step_ = nlohmann::json::parse(meta_text).value("step", int64_t(0));
  RunState run;
  if (load_training_state(path, {optimizer_.get()}, step_, run)) {
    if (run.rng.defined()) rng_.set_state(run.rng);
    if (run.order.defined() && run.order.numel() == train_count()) {  // the same data set
      permutation_ = run.order;
      cursor_ = run.cursor;
    }
  }
  guard_.remember({model_.get()}, step_);
}

VaeConfig read_vae_config(const std::string& path, std::string* metadata_json) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "vae" && info.model != "ae")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not an AE or VAE");
  try {
    VaeConfig config = VaeConfig::from_json(info.config_json);
    if (metadata_json) *metadata_json = info.metadata_json;
    return config;
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

}  // namespace genlab
