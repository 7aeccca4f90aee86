#include "core/diffusion/diffusion_trainer.h"

#include "core/compute/batch_halves.h"
#include "core/train/weight_average.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/tensors.h"

namespace genlab {

std::string DiffusionConfig::to_json() const {
  nlohmann::json j = {{"unet", nlohmann::json::parse(unet.to_json())},
                      {"conditional", conditional},
                      {"schedule", schedule_name(schedule)},
                      {"T", T},
                      {"learning_rate", learning_rate},
                      {"batch_size", batch_size},
                      {"label_dropout", label_dropout},
                      {"ema_decay", ema_decay},
                      {"seed", seed}};
  if (distilled.steps > 0)
    j["distilled"] = {{"steps", distilled.steps},     {"teacher", distilled.teacher},
                      {"sampler", distilled.sampler}, {"teacher_steps", distilled.teacher_steps},
                      {"w_max", distilled.w_max}};
  return j.dump();
}

DiffusionConfig DiffusionConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("diffusion config is not a JSON object");
  DiffusionConfig c;
  try {
    c.unet = UNetConfig::from_json(j.at("unet").dump());
    c.conditional = j.at("conditional").get<bool>();
    c.schedule = parse_schedule(j.at("schedule").get<std::string>());
    c.T = j.at("T").get<int>();
    c.learning_rate = j.at("learning_rate").get<float>();
    c.batch_size = j.at("batch_size").get<int>();
    c.label_dropout = j.at("label_dropout").get<float>();
    c.ema_decay = j.at("ema_decay").get<float>();
    c.seed = j.at("seed").get<uint64_t>();
    if (j.contains("distilled")) {
      const nlohmann::json& d = j.at("distilled");
      c.distilled = {d.at("steps").get<int>(), d.at("teacher").get<std::string>(), d.at("sampler").get<std::string>(),
                     d.at("teacher_steps").get<int>(), d.at("w_max").get<double>()};
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("diffusion config: ") + e.what());
  }
  if (c.T < 1 || c.T > 10000) throw std::invalid_argument("T " + std::to_string(c.T) + " is not in 1..10000");
  const DistilledFrom& d = c.distilled;
  if (d.steps != 0 && (d.steps < 1 || d.teacher_steps < d.steps || d.teacher_steps > c.T || d.teacher_steps % d.steps ||
                       !c.unet.guidance_input || !(d.w_max > 0 && d.w_max <= 20)))
    throw std::invalid_argument("distilled: a student of " + std::to_string(d.steps) + " steps for " +
                                std::to_string(d.teacher_steps) + " teacher steps, w up to " + std::to_string(d.w_max) +
                                ", does not fit");
  return c;
}

DiffusionTrainer::DiffusionTrainer(DiffusionConfig config, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "diffusion model"), config_(std::move(config)), data_(std::move(data)) {
  if (!data_ || data_->train.count == 0) throw std::invalid_argument("the diffusion model needs training images");
  if (data_->height != data_->width) throw std::invalid_argument(data_->source + ": the U-Net takes square images");
  config_.unet.channels = data_->channels;
  config_.unet.image_size = data_->height;
  config_.unet.classes = config_.conditional ? int(data_->class_names.size()) : 0;
  config_.unet.validate();
  if (!(config_.label_dropout >= 0 && config_.label_dropout <= 1))
    throw std::invalid_argument("label dropout is not in 0..1");
  schedule_ = NoiseSchedule::make(config_.schedule, config_.T);
  alpha_bar_ = torch::tensor(std::vector<double>(schedule_.alpha_bar.begin(), schedule_.alpha_bar.end())).to(torch::kFloat);
  {
    RandomStream::Scope scope(rng_);
    net_ = UNet(config_.unet);
    ema_ = UNet(config_.unet);
  }
  copy_weights(*net_, *ema_);
  remember_weights();
  reset_optimizers();
  train_bytes_ = torch::from_blob(const_cast<uint8_t*>(data_->train.pixels.data()),
                                  {data_->train.count, data_->channels, data_->height, data_->width}, torch::kUInt8);
  train_labels_ = torch::tensor(data_->train.labels, torch::kLong);
}

