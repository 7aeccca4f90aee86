#include "core/train/gan_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/image.h"
#include "core/io/npy.h"
#include "core/io/png_text.h"
#include "core/io/safetensors.h"
#include "core/train/run_util.h"
#include "core/labs/tensors.h"
#include "core/train/gan_trainer.h"

namespace genlab {

std::string train_gan(const GanTrainRequest& request, const LogLine& log) {
  if (request.out.empty()) throw std::invalid_argument("--out is required");
  std::shared_ptr<const Dataset> data;
  if (request.config.mode == GanMode::Images) data = std::make_shared<const Dataset>(load_dataset(request.dataset));
  GanTrainer trainer(request.config, data);
  if (!request.resume.empty()) trainer.resume(request.resume);
  const int64_t per_epoch = data ? std::max<int64_t>(1, data->train.count / (int64_t(request.config.batch_size) * request.config.d_steps)) : 1;
  const int64_t target = request.steps > 0 ? request.steps : int64_t(std::ceil(request.epochs * double(per_epoch)));
  if (target <= trainer.step_count())
    throw std::invalid_argument("nothing to train: the run is already at step " + std::to_string(trainer.step_count()));
  auto t0 = std::chrono::steady_clock::now(), last_log = t0, last_save = t0;
  const int64_t first = trainer.step_count();
  GanStepStats s;
  while (trainer.step_count() < target && !stop_requested()) {
    s = step_or_keep([&] { return trainer.step(); }, [&] { trainer.save(request.out); }, request.out);
    if (seconds_since(last_log) > 2.0 || trainer.step_count() == target) {
      last_log = std::chrono::steady_clock::now();
      double rate = double(trainer.step_count() - first) / seconds_since(t0);
      char line[256];
      snprintf(line, sizeof line, "step %lld/%lld  L_D %.3f  L_G %.3f  D(x) %.2f  D(G(z)) %.2f  %.1f steps/s  ETA %.0f s",
               (long long)trainer.step_count(), (long long)target, s.loss_d, s.loss_g, s.d_real, s.d_fake, rate,
               double(target - trainer.step_count()) / std::max(rate, 1e-9));
      log(line);
    }
    if (seconds_since(last_save) > request.checkpoint_every_s) {
      trainer.save(request.out);
      last_save = std::chrono::steady_clock::now();
    }
  }
  const double seconds = seconds_since(t0);
  nlohmann::json last = {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"value", s.value}, {"d_real", s.d_real}, {"d_fake", s.d_fake}};
  trainer.save(request.out, nlohmann::json({{"last", last}, {"train_seconds", seconds}}).dump());
  const double images = double(trainer.step_count() - first) * request.config.batch_size * (request.config.d_steps + 1);
  if (trainer.config().mode == GanMode::Toy && trainer.config().toy == ToyData::Ring)
    last["modes_covered"] = GanTrainer::ring_modes_covered(trainer.generate(seeded_noise(7, 512, trainer.config().latent)));
  nlohmann::json summary = {
      {"model", "gan"},
      {"mode", request.config.mode == GanMode::Images ? "images" : "toy"},
      {"loss", loss_name(trainer.config().loss)},
      {"conditional", trainer.config().conditional},
      {"steps", trainer.step_count()},
      {"epochs", trainer.epoch()},
      {"seconds", seconds},
      {"samples_per_s", images / seconds},  // real + generated samples that went through D and G
      {"last", last},
      {"out", request.out},
      {"interrupted", stop_requested().load()},
  };
  return summary.dump();
}

std::string sample_gan(const GanSampleRequest& request) {
  if (request.n < 1 || request.n > 4096) throw std::invalid_argument("--n " + std::to_string(request.n) + " is not in 1..4096");
  const bool png = ends_with(request.out, ".png"), npy = ends_with(request.out, ".npy");
  if (!png && !npy) throw std::invalid_argument("--out " + request.out + ": write a .png grid or a .npy array");
  GanConfig config = read_gan_config(request.checkpoint);
  if (config.mode != GanMode::Images) throw std::invalid_argument(request.checkpoint + ": a toy GAN draws points, not images");
  if (request.label >= 0 && (!config.conditional || request.label >= config.classes))
    throw std::invalid_argument("--class " + std::to_string(request.label) +
                                (config.conditional ? " is not in 0.." + std::to_string(config.classes - 1)
                                                    : " needs a conditional GAN"));
  // Sampling needs the architecture, not the images.
  auto shape_only = blank_dataset(config.channels, config.height, config.width_px, config.classes);
  GanTrainer trainer(config, shape_only);
  trainer.resume(request.checkpoint);
  auto z = seeded_noise(request.seed, request.n, config.latent);
  torch::Tensor labels;
  if (config.conditional)
    labels = request.label >= 0 ? torch::full({request.n}, request.label, torch::kLong)
                                : cycling_labels(0, request.n, config.classes);
  auto images = trainer.generate(z, labels).contiguous();
  std::vector<float> values(images.data_ptr<float>(), images.data_ptr<float>() + images.numel());
  if (npy) {
    write_npy_f32(request.out, {request.n, config.channels, config.height, config.width_px}, values);
  } else {
    const int cols = config.conditional && request.label < 0 ? config.classes : int(std::ceil(std::sqrt(request.n)));
    write_png_with_text(request.out,
                        make_image_grid(values.data(), request.n, config.channels, config.height, config.width_px, cols).image,
                        "genlab",
                        nlohmann::json({{"checkpoint", request.checkpoint}, {"n", request.n}, {"seed", request.seed},
                                        {"class", request.label}})
                            .dump());
  }
  return nlohmann::json({{"out", request.out}, {"n", request.n}, {"seed", request.seed}, {"class", request.label},
                         {"step", trainer.step_count()}})
      .dump();
}

}  // namespace genlab
