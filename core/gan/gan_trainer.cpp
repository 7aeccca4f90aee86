#include "core/gan/gan_trainer.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/tensors.h"
#include "core/train/weight_average.h"

namespace genlab {

namespace {

constexpr int kFixedSamples = 64;  // the fixed-noise grid of an unconditional GAN

float grad_norm(torch::nn::Module& module) {
  double sum = 0;
  for (auto& p : module.parameters())
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  return float(std::sqrt(sum));
}

void set_lr(torch::optim::Optimizer& opt, float lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

// DCGAN's Adam(0.5, 0.999), except WGAN-GP, whose critic wants no momentum: Adam(0, 0.9), and
// ProGAN and StyleGAN, trained with Adam(0, 0.99) in their papers.
std::tuple<double, double> betas_for(GanLoss loss, GanArch arch) {
  if (arch != GanArch::Dcgan) return std::make_tuple(0.0, 0.99);
  return loss == GanLoss::WassersteinGP ? std::make_tuple(0.0, 0.9) : std::make_tuple(0.5, 0.999);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& module, float lr, const GanConfig& config) {
  switch (config.optimizer) {
    case GanOptimizer::RMSprop:
      return std::make_unique<torch::optim::RMSprop>(module.parameters(), torch::optim::RMSpropOptions(lr));
    case GanOptimizer::SGD:
      return std::make_unique<torch::optim::SGD>(module.parameters(), torch::optim::SGDOptions(lr));
    case GanOptimizer::Adam:
      break;
  }
  return std::make_unique<torch::optim::Adam>(module.parameters(), torch::optim::AdamOptions(lr).betas(betas_for(config.loss, config.arch)));
}

}  // namespace

GanTrainer::GanTrainer(GanConfig config, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "GAN"), config_(std::move(config)), data_(std::move(data)) {
  if (config_.mode == GanMode::Images) {
    if (!data_ || data_->train.count == 0) throw std::invalid_argument("the GAN needs a data set with training images");
    config_.channels = data_->channels;
    config_.height = data_->height;
    config_.width_px = data_->width;
    config_.classes = int(data_->class_names.size());
    train_bytes_ = torch::from_blob(const_cast<uint8_t*>(data_->train.pixels.data()),
                                    {data_->train.count, data_->channels, data_->height, data_->width}, torch::kUInt8);
    train_labels_ = torch::tensor(data_->train.labels, torch::kLong);
  }
  // Smoothing and the averaged G are part of the image DCGAN's recipe; the toy keeps the raw
  // dynamics it is there to show, ProGAN and StyleGAN their papers' recipes.
  if (config_.mode != GanMode::Images || config_.arch != GanArch::Dcgan) config_.real_label = 1.f, config_.g_ema = 0.f;
  config_.validate();
  RandomStream::Scope scope(rng_);
  g_ = make_generator(config_);
  d_ = make_discriminator(config_);
  if (config_.g_ema > 0) {
    g_ema_ = make_generator(config_);
    copy_weights(*g_, *g_ema_);
  }
  reset_optimizers();
  // A cGAN's fixed grid has a row of 8 per class (up to 16 classes); otherwise 8 x 8.
  const int64_t fixed = config_.conditional ? 8 * std::min(config_.classes, 16) : kFixedSamples;
  fixed_z_ = torch::randn({fixed, config_.latent});
  fixed_labels_ = config_.conditional ? torch::arange(fixed, torch::kLong).div(8, "floor").remainder(config_.classes)
                                      : torch::Tensor();
  remember_weights();
}

double GanTrainer::epoch() const {
  return data_ && config_.mode == GanMode::Images ? double(images_seen_) / double(data_->train.count) : 0.0;
}

void GanTrainer::reset_optimizers() {
  opt_g_ = make_optimizer(*g_, config_.lr_g, config_);
  opt_d_ = make_optimizer(*d_, config_.lr_d, config_);
}

void GanTrainer::set_loss(GanLoss loss) {
  config_.loss = loss;
  for (auto* opt : {opt_g_.get(), opt_d_.get()})
    for (auto& group : opt->param_groups())
      if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&group.options())) adam->betas(betas_for(loss, config_.arch));
}

void GanTrainer::set_optimizer(GanOptimizer optimizer) {
  if (optimizer == config_.optimizer) return;
  config_.optimizer = optimizer;
  reset_optimizers();
}

void GanTrainer::set_learning_rates(float lr_g, float lr_d) {
  config_.lr_g = lr_g;
  config_.lr_d = lr_d;
  set_lr(*opt_g_, lr_g);
  set_lr(*opt_d_, lr_d);
}

torch::Tensor GanTrainer::random_labels(int64_t n) {
  return config_.conditional ? torch::randint(config_.classes, {n}, torch::kLong) : torch::Tensor();
}

