#include "core/gan/gan_lab.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/lab/lab_training.h"
#include "core/train/history.h"
#include "core/lab/quality_job.h"
#include "core/metrics/sample_quality.h"
#include "core/io/tensors.h"
#include "core/gan/gan_trainer.h"

namespace genlab {

namespace {

constexpr size_t kMaxTimeline = 120;
constexpr int kSurface = 96;      // toy decision surface resolution
constexpr int kToyPoints = 512;   // generated and real points drawn over it
using Clock = std::chrono::steady_clock;

// Mean distance between pairs of samples: how spread out a batch is.
float mean_pairwise_distance(const torch::Tensor& samples) {
  auto flat = samples.flatten(1);
  auto d = torch::cdist(flat, flat);
  const int64_t n = flat.size(0);
  return n > 1 ? (d.sum() / double(n * (n - 1))).item<float>() : 0.f;
}

}  // namespace

struct GanLab::State {
  std::unique_ptr<GanTrainer> trainer;
  GanLabView view;
  torch::Tensor real_reference;  // a fixed real batch for the diversity baseline / toy points
  torch::Tensor toy_noise;       // fixed z for the toy canvas, so its points move only as G learns

  GanTrainer& trainer_or_throw() {
    if (!trainer) throw std::runtime_error("no GAN yet: create or load one first");
    return *trainer;
  }

