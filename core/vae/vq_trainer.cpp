#include "core/vae/vq_trainer.h"

#include <filesystem>

#include "core/io/checkpoint.h"
#include "core/io/tensors.h"

namespace genlab {

namespace {

constexpr double kNoClassShare = 0.1;

torch::Tensor bytes_view(const Dataset& data, const ImageSet& set) {
  // The data set is immutable and outlives the trainer (shared_ptr), so no copy is needed.
  return torch::from_blob(const_cast<uint8_t*>(set.pixels.data()), {set.count, data.channels, data.height, data.width},
                          torch::kUInt8);
}

torch::Tensor split_labels(const Dataset& data, Split split, int64_t count) {
  const std::vector<int>& labels = data.split(split).labels;
  if (labels.empty()) return torch::full({count}, -1, torch::kLong);
  return torch::tensor(std::vector<int64_t>(labels.begin(), labels.begin() + count), torch::kLong);
}

template <class Config>
Config read_config(const std::string& path, const std::string& kind, const char* what) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != kind) throw CheckpointError(path + ": holds a '" + info.model + "' model, not a " + what);
  try {
    return Config::from_json(info.config_json);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

}  // namespace

VqTrainer::VqTrainer(VqConfig config, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "VQ-VAE"), config_(std::move(config)), data_(std::move(data)), model_(nullptr) {
  config_.channels = data_->channels;
  config_.height = data_->height;
  config_.width = data_->width;
  config_.validate();
  {
    RandomStream::Scope scope(rng_);
    model_ = VqVae(config_);
  }
  remember_weights();
  reset_optimizers();
  train_bytes_ = bytes_view(*data_, data_->train);
  test_bytes_ = bytes_view(*data_, data_->test);
}

void VqTrainer::reset_optimizers() {
  // In EMA mode the codebook follows the moving averages, not the gradient.
  std::vector<torch::Tensor> params;
  for (auto& p : model_->named_parameters())
    if (p.key() != "codebook" || config_.update == CodebookUpdate::Loss) params.push_back(p.value());
  optimizer_ = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config_.learning_rate));
}