torch::Tensor GanTrainer::toy_real(int64_t n) {
  if (config_.toy == ToyData::Ring) {  // 8 Gaussians on a circle of radius 2
    auto k = torch::randint(8, {n}).to(torch::kFloat) * (2 * M_PI / 8);
    return torch::stack({2 * torch::cos(k), 2 * torch::sin(k)}, 1) + 0.05 * torch::randn({n, 2});
  }
  auto t = torch::rand({n});  // an Archimedean spiral, 1.5 turns
  auto angle = t * (3 * M_PI), radius = 0.3 + 2.2 * t;
  return torch::stack({radius * torch::cos(angle), radius * torch::sin(angle)}, 1) + 0.04 * torch::randn({n, 2});
}

void GanTrainer::sync_growth() {
  if (config_.arch != GanArch::ProGan) return;
  const Growth growth = config_.growth_at(step_);
  static_cast<ProGanGenerator&>(*g_).set_growth(growth);
  static_cast<ProGanDiscriminator&>(*d_).set_growth(growth);
}

GanTrainer::Batch GanTrainer::real_batch() {
  if (config_.mode == GanMode::Toy) return {on_device(own_rows(toy_real(config_.batch_size))), {}};
  auto idx = own_rows(next_in_order(data_->train.count, config_.batch_size, /*keep_short=*/false));
  images_seen_ += config_.batch_size;
  auto x = train_bytes_.index_select(0, idx).to(torch::kFloat).div_(127.5).sub_(1.0);  // [-1, 1], as G's tanh
  if (config_.arch == GanArch::ProGan) x = progan_real(x, growth());
  return {on_device(x), on_device(config_.conditional ? train_labels_.index_select(0, idx) : torch::Tensor())};
}