  // Samples, toy canvas and the collapse meter from the current weights.
  void refresh(bool add_to_timeline) {
    GanTrainer& t = *trainer;
    GanLabView& v = view;
    v.exists = true;
    v.config = t.config();
    v.step = t.step();
    v.epoch = t.epoch();
    torch::NoGradGuard no_grad;
    if (t.config().mode == GanMode::Images) {
      auto samples = t.generate(t.fixed_noise(), t.fixed_labels());
      v.samples = tensor_grid(samples, 8);
      v.diversity = mean_pairwise_distance(samples);
      v.real_diversity = mean_pairwise_distance(real_reference);
      v.collapse_warning = v.diversity < 0.5f * v.real_diversity;
      if (add_to_timeline) v.timeline.push_back({v.step, std::make_shared<const ImageGrid>(v.samples)});
      v.growth = t.growth();
      if (t.config().arch == GanArch::ProGan) {
        ProGanGenerator::Fade f = t.fade(t.fixed_noise().narrow(0, 0, 8));
        v.fade_old = tensor_grid(f.old_path, 8);
        v.fade_new = tensor_grid(f.new_path, 8);
        v.fade_blended = tensor_grid(f.blended, 8);
      }
    } else {
      auto fake = t.generate(toy_noise);
      v.surface.channels = 1;
      v.surface.height = v.surface.width = kSurface;
      v.surface.pixels = to_vector(t.toy_decision_surface(kSurface, v.extent));
      v.fake_xy = to_vector(fake);
      v.real_xy = to_vector(real_reference);
      if (t.config().toy == ToyData::Ring) {
        v.modes_total = 8;
        v.modes_covered = GanTrainer::ring_modes_covered(fake);
        v.collapse_warning = v.modes_covered < 8;
      } else {
        v.modes_covered = -1;
        v.diversity = mean_pairwise_distance(fake);
        v.real_diversity = mean_pairwise_distance(real_reference);
        v.collapse_warning = v.diversity < 0.5f * v.real_diversity;
      }
      if (add_to_timeline) {
        // The toy timeline keeps the surface, so a scrub shows how D's judgement moved.
        v.timeline.push_back({v.step, std::make_shared<const ImageGrid>(
                                          make_image_grid(v.surface.pixels.data(), 1, 1, kSurface, kSurface, 1, 0))});
      }
    }
    if (v.timeline.size() > kMaxTimeline) {  // keep the span, halve the density
      std::vector<GanTimelineEntry> kept;
      for (size_t i = 0; i < v.timeline.size(); i += 2) kept.push_back(std::move(v.timeline[i]));
      v.timeline = std::move(kept);
    }
  }

};

GanLab::GanLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
GanLab::~GanLab() = default;

std::vector<UnsavedTraining> GanLab::unsaved_training() const {
  auto v = view_.get();
  return v && v->value.exists ? v->value.saved.unsaved("GAN", v->value.step) : std::vector<UnsavedTraining>();
}

std::vector<std::string> GanLab::open_checkpoints() const {
  auto v = view_.get();
  if (!v || !v->value.exists || v->value.saved.checkpoint.empty()) return {};
  return {v->value.saved.checkpoint};
}

namespace {

const std::vector<std::string> kGanColumns = {"step", "loss_d", "loss_g", "value", "d_real", "d_fake", "grad_d", "grad_g"};

}  // namespace

void record_step(std::vector<GanHistoryPoint>& history, const GanStepStats& s) {
  history.push_back({s.step, s.loss_d, s.loss_g, s.value, s.d_real, s.d_fake, s.grad_norm_d, s.grad_norm_g});
  thin_history(history);
}

std::string gan_curves_json(const std::vector<GanHistoryPoint>& history) {
  return nlohmann::json{{"train", curve_json(history, kGanColumns, [](const GanHistoryPoint& p) {
                           return std::vector<double>{double(p.step), p.loss_d, p.loss_g, p.value,
                                                      p.d_real,       p.d_fake, p.grad_d, p.grad_g};
                         })}}
      .dump();
}

std::vector<GanHistoryPoint> read_gan_curves(const std::string& metadata_json) {
  nlohmann::json history = saved_history(metadata_json);
  if (!history.is_object()) return {};
  return curve_points<GanHistoryPoint>(history.value("train", nlohmann::json()), kGanColumns.size(),
                                       [](const std::vector<double>& r) {
                                         return GanHistoryPoint{int64_t(r[0]), float(r[1]), float(r[2]), float(r[3]),
                                                                float(r[4]),   float(r[5]), float(r[6]), float(r[7])};
                                       });
}

namespace {

std::shared_ptr<const Dataset> open_images(Session& session, const GanConfig& config) {
  if (config.mode == GanMode::Toy) return nullptr;
  auto open = session.dataset().get();
  if (!open) throw std::runtime_error("open a data set first");
  return open->value.data;
}

torch::Tensor reference_batch(GanTrainer& t) {
  if (t.config().mode == GanMode::Toy) return t.toy_real(kToyPoints);
  const Dataset& d = *t.data();
  const int64_t n = std::min<int64_t>(64, d.train.count);
  auto bytes = torch::from_blob(const_cast<uint8_t*>(d.train.pixels.data()), {n, d.channels, d.height, d.width}, torch::kUInt8);
  return bytes.to(torch::kFloat) / 255.0;
}

}  // namespace

void GanLab::new_model(const GanConfig& config) {
  session_.worker().submit("new GAN", [this, config](JobContext&) {
    auto data = open_images(session_, config);
    State& s = *state_;
    s.trainer = std::make_unique<GanTrainer>(config, data);
    s.view = GanLabView{};
    s.view.id = next_stamp();
    s.real_reference = reference_batch(*s.trainer);
    s.toy_noise = seeded_noise(7, kToyPoints, config.latent);
    s.refresh(true);
    view_.publish(s.view);
  });
}

void GanLab::load(const std::string& path) {
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    GanConfig config = read_gan_config(path);
    auto data = open_images(session_, config);
    if (data && (data->channels != config.channels || data->height != config.height))
      throw CheckpointError(path + ": made for " + std::to_string(config.channels) + "x" + std::to_string(config.height) +
                            " images, the open data set has " + std::to_string(data->channels) + "x" +
                            std::to_string(data->height));
    auto trainer = std::make_unique<GanTrainer>(config, data);
    const std::string metadata = trainer->resume(path);
    State& s = *state_;
    s.trainer = std::move(trainer);
    s.view = GanLabView{};
    s.view.id = next_stamp();
    s.view.saved.saved_at(path, s.trainer->step());
    s.view.history = read_gan_curves(metadata);
    s.real_reference = reference_batch(*s.trainer);
    s.toy_noise = seeded_noise(7, kToyPoints, config.latent);
    s.refresh(true);
    view_.publish(s.view);
  });
}

