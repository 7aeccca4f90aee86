#include "core/labs/gan_lab.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/labs/autosave.h"
#include "core/labs/history.h"
#include "core/labs/quality_job.h"
#include "core/labs/tensors.h"
#include "core/train/gan_trainer.h"

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
    v.step = t.step_count();
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

  void record(const GanStepStats& s) {
    view.history.push_back({s.step, s.loss_d, s.loss_g, s.value, s.d_real, s.d_fake, s.grad_norm_d, s.grad_norm_g});
    thin_history(view.history);
  }
};

GanLab::GanLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
GanLab::~GanLab() = default;

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
    trainer->resume(path);
    State& s = *state_;
    s.trainer = std::move(trainer);
    s.view = GanLabView{};
    s.view.id = next_stamp();
    s.view.checkpoint = path;
    s.view.saved_step = s.trainer->step_count();
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
  t.save(path, metrics.dump());
}

// The user's save: to their path, which becomes the model's checkpoint.
void save_as(GanTrainer& t, GanLabView& v, const std::string& path) {
  refuse_shipped_path(path);  // the shipped models stay as they came
  save_model(t, v, path);
  v.checkpoint = path;
  v.saved_step = t.step_count();
}

}  // namespace

void GanLab::train(int64_t steps) {
  session_.worker().submit("train GAN", [this, steps](JobContext& ctx) {
    State& s = *state_;
    GanTrainer& t = s.trainer_or_throw();
    torch::AutoGradMode grad(true);
    Autosave autosave(session_, "gan", [&](const std::string& path) {
      save_model(t, s.view, path);
      s.view.autosaved = path;
    });
    SaveMailbox::Open saving(saves_, "gan", [this](const std::string& path) { save(path); });
    const int64_t start = t.step_count();
    auto t0 = Clock::now(), last_publish = Clock::now();
    int64_t since_snapshot = 0;
    while ((steps == 0 || t.step_count() < start + steps) && ctx.step()) {
      if (int loss = loss_.exchange(-1); loss >= 0) t.set_loss(GanLoss(loss));
      if (int k = d_steps_.exchange(-1); k > 0) t.set_d_steps(k);
      float lr_g = lr_g_.exchange(-1.f), lr_d = lr_d_.exchange(-1.f);
      if (lr_g > 0 && lr_d > 0) t.set_learning_rates(lr_g, lr_d);
      if (int optimizer = optimizer_.exchange(-1); optimizer >= 0) t.set_optimizer(GanOptimizer(optimizer));
      GanStepStats stats;
      try {
        stats = t.step();
      } catch (const NonFiniteError& e) {
        // A NaN or inf: the weights are the last good ones. Pause with the message, so the user
        // can change the loss or learning rates and resume.
        ctx.report_error(e.what());
        session_.worker().set_paused(true);
        s.refresh(false);
        view_.publish(s.view);
        continue;
      }
      s.record(stats);
      ctx.progress(t.step_count() - start, steps);  // steps == 0 (play): elapsed time, no ETA
      if (int ms = slow_ms_.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      ++since_snapshot;
      auto now = Clock::now();
      if (now - last_publish > std::chrono::milliseconds(250)) {
        s.view.steps_per_s = double(t.step_count() - start) / std::chrono::duration<double>(now - t0).count();
        s.refresh(since_snapshot >= 50);
        if (since_snapshot >= 50) since_snapshot = 0;
        view_.publish(s.view);
        last_publish = now;
      }
      autosave.tick(ctx);
      if (saves_.serve(ctx, [&](const std::string& path) { save_as(t, s.view, path); })) view_.publish(s.view);
    }
    autosave.finish(ctx);
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
    GanStepStats stats = which == Single::D ? t.step_d() : which == Single::G ? t.step_g() : t.step();
    s.record(stats);
    s.refresh(false);
    view_.publish(s.view);
  });
}

void GanLab::measure_quality(const QualityOptions& options) {
  session_.worker().submit("measure GAN", [this, options](JobContext& ctx) {
    GanTrainer& t = state_->trainer_or_throw();
    if (t.config().mode != GanMode::Images) throw std::runtime_error("the toy GAN draws points: no images to score");
    run_quality_job(ctx, session_, options, t.config().conditional ? "G(z, c), one of each class" : "G(z)",
                    gan_samples(t), {}, t.step_count(), quality_);
  });
}

void GanLab::save(const std::string& path) {
  if (saves_.post("gan", path)) return;  // the training job writes it at the next step
  session_.worker().submit("save " + path, [this, path](JobContext&) {
    State& s = *state_;
    save_as(s.trainer_or_throw(), s.view, path);
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
