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

}  // namespace genlab