void DiffusionTrainer::reset_optimizers() {
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
}

float DiffusionTrainer::train_step() {
  if (config_.distilled.steps > 0)
    throw std::invalid_argument("a distilled student learns from its teacher: genlab-cli train --teacher T.safetensors");
  RandomStream::Scope scope(rng_);
  net_->train();
  // Every random draw is for the whole batch; this rank keeps its rows (Trainer::own_rows). The
  // images are drawn with replacement, x0 ~ q(x0) as in the DDPM paper (a batch may outnumber a
  // small data set).
  const int64_t whole = config_.batch_size;
  auto idx = own_rows(torch::randint(data_->train.count, {whole}, torch::kLong));
  const int64_t n = idx.size(0);
  auto x0 = on_device(train_bytes_.index_select(0, idx).to(torch::kFloat).div_(127.5).sub_(1.0));  // [-1, 1]
  auto t = own_rows(torch::randint(1, config_.T + 1, {whole}, torch::kLong));  // 1..T
  auto eps = on_device(own_rows(torch::randn({whole, data_->channels, data_->height, data_->width})));
  auto ab = on_device(alpha_bar_.index_select(0, t - 1).view({n, 1, 1, 1}));
  auto x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps;
  auto dropped = own_rows(torch::rand({whole})) < config_.label_dropout;
  torch::Tensor labels;
  if (config_.unet.classes > 0) {
    // Unknown labels (-1) and a random share of known ones become the null class.
    labels = train_labels_.index_select(0, idx);
    auto drop = dropped.logical_or(labels < 0);
    labels = torch::where(drop, torch::full_like(labels, config_.unet.classes), labels);
  }
  auto per_sample = (net_->forward(x_t, on_device(t - 1), on_device(labels)) - eps).pow(2).flatten(1).mean(1);
  auto loss = per_sample.mean();
  optimizer_->zero_grad();
  loss.backward();
  float loss_value = loss.item<float>();
  // Checked before the EMA takes the new weights in.
  guarded_update(net_->parameters(), loss_value, "the loss", step_ + 1, [&] { optimizer_->step(); });
  update_average(*net_, *ema_, config_.ema_decay);
  auto t_cpu = t.contiguous();
  auto l_cpu = per_sample.detach().cpu().contiguous();
  const int64_t* ts = t_cpu.data_ptr<int64_t>();
  const float* ls = l_cpu.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int bucket = std::min(kBuckets - 1, int((ts[i] - 1) * kBuckets / config_.T));
    // Decayed sums: the buckets follow the recent loss, not the whole run.
    bucket_sum_[size_t(bucket)] = 0.99 * bucket_sum_[size_t(bucket)] + ls[i];
    bucket_count_[size_t(bucket)] = 0.99 * bucket_count_[size_t(bucket)] + 1;
  }
  ++step_;
  last_loss_ = loss_value;
  return loss_value;
}

std::array<float, DiffusionTrainer::kBuckets> DiffusionTrainer::bucket_losses() const {
  std::array<float, kBuckets> out;
  for (int b = 0; b < kBuckets; ++b)
    out[size_t(b)] = bucket_count_[size_t(b)] > 0 ? float(bucket_sum_[size_t(b)] / bucket_count_[size_t(b)])
                                                  : std::numeric_limits<float>::quiet_NaN();
  return out;
}

Denoiser DiffusionTrainer::denoiser(const torch::Tensor& labels, double w, std::shared_ptr<GuidanceParts> record) {
  return denoiser(labels, [w](int) { return w; }, std::move(record));
}