void VqTrainer::set_learning_rate(float lr) {
  config_.learning_rate = lr;
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

torch::Tensor VqTrainer::images(Split split, const torch::Tensor& indices) const {
  const torch::Tensor& bytes = split == Split::Train ? train_bytes_ : test_bytes_;
  return on_device(bytes.index_select(0, indices).to(torch::kFloat).div_(255.0));
}

VqStepFigures VqTrainer::train_step() {
  if (data_->train.count == 0) throw std::invalid_argument(data_->source + ": the data set has no training images");
  model_->train();
  RandomStream::Scope scope(rng_);
  const torch::Tensor whole = next_in_order(data_->train.count, config_.batch_size, /*keep_short=*/true);
  auto x = images(Split::Train, own_rows(whole));
  VqOutput out = model_->forward(x);
  VqLoss loss = vq_loss(out, x, config_);
  optimizer_->zero_grad();
  loss.total.backward();
  const torch::Tensor counts = code_counts(out.q.indices, config_.codes);
  VqStepFigures f;
  f.recon = loss.recon.item<float>();
  f.commit = loss.commit.item<float>();
  f.total = loss.total.item<float>();
  f.perplexity = float(perplexity(counts));
  f.used = int((counts > 0).sum().item<int64_t>());
  guarded_update(model_->parameters(), f.total, "the loss", step_ + 1, [&] {
    optimizer_->step();
    torch::NoGradGuard no_grad;
    update_codebook(out.q.z_e.detach(), out.q.indices, counts);
    if (config_.restarts) f.restarted = restart_dead_codes(out.q.z_e.detach());
  }, {&f.recon, &f.commit});
  ++step_;
  restarts_ += f.restarted;
  last_ = f;
  return f;
}

void VqTrainer::update_codebook(const torch::Tensor& z_e, const torch::Tensor& indices, const torch::Tensor& counts) {
  VqVaeImpl& m = *model_;
  const torch::Tensor c = counts.to(m.usage.device());
  m.usage.mul_(0.98).add_(c / c.sum().clamp_min(1), 0.02);
  m.last_used.masked_fill_(c > 0, double(step_ + 1));
  if (config_.update != CodebookUpdate::Ema) return;
  // Moving averages of each code's count and of the sum of the vectors snapped to it; the code is
  // their ratio, the counts Laplace-smoothed so a rarely used code does not divide by ~0.
  const double decay = config_.ema_decay;
  auto flat = z_e.permute({0, 2, 3, 1}).reshape({-1, config_.code_dim});
  auto sums = torch::zeros({config_.codes, config_.code_dim}, flat.options()).index_add_(0, indices.reshape({-1}), flat);
  m.ema_count.mul_(decay).add_(c, 1 - decay);
  m.ema_sum.mul_(decay).add_(sums, 1 - decay);
  const double n = m.ema_count.sum().item<double>(), eps = 1e-5;
  auto smoothed = (m.ema_count + eps) / (n + config_.codes * eps) * n;
  m.codebook().data().copy_(m.ema_sum / smoothed.unsqueeze(1));
}

int VqTrainer::restart_dead_codes(const torch::Tensor& z_e) {
  VqVaeImpl& m = *model_;
  auto dead = ((double(step_ + 1) - m.last_used) > double(config_.restart_after)).nonzero().squeeze(1);
  const int64_t count = dead.size(0);
  if (count == 0) return 0;
  // Each dead code moves onto an encoder output of this batch (drawn from the run's stream), with a
  // little noise so two codes restarted on one vector part ways.
  auto flat = z_e.permute({0, 2, 3, 1}).reshape({-1, config_.code_dim});
  auto picks = torch::randint(flat.size(0), {count}, torch::kLong).to(flat.device());
  auto vectors = flat.index_select(0, picks) + 0.01 * torch::randn({count, config_.code_dim}).to(flat.device());
  m.codebook().data().index_copy_(0, dead, vectors);
  m.ema_sum.index_copy_(0, dead, vectors);
  m.ema_count.index_fill_(0, dead, 1.0);
  m.last_used.index_fill_(0, dead, double(step_ + 1));
  return int(count);
}

std::vector<float> VqTrainer::recent_usage() const {
  auto u = model_->usage.cpu().contiguous();
  return std::vector<float>(u.data_ptr<float>(), u.data_ptr<float>() + u.numel());
}

VqTestFigures VqTrainer::test_figures(int64_t max_images) {
  torch::NoGradGuard no_grad;
  model_->eval();
  VqTestFigures r;
  const int64_t n = std::min(max_images, data_->test.count);
  if (n == 0) return r;
  torch::Tensor counts = torch::zeros({config_.codes});
  double bce = 0, mse = 0;
  for (int64_t begin = 0; begin < n; begin += 500) {
    auto x = on_device(test_bytes_.slice(0, begin, std::min(n, begin + 500)).to(torch::kFloat) / 255.0);
    VqOutput out = model_->forward(x);
    bce += torch::binary_cross_entropy_with_logits(out.logits, x, {}, {}, torch::Reduction::Sum).item<double>();
    mse += (torch::sigmoid(out.logits) - x).pow(2).sum().item<double>();
    counts += code_counts(out.q.indices, config_.codes);
  }
  r.recon_bce = bce / double(n);
  r.recon_mse = mse / double(n * config_.channels * config_.height * config_.width);
  r.perplexity = perplexity(counts);
  r.used = int((counts > 0).sum().item<int64_t>());
  auto share = (counts / counts.sum()).contiguous();
  r.usage.assign(share.data_ptr<float>(), share.data_ptr<float>() + share.numel());
  return r;
}

void VqTrainer::check_same_model(const std::string& path) const {
  VqConfig saved = read_vq_config(path);
  if (saved.codes != config_.codes || saved.code_dim != config_.code_dim)
    throw CheckpointError(path + ": holds a VQ-VAE with " + std::to_string(saved.codes) + " codes of " +
                          std::to_string(saved.code_dim) + " dims, not the model asked for");
}

torch::Tensor encode_codes(VqVae& model, const Dataset& data, Split split, int64_t max_images) {
  torch::NoGradGuard no_grad;
  model->eval();
  const ImageSet& set = data.split(split);
  const int64_t n = max_images < 0 ? set.count : std::min(max_images, set.count);
  auto bytes = bytes_view(data, set);
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < n; begin += 1000) {
    auto x = bytes.slice(0, begin, std::min(n, begin + 1000)).to(torch::kFloat) / 255.0;
    parts.push_back(model->quantize(model->encode(x)).indices.reshape({x.size(0), -1}));
  }
  if (parts.empty()) return torch::zeros({0, model->config().grid_h() * model->config().grid_w()}, torch::kLong);
  return torch::cat(parts);
}

VqPriorTrainer::VqPriorTrainer(VqPriorConfig config, VqVae vqvae, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "VQ prior"), config_(std::move(config)), vqvae_(std::move(vqvae)), data_(std::move(data)),
      prior_(nullptr) {
  const VqConfig& vq = vqvae_->config();
  if (data_->channels != vq.channels || data_->height != vq.height || data_->width != vq.width)
    throw std::invalid_argument(data_->source + ": its images are not the " + std::to_string(vq.height) + "x" +
                                std::to_string(vq.width) + " ones the VQ-VAE codes");
  config_.codes = vq.codes;
  config_.grid_h = vq.grid_h();
  config_.grid_w = vq.grid_w();
  config_.validate();
  {
    RandomStream::Scope scope(rng_);
    prior_ = CodePrior(config_);
  }
  remember_weights();
  reset_optimizers();
  test_codes_ = encode_codes(vqvae_, *data_, Split::Test, 2000);
  test_labels_ = split_labels(*data_, Split::Test, test_codes_.size(0));
  if (config_.classes > 0 && int(data_->class_names.size()) != config_.classes)
    throw std::invalid_argument(data_->source + ": has " + std::to_string(int(data_->class_names.size())) + " classes, the prior " +
                                std::to_string(config_.classes));
}