GanStepStats GanTrainer::step_d() {
  RandomStream::Scope scope(rng_);
  sync_growth();
  g_->train();
  d_->train();
  Batch real = real_batch();
  const int64_t n = config_.batch_size;  // the whole batch, of which this rank has real.x's rows
  auto labels = config_.conditional ? real.labels : torch::Tensor();
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = g_->forward(on_device(own_rows(torch::randn({n, config_.latent}))), labels);
  }
  const bool r1 = config_.r1_gamma > 0;
  auto real_x = r1 ? real.x.detach().requires_grad_(true) : real.x;
  auto real_scores = d_->forward(real_x, labels);
  auto fake_scores = d_->forward(fake, labels);
  torch::Tensor real_target;
  if (config_.real_label < 1)
    real_target = on_device(own_rows(torch::rand({n}) * (1 - config_.real_label) + config_.real_label));
  auto loss = discriminator_loss(config_.loss, real_scores, fake_scores, real_target);
  GanStepStats s;
  if (r1) {
    auto grads = torch::autograd::grad({real_scores.sum()}, {real_x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    auto penalty = grads.pow(2).flatten(1).sum(1).mean();
    loss = loss + 0.5 * config_.r1_gamma * penalty;
    s.penalty = penalty.item<float>();
  }
  if (config_.loss == GanLoss::WassersteinGP) {
    auto penalty = gradient_penalty([&](const torch::Tensor& x) { return d_->forward(x, labels); }, real.x, fake,
                                    on_device(own_rows(torch::rand({n}))));
    loss = loss + config_.gp_weight * penalty;
    s.penalty = penalty.item<float>();
  }
  opt_d_->zero_grad();
  loss.backward();
  s.loss_d = loss.item<float>();
  s.value = value_function(real_scores, fake_scores).item<float>();
  s.d_real = torch::sigmoid(real_scores).mean().item<float>();
  s.d_fake = torch::sigmoid(fake_scores).mean().item<float>();
  guarded_update(d_->parameters(), s.loss_d, "the discriminator loss", step_, [&] { opt_d_->step(); },
                 {&s.value, &s.d_real, &s.d_fake, &s.penalty});
  s.grad_norm_d = grad_norm(*d_);  // of the update taken (with other ranks: their summed gradients)
  s.step = step_;
  return s;
}

GanStepStats GanTrainer::step_g() {
  RandomStream::Scope scope(rng_);
  sync_growth();
  g_->train();
  d_->train();
  const int64_t n = config_.batch_size;
  auto labels = on_device(own_rows(random_labels(n)));
  auto z = on_device(own_rows(torch::randn({n, config_.latent})));
  torch::Tensor loss, fake_scores;
  {
    Frozen d_weights(*d_);  // D's gradients from G's loss would be thrown away: skip computing them
    fake_scores = d_->forward(g_->forward(z, labels), labels);
    loss = generator_loss(config_.loss, fake_scores);
    opt_g_->zero_grad();
    loss.backward();
  }
  GanStepStats s;
  s.loss_g = loss.item<float>();
  s.d_fake = torch::sigmoid(fake_scores).mean().item<float>();
  guarded_update(g_->parameters(), s.loss_g, "the generator loss", step_ + 1, [&] { opt_g_->step(); }, {&s.d_fake});
  s.grad_norm_g = grad_norm(*g_);
  if (g_ema_) update_average(*g_, *g_ema_, std::min<double>(config_.g_ema, (1.0 + step_) / (10.0 + step_)));
  ++step_;
  s.step = step_;
  return s;
}

GanStepStats GanTrainer::train_step() {
  GanStepStats d;
  for (int i = 0; i < config_.d_steps; ++i) d = step_d();
  GanStepStats g = step_g();
  d.step = g.step;
  d.loss_g = g.loss_g;
  d.grad_norm_g = g.grad_norm_g;
  last_ = d;
  return d;
}

torch::Tensor GanTrainer::generate_raw(const torch::Tensor& z, const torch::Tensor& labels, double psi) {
  torch::NoGradGuard no_grad;
  sync_growth();
  GeneratorNet& g = drawing_generator();
  g.eval();
  // Truncation: a StyleGAN pulls w toward its running mean; the others shrink z toward the prior's.
  if (StyleGenerator* style = stylegan(); style && psi != 1.0) return style->synthesize(style->styles(on_device(z), psi)).cpu();
  return g.forward(on_device(z * psi), on_device(labels)).cpu();
}

torch::Tensor GanTrainer::to_display(const torch::Tensor& images) const {
  auto x = images;
  if (x.size(-1) != config_.width_px) x = torch::upsample_nearest2d(x, {config_.height, config_.width_px});
  return ((x + 1) * 0.5).clamp(0, 1);
}

torch::Tensor GanTrainer::generate(const torch::Tensor& z, const torch::Tensor& labels, double psi) {
  auto out = generate_raw(z, labels, psi);
  return config_.mode == GanMode::Images ? to_display(out) : out;
}

std::vector<Activation> GanTrainer::activations(const torch::Tensor& z, const torch::Tensor& labels, double psi) {
  torch::NoGradGuard no_grad;
  sync_growth();
  GeneratorNet& g = drawing_generator();  // a StyleGAN keeps no average: its G
  g.eval();
  if (StyleGenerator* style = stylegan()) {
    std::vector<Activation> out;
    style->synthesize(style->styles(z, psi), {}, &out);
    return out;
  }
  return g.activations(on_device(z), on_device(labels));
}

ProGanGenerator::Fade GanTrainer::fade(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  sync_growth();
  g_->eval();
  ProGanGenerator::Fade f = progan()->fade(on_device(z));
  return {to_display(f.old_path.cpu()), to_display(f.new_path.cpu()), to_display(f.blended.cpu())};
}

torch::Tensor GanTrainer::toy_decision_surface(int n, float extent) {
  torch::NoGradGuard no_grad;
  d_->eval();
  auto values = torch::linspace(-extent, extent, n);
  auto ys = values.flip(0).unsqueeze(1).expand({n, n});  // row 0 at the top: +extent
  auto xs = values.unsqueeze(0).expand({n, n});
  auto points = torch::stack({xs.reshape(-1), ys.reshape(-1)}, 1);
  auto scores = d_->forward(points, {}).reshape({n, n});
  switch (config_.loss) {
    case GanLoss::LeastSquares:  // D regresses real -> 1, fake -> 0
      return scores.clamp(0, 1);
    case GanLoss::WassersteinGP:  // a critic's offset means nothing: centre and scale over the plane
      return 0.5 + 0.5 * torch::tanh((scores - scores.mean()) / (scores.std() + 1e-6));
    default:
      return torch::sigmoid(scores);
  }
}

int GanTrainer::ring_modes_covered(const torch::Tensor& points) {
  auto angles = torch::arange(8).to(torch::kFloat) * (2 * M_PI / 8);
  auto centres = torch::stack({2 * torch::cos(angles), 2 * torch::sin(angles)}, 1);
  auto nearest = torch::cdist(points, centres).min(1);
  auto which = std::get<1>(nearest).masked_select(std::get<0>(nearest) < 0.5);
  auto counts = torch::bincount(which, {}, 8);
  return (counts >= int64_t(0.02 * double(points.size(0)))).sum().item<int>();
}

std::string GanTrainer::dataset_spec() const {
  return data_ && config_.mode == GanMode::Images ? data_->spec : std::string("toy:") + toy_name(config_.toy);
}

void GanTrainer::check_same_model(const std::string& path) const {
  GanConfig saved = read_gan_config(path);
  if (saved.mode != config_.mode || saved.arch != config_.arch || saved.conditional != config_.conditional ||
      saved.latent != config_.latent || saved.width != config_.width || saved.layout != config_.layout ||
      (saved.g_ema > 0) != (config_.g_ema > 0) ||
      (config_.arch == GanArch::StyleGan && (saved.w_dim != config_.w_dim || saved.mapping_depth != config_.mapping_depth)))
    throw CheckpointError(path + ": holds another GAN (architecture, layout, mode, conditioning, latent, width or averaged G differ)");
}

void GanTrainer::restore_from_metadata(const std::string& metadata_json) {
  auto meta = nlohmann::json::parse(metadata_json);
  set_optimizer(GanConfig::from_json(meta["config"].dump()).optimizer);
  // The epoch counts real images D has seen; the checkpoint records it as epochs of its data set.
  if (data_ && config_.mode == GanMode::Images)
    images_seen_ = int64_t(std::llround(meta.value("epoch", 0.0) * double(data_->train.count)));
}

GanConfig read_gan_config(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "gan" && info.model != "progan" && info.model != "stylegan")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not a GAN");
  try {
    GanConfig config = GanConfig::from_json(info.config_json);
    if (config.kind() != info.model) throw CheckpointError(path + ": a '" + info.model + "' checkpoint with a " +
                                                           arch_name(config.arch) + " config");
    return config;
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

SampleSource gan_samples(GanTrainer& trainer, double psi) {
  return [&trainer, psi](int n, uint64_t seed, const SampleProgress& progress) {
    const GanConfig& c = trainer.config();
    return batched(n, 250, progress, [&](int first, int count) {
      torch::NoGradGuard no_grad;
      auto z = seeded_noise(seed * 7919 + uint64_t(first), count, c.latent);
      torch::Tensor labels = c.conditional ? cycling_labels(first, count, c.classes) : torch::Tensor();
      return Samples{trainer.generate(z, labels, psi).clamp(0, 1), labels};  // generate() maps tanh to [0, 1]
    });
  };
}

namespace {

double trimmed_mean(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size(), lo = n / 100, hi = n - n / 100;
  double sum = 0;
  for (size_t i = lo; i < hi; ++i) sum += values[i];
  return hi > lo ? sum / double(hi - lo) : 0.0;
}

}  // namespace

PathLengths path_lengths(GanTrainer& trainer, const std::function<torch::Tensor(const torch::Tensor&)>& features,
                         int paths, uint64_t seed, const std::function<bool(int64_t, int64_t)>& progress) {
  constexpr double kEps = 1e-4;
  constexpr int kBatch = 100;
  const GanConfig& c = trainer.config();
  StyleGenerator* style = trainer.stylegan();
  torch::NoGradGuard no_grad;
  std::vector<double> in_z, in_w;
  const int64_t total = int64_t(paths) * (style ? 2 : 1);
  auto distance = [&](const torch::Tensor& a, const torch::Tensor& b, std::vector<double>& out) {
    auto d = (features(a) - features(b)).pow(2).sum(1) / (kEps * kEps);
    auto v = d.to(torch::kDouble).contiguous();
    out.insert(out.end(), v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  };
  for (int first = 0; first < paths; first += kBatch) {
    const int n = std::min(kBatch, paths - first);
    const uint64_t s = seed * 7919 + uint64_t(first);
    auto z0 = seeded_noise(s, n, c.latent), z1 = seeded_noise(s + 1000003, n, c.latent);
    auto t = torch::rand({n}, at::detail::createCPUGenerator(s + 2000003));
    torch::Tensor labels = c.conditional ? cycling_labels(first, n, c.classes) : torch::Tensor();
    distance(trainer.generate(slerp_rows(z0, z1, t), labels), trainer.generate(slerp_rows(z0, z1, t + kEps), labels), in_z);
    if (progress && !progress(int64_t(in_z.size() + in_w.size()), total)) return {};
    if (style) {
      style->eval();
      auto w0 = style->map(z0.to(style->w_avg().device())), w1 = style->map(z1.to(style->w_avg().device()));
      auto at = [&](const torch::Tensor& tt) {
        auto w = torch::lerp(w0, w1, tt.to(w0.device()).unsqueeze(1));
        return trainer.to_display(style->synthesize(w.unsqueeze(1).expand({-1, StyleGenerator::kLayers, -1})).cpu());
      };
      distance(at(t), at(t + kEps), in_w);
      if (progress && !progress(int64_t(in_z.size() + in_w.size()), total)) return {};
    }
  }
  PathLengths out;
  out.paths = paths;
  out.z = trimmed_mean(in_z);
  if (style) out.w = trimmed_mean(in_w);
  return out;
}

}  // namespace genlab