Denoiser DiffusionTrainer::denoiser(const torch::Tensor& labels, std::function<double(int)> w_at,
                                    std::shared_ptr<GuidanceParts> record) {
  UNet net = ema_;
  const int null_label = config_.unet.classes;
  return [net, labels, w_at = std::move(w_at), null_label, record](const torch::Tensor& x, int t) mutable {
    torch::NoGradGuard no_grad;
    net->eval();
    const double w = w_at(t);
    const int64_t n = x.size(0);
    auto steps = torch::full({n}, t - 1, torch::kLong);
    auto null_labels = torch::full({n}, null_label, torch::kLong);
    // With two or more compute threads the batch runs as two halves at once (batch_halves.h).
    auto forward = [&net](const torch::Tensor& x, const torch::Tensor& steps, const torch::Tensor& classes,
                          const torch::Tensor& scales = {}) {
      return run_in_halves(x.size(0), [&](int64_t first, int64_t count) {
        return net->forward(x.narrow(0, first, count), steps.narrow(0, first, count), classes.narrow(0, first, count),
                            scales.defined() ? scales.narrow(0, first, count) : scales);
      });
    };
    if (net->config().guidance_input) {  // a student: the guided prediction in one call
      const bool guided = null_label > 0 && labels.defined();
      return forward(x, steps, guided ? torch::where(labels < 0, null_labels, labels) : null_labels,
                     torch::full({n}, guided ? w : 0.0, torch::kFloat));
    }
    if (null_label == 0 || !labels.defined() || (!record && w == 0.0)) return forward(x, steps, null_labels);
    auto cond = torch::where(labels < 0, null_labels, labels);
    if (!record && w == 1.0) return forward(x, steps, cond);
    auto both = forward(torch::cat({x, x}), torch::cat({steps, steps}), torch::cat({cond, null_labels}));
    auto parts = both.chunk(2, 0);
    if (record) *record = GuidanceParts{parts[0], parts[1]};
    return classifier_free_guidance(parts[1], parts[0], w);
  };
}

void DiffusionTrainer::check_same_model(const std::string& path) const {
  DiffusionConfig saved = read_diffusion_config(path);
  if (saved.unet.to_json() != config_.unet.to_json())
    throw CheckpointError(path + ": holds a U-Net of another shape (" + saved.unet.to_json() + ")");
}

DiffusionConfig read_diffusion_config(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "ddpm") throw CheckpointError(path + ": holds a '" + info.model + "' model, not a diffusion model");
  try {
    return DiffusionConfig::from_json(info.config_json);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

torch::Tensor sample_labels(int label, int n, int classes) {
  if (classes == 0) return {};
  return label >= 0 ? torch::full({n}, label, torch::kLong) : cycling_labels(0, n, classes);
}

SamplingWalkPlan sampling_walk_plan(const DiffusionConfig& config, const std::string& sampler, int steps) {
  const int student = config.distilled.steps;
  if (student) return {SamplerKind::DDIM, sampling_timesteps(config.T, student), 0.0};
  return {parse_sampler(sampler), sampling_timesteps(config.T, steps), 1.0};
}

SampleSource diffusion_samples(DiffusionTrainer& trainer, const std::string& sampler, int steps, double cfg,
                               double eta, const GuidanceSchedule& cfg_schedule) {
  const SamplingWalkPlan plan = sampling_walk_plan(trainer.config(), sampler, steps);
  const GuidanceCurve curve(cfg_schedule, cfg, plan.timesteps, trainer.schedule());
  return [&trainer, plan, curve, eta](int n, uint64_t seed, const SampleProgress& progress) {
    const DiffusionConfig& c = trainer.config();
    const int size = c.unet.image_size, ch = c.unet.channels;
    return batched(n, 100, progress, [&](int first, int count) {
      torch::Tensor labels = c.unet.classes > 0 ? cycling_labels(first, count, c.unet.classes) : torch::Tensor();
      auto x_T = seeded_noise(seed * 7919 + uint64_t(first), count, ch * size * size).view({count, ch, size, size});
      auto x = sample_timesteps(plan.kind, trainer.schedule(), trainer.denoiser(labels, curve), x_T, plan.timesteps,
                                eta, seed * 7919 + uint64_t(first) + 1, {}, plan.clip_x0)
                   .x;
      return Samples{((x + 1) * 0.5).clamp(0, 1), labels};
    });
  };
}

}  // namespace genlab