void VqPriorTrainer::reset_optimizers() {
  optimizer_ = std::make_unique<torch::optim::Adam>(prior_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
}

float VqPriorTrainer::train_step() {
  if (data_->train.count == 0) throw std::invalid_argument(data_->source + ": the data set has no training images");
  if (!train_codes_.defined()) {  // on the first step: a prior opened only to sample never needs them
    train_codes_ = encode_codes(vqvae_, *data_, Split::Train);
    train_labels_ = split_labels(*data_, Split::Train, train_codes_.size(0));
  }
  prior_->train();
  RandomStream::Scope scope(rng_);
  auto rows = own_rows(next_in_order(train_codes_.size(0), config_.batch_size, /*keep_short=*/true));
  auto labels = train_labels_.index_select(0, rows);
  if (config_.classes == 0) labels.fill_(-1);
  // One batch row in ten learns the "no class" token, so the prior also samples without a class.
  else labels.masked_fill_(torch::rand({labels.size(0)}) < kNoClassShare, -1);
  auto loss = prior_->loss(on_device(train_codes_.index_select(0, rows)), on_device(labels));
  optimizer_->zero_grad();
  loss.backward();
  float value = loss.item<float>();
  guarded_update(prior_->parameters(), value, "the loss", step_ + 1, [&] { optimizer_->step(); });
  ++step_;
  last_ = value;
  return value;
}

double VqPriorTrainer::test_loss(int64_t max_images) {
  torch::NoGradGuard no_grad;
  prior_->eval();
  const int64_t n = std::min(max_images, test_codes_.size(0));
  double total = 0;
  for (int64_t begin = 0; begin < n; begin += 500) {
    const int64_t end = std::min(n, begin + 500);
    auto labels = config_.classes == 0 ? torch::full({end - begin}, -1, torch::kLong) : test_labels_.slice(0, begin, end);
    total += prior_->loss(on_device(test_codes_.slice(0, begin, end)), on_device(labels)).item<double>() * double(end - begin);
  }
  return n ? total / double(n) : 0.0;
}

void VqPriorTrainer::check_same_model(const std::string& path) const {
  VqPriorConfig saved = read_prior_config(path);
  if (saved.codes != config_.codes || saved.positions() != config_.positions() || saved.width != config_.width ||
      saved.layers != config_.layers || saved.classes != config_.classes)
    throw CheckpointError(path + ": holds another prior (codes, grid, width, layers or classes differ)");
}

VqConfig read_vq_config(const std::string& path) { return read_config<VqConfig>(path, "vqvae", "VQ-VAE"); }

VqPriorConfig read_prior_config(const std::string& path) {
  return read_config<VqPriorConfig>(path, "vqprior", "prior over VQ-VAE codes");
}

VqVae load_vqvae(const std::string& path) {
  VqConfig config = read_vq_config(path);
  VqVae model(config);
  load_module(*model, read_safetensors(path), path);
  model->eval();
  return model;
}

std::string prior_vqvae_path(const std::string& prior_path, const VqPriorConfig& prior, const std::string& given) {
  namespace fs = std::filesystem;
  if (!given.empty()) return given;
  // Beside the prior first: a prior and its VQ-VAE copied (or shipped) together stay a pair.
  const fs::path beside = fs::path(prior_path).parent_path() / fs::path(prior.vqvae).filename();
  if (fs::exists(beside)) return beside.string();
  if (fs::exists(prior.vqvae)) return prior.vqvae;
  throw CheckpointError(prior_path + ": its VQ-VAE " + prior.vqvae + " is neither there nor beside it (pass --vqvae)");
}

void check_prior_matches(const VqPriorConfig& prior, const std::string& prior_path, const VqConfig& vq,
                         const std::string& vq_path) {
  if (prior.codes == vq.codes && prior.grid_h == vq.grid_h() && prior.grid_w == vq.grid_w()) return;
  throw CheckpointError(prior_path + ": models " + std::to_string(prior.codes) + " codes on a " +
                        std::to_string(prior.grid_h) + "x" + std::to_string(prior.grid_w) + " grid, " + vq_path +
                        " has " + std::to_string(vq.codes) + " codes on " + std::to_string(vq.grid_h()) + "x" +
                        std::to_string(vq.grid_w()));
}

SampleSource vq_prior_samples(CodePrior& prior, VqVae& vqvae, const PriorSampling& sampling, int label) {
  return [&prior, &vqvae, sampling, label](int n, uint64_t seed, const SampleProgress& progress) {
    return batched(n, 250, progress, [&](int first, int count) {
      torch::NoGradGuard no_grad;
      prior->eval();
      vqvae->eval();
      const int classes = prior->config().classes;
      auto labels = torch::full({count}, -1, torch::kLong);
      if (classes > 0) labels = label >= 0 ? labels.fill_(label) : (torch::arange(first, first + count) % classes);
      auto generator = at::detail::createCPUGenerator(seed * 7919 + uint64_t(first));
      auto codes = prior->sample(labels, sampling, generator);
      const VqConfig& c = vqvae->config();
      auto images = vqvae->decode_codes(codes.view({count, c.grid_h(), c.grid_w()}));
      return Samples{images, classes > 0 ? labels : torch::Tensor()};
    });
  };
}

}  // namespace genlab