namespace {

// The checkpoint with the newest losses as its metrics (the save button and the autosave).
void save_model(GanTrainer& t, const GanLabView& v, const std::string& path) {
  nlohmann::json metrics = nlohmann::json::object();
  if (!v.history.empty()) {
    const GanHistoryPoint& h = v.history.back();
    metrics["last"] = {{"loss_d", h.loss_d}, {"loss_g", h.loss_g}, {"d_real", h.d_real}, {"d_fake", h.d_fake}};
  }
  t.save(path, metrics.dump(), gan_curves_json(v.history));
}

}  // namespace

void GanLab::train(int64_t steps) {
  session_.worker().submit("train GAN", [this, steps](JobContext& ctx) {
    State& s = *state_;
    GanTrainer& t = s.trainer_or_throw();
    const int64_t start = t.step();
    auto t0 = Clock::now(), last_publish = Clock::now();
    int64_t since_snapshot = 0;
    LabTraining run;
    run.file = "gan";
    run.steps = steps;
    run.step = [&] {
      if (int loss = loss_.exchange(-1); loss >= 0) t.set_loss(GanLoss(loss));
      if (int k = d_steps_.exchange(-1); k > 0) t.set_d_steps(k);
      float lr_g = lr_g_.exchange(-1.f), lr_d = lr_d_.exchange(-1.f);
      if (lr_g > 0 && lr_d > 0) t.set_learning_rates(lr_g, lr_d);
      if (int optimizer = optimizer_.exchange(-1); optimizer >= 0) t.set_optimizer(GanOptimizer(optimizer));
      record_step(s.view.history, t.train_step());
      if (int ms = slow_ms_.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      ++since_snapshot;
      auto now = Clock::now();
      if (now - last_publish > std::chrono::milliseconds(250)) {
        s.view.steps_per_s = double(t.step() - start) / std::chrono::duration<double>(now - t0).count();
        s.refresh(since_snapshot >= 50);
        if (since_snapshot >= 50) since_snapshot = 0;
        view_.publish(s.view);
        last_publish = now;
      }
    };
    run.write = [&](const std::string& path) { save_model(t, s.view, path); };
    run.saved = &s.view.saved;
    run.save_later = [this](const std::string& path) { save(path); };
    run.publish = [&] {
      s.refresh(false);
      view_.publish(s.view);
    };
    run_lab_training(ctx, session_, saves_, t, run);
    s.refresh(true);
    view_.publish(s.view);
  });
}

void GanLab::single_step(Single which) {
  session_.worker().submit("GAN step", [this, which](JobContext&) {
    State& s = *state_;
    GanTrainer& t = s.trainer_or_throw();
    torch::AutoGradMode grad(true);
    if (int loss = loss_.exchange(-1); loss >= 0) t.set_loss(GanLoss(loss));
    if (int optimizer = optimizer_.exchange(-1); optimizer >= 0) t.set_optimizer(GanOptimizer(optimizer));
    GanStepStats stats = which == Single::D ? t.step_d() : which == Single::G ? t.step_g() : t.train_step();
    record_step(s.view.history, stats);
    s.refresh(false);
    view_.publish(s.view);
  });
}

void GanLab::measure_quality(const QualityOptions& options) {
  session_.worker().submit("measure GAN", [this, options](JobContext& ctx) {
    GanTrainer& t = state_->trainer_or_throw();
    if (t.config().mode != GanMode::Images) throw std::runtime_error("the toy GAN draws points: no images to score");
    run_quality_job(ctx, session_, options, t.config().conditional ? "G(z, c), one of each class" : "G(z)",
                    gan_samples(t), {}, t.step(), quality_);
  });
}

void GanLab::save(const std::string& path) {
  if (saves_.post("gan", path)) return;  // the training job writes it at the next step
  session_.worker().submit("save " + path, [this, path](JobContext&) {
    State& s = *state_;
    GanTrainer& t = s.trainer_or_throw();
    save_as(s.view.saved, t, [&](const std::string& to) { save_model(t, s.view, to); }, path);
    view_.publish(s.view);
  });
}

void GanLab::explore(uint64_t seed_a, uint64_t seed_b, uint64_t seed_c, uint64_t seed_d, int steps, bool slerp_mode,
                     int label) {
  session_.worker().request("gan.explore", [=](JobContext&) {
    GanTrainer& t = state_->trainer_or_throw();
    if (t.config().mode != GanMode::Images) return;
    const int latent = t.config().latent;
    auto za = seeded_noise(seed_a, 1, latent)[0], zb = seeded_noise(seed_b, 1, latent)[0];
    auto zc = seeded_noise(seed_c, 1, latent)[0], zd = seeded_noise(seed_d, 1, latent)[0];
    std::vector<torch::Tensor> line;
    for (int i = 0; i < steps; ++i) {
      double f = steps == 1 ? 0.5 : double(i) / double(steps - 1);
      line.push_back(slerp_mode ? slerp(za, zb, f) : za * (1 - f) + zb * f);
    }
    const int n = 6;  // the four seeds at the corners of an n x n grid
    std::vector<torch::Tensor> grid;
    for (int row = 0; row < n; ++row)
      for (int col = 0; col < n; ++col) {
        double u = double(col) / (n - 1), w = double(row) / (n - 1);
        grid.push_back(za * (1 - u) * (1 - w) + zb * u * (1 - w) + zc * (1 - u) * w + zd * u * w);
      }
    auto labels_for = [&](int64_t count) {
      return t.config().conditional ? torch::full({count}, std::max(0, label), torch::kLong) : torch::Tensor();
    };
    GanExploreView out;
    out.strip = tensor_grid(t.generate(torch::stack(line), labels_for(steps)), steps);
    out.seed_grid = tensor_grid(t.generate(torch::stack(grid), labels_for(n * n)), n);
    explore_.publish(std::move(out));
  });
}

namespace {

constexpr int kNoiseDraws = 32;  // behind the per-pixel standard deviation

void check_psi(double psi) {
  if (!(psi >= -1 && psi <= 1)) throw std::invalid_argument("psi " + std::to_string(psi) + " is not in -1..1");
}

// n x 1 x size x size standard normals from their own seed.
torch::Tensor seeded_maps(uint64_t seed, int64_t n, int size) {
  return torch::randn({n, 1, size, size}, at::detail::createCPUGenerator(seed));
}

}  // namespace

void GanLab::explore_style(const StyleRequest& request) {
  session_.worker().request("gan.style", [this, request](JobContext&) {
    GanTrainer& t = state_->trainer_or_throw();
    StyleGenerator* style = t.stylegan();
    if (!style) return;
    check_psi(request.psi);
    if (request.sources_a.empty() || request.sources_b.empty() || request.sources_a.size() > 16 || request.sources_b.size() > 16)
      throw std::invalid_argument("the mixing grid takes 1..16 sources each way");
    if (request.path_steps < 2 || request.path_steps > 32)
      throw std::invalid_argument("path steps " + std::to_string(request.path_steps) + " is not in 2..32");
    const std::vector<int> mixed = style_layers(request.mix_layers);
    const auto t0 = Clock::now();
    torch::NoGradGuard no_grad;
    style->eval();
    const int latent = t.config().latent;
    const double psi = request.psi;
    auto codes = [&](const std::vector<uint64_t>& seeds) {
      std::vector<torch::Tensor> z;
      for (uint64_t seed : seeds) z.push_back(seeded_noise(seed, 1, latent));
      return torch::cat(z);
    };
    auto draw = [&](const torch::Tensor& ws, const std::vector<torch::Tensor>& noise = {}) {
      return t.to_display(style->synthesize(ws, noise).cpu());
    };
    StyleView out;
    out.request = request;

    // The paper's grid: B across the top, A down the side, A's styles with B's at the mixed layers.
    const int64_t rows = int64_t(request.sources_a.size()), cols = int64_t(request.sources_b.size());
    auto za = codes(request.sources_a), zb = codes(request.sources_b);
    auto a_images = draw(style->styles(za, psi)), b_images = draw(style->styles(zb, psi));
    auto mixes = draw(style->styles(za.repeat_interleave(cols, 0), psi, zb.repeat({rows, 1}), mixed));
    std::vector<torch::Tensor> cells = {torch::zeros_like(a_images[0])};
    for (int64_t c = 0; c < cols; ++c) cells.push_back(b_images[c]);
    for (int64_t r = 0; r < rows; ++r) {
      cells.push_back(a_images[r]);
      for (int64_t c = 0; c < cols; ++c) cells.push_back(mixes[r * cols + c]);
    }
    out.mixing = tensor_grid(torch::stack(cells), int(cols + 1));

    // Truncation: the first source from psi = 1 through w̄ (0) to its opposite (-1).
    out.truncation_psi = {1.0, 0.75, 0.5, 0.25, 0.0, -0.25, -0.5, -0.75, -1.0};
    std::vector<torch::Tensor> truncated;
    for (double p : out.truncation_psi) truncated.push_back(style->styles(za.narrow(0, 0, 1), p));
    out.truncation = tensor_grid(draw(torch::cat(truncated)), int(out.truncation_psi.size()));
    auto mean_ws = style->w_avg().view({1, 1, -1}).expand({1, StyleGenerator::kLayers, -1});
    out.mean_image = tensor_image(draw(mean_ws)[0]);

    // Noise: one image under many noise draws; a layer turned off gets zeros.
    auto ws = style->styles(seeded_noise(request.noise_seed, 1, latent), psi).expand({kNoiseDraws, -1, -1});
    std::vector<torch::Tensor> noise;
    for (int layer = 0; layer < StyleGenerator::kLayers; ++layer) {
      const int size = style->layer_size(layer);
      const bool on = size_t(layer) >= request.noise_on.size() || request.noise_on[size_t(layer)];
      noise.push_back(on ? seeded_maps(request.noise_draw * 101 + uint64_t(layer), kNoiseDraws, size)
                         : torch::zeros({1, 1, size, size}));
      out.noise_strengths.push_back(style->noise_strength(layer));
    }
    auto draws = draw(ws, noise);
    out.noise_draws = tensor_grid(draws.narrow(0, 0, 8), 8);
    auto sd = draws.std(0, /*unbiased=*/false).mean(0, /*keepdim=*/true);  // 1 x H x W
    out.noise_std = tensor_image(sd);
    out.noise_std_max = sd.max().item<float>();

    // z against w: the same two seeds, slerp in z and lerp in w.
    const int steps = request.path_steps;
    auto z0 = seeded_noise(request.path_a, 1, latent).expand({steps, -1}), z1 = seeded_noise(request.path_b, 1, latent).expand({steps, -1});
    auto ts = torch::linspace(0, 1, steps);
    out.z_path = tensor_grid(draw(style->styles(slerp_rows(z0, z1, ts), psi)), steps);
    auto w0 = style->styles(z0, psi), w1 = style->styles(z1, psi);
    out.w_path = tensor_grid(draw(torch::lerp(w0, w1, ts.view({-1, 1, 1}))), steps);
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    style_.publish(std::move(out));
  });
}

void GanLab::measure_path_length(const std::string& classifier, int paths) {
  session_.worker().submit("measure path length", [this, classifier, paths](JobContext& ctx) {
    GanTrainer& t = state_->trainer_or_throw();
    if (t.config().mode != GanMode::Images) throw std::runtime_error("the toy GAN draws points: no images to measure");
    if (paths < 10 || paths > 100000) throw std::invalid_argument("paths " + std::to_string(paths) + " is not in 10..100000");
    SampleQuality& quality = quality_evaluator(session_, classifier);
    PathLengths p = path_lengths(t, [&](const torch::Tensor& x) { return quality.features(x); }, paths, 1,
                                 [&](int64_t done, int64_t total) {
                                   ctx.progress(done, total);
                                   return ctx.step();
                                 });
    if (p.paths == 0) return;  // stopped
    path_length_.publish(PathLengthView{t.step(), p.paths, p.z, p.w});
  });
}

void GanLab::inspect_layers(const LayerRequest& request) {
  session_.worker().request("gan.layers", [this, request](JobContext&) {
    GanTrainer& t = state_->trainer_or_throw();
    if (t.config().mode != GanMode::Images) return;
    check_psi(request.psi);
    const auto t0 = Clock::now();
    const GanConfig& c = t.config();
    torch::Tensor labels = c.conditional ? torch::full({1}, std::clamp(request.label, 0, c.classes - 1), torch::kLong)
                                         : torch::Tensor();
    LayerView out = layer_view(t.activations(seeded_noise(request.seed, 1, c.latent), labels, request.psi), request.layer);
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    layers_.publish(std::move(out));
  });
}

}  // namespace genlab
