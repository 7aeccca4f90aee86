#include "core/diffusion/diffusion_run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/diffusion/diffusion_trainer.h"
#include "core/image.h"
#include "core/train/run_util.h"
#include "core/io/gif.h"
#include "core/io/npy.h"
#include "core/labs/sampling_params.h"
#include "core/io/png_text.h"
#include "core/labs/tensors.h"

namespace genlab {

std::string train_ddpm(const DiffusionTrainRequest& request, const LogLine& log) {
  if (request.out.empty()) throw std::invalid_argument("--out is required");
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset));
  DiffusionConfig config;
  config.conditional = request.conditional;
  config.batch_size = request.batch_size;
  config.learning_rate = request.learning_rate;
  config.seed = request.seed;
  DiffusionTrainer trainer(config, data);
  if (!request.resume.empty()) trainer.resume(request.resume);
  const int64_t per_epoch = std::max<int64_t>(1, data->train.count / request.batch_size);
  const int64_t target = request.steps > 0 ? request.steps : int64_t(std::ceil(request.epochs * double(per_epoch)));
  if (target <= trainer.step())
    throw std::invalid_argument("nothing to train: the run is already at step " + std::to_string(trainer.step()));
  auto t0 = std::chrono::steady_clock::now(), last_log = t0, last_save = t0;
  const int64_t first = trainer.step();
  double smooth = 0;
  while (trainer.step() < target && !stop_requested()) {
    const float loss = step_or_keep([&] { return trainer.train_step(); }, [&] { trainer.save(request.out); }, request.out);
    smooth = trainer.step() == first + 1 ? loss : 0.98 * smooth + 0.02 * loss;
    if (seconds_since(last_log) > 5.0 || trainer.step() == target) {
      last_log = std::chrono::steady_clock::now();
      const double rate = double(trainer.step() - first) / seconds_since(t0);
      char line[256];
      snprintf(line, sizeof line, "step %lld/%lld  epoch %.2f  loss %.4f  %.0f img/s  ETA %.0f s", (long long)trainer.step(),
               (long long)target, trainer.epoch(), smooth, rate * request.batch_size,
               double(target - trainer.step()) / std::max(rate, 1e-9));
      log(line);
    }
    if (seconds_since(last_save) > request.checkpoint_every_s) {
      trainer.save(request.out, nlohmann::json({{"loss", smooth}}).dump());
      last_save = std::chrono::steady_clock::now();
    }
  }
  const double seconds = seconds_since(t0);
  nlohmann::json buckets = nlohmann::json::array();
  for (float b : trainer.bucket_losses()) buckets.push_back(std::isfinite(b) ? nlohmann::json(b) : nlohmann::json(nullptr));
  nlohmann::json metrics = {{"loss", smooth}, {"loss_per_t_bucket", buckets}, {"train_seconds", seconds}};
  trainer.save(request.out, metrics.dump());
  return nlohmann::json({{"model", "ddpm"}, {"conditional", request.conditional}, {"steps", trainer.step()},
                         {"epochs", trainer.epoch()}, {"seconds", seconds},
                         {"images_per_s", double(trainer.step() - first) * request.batch_size / seconds},
                         {"metrics", metrics}, {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

std::string sample_ddpm(const DiffusionSampleRequest& request) {
  const SamplingParams& p = request.run.params;
  if (p.n < 1 || p.n > 1024) throw std::invalid_argument("--n " + std::to_string(p.n) + " is not in 1..1024");
  const bool png = ends_with(request.out, ".png"), npy = ends_with(request.out, ".npy");
  if (!png && !npy) throw std::invalid_argument("--out " + request.out + ": write a .png grid or a .npy array");
  const SamplerKind kind = parse_sampler(p.sampler);
  DiffusionConfig config = read_diffusion_config(request.run.checkpoint);
  const int classes = config.unet.classes;
  check_sampling_params(p, config.T, classes, "--");
  if (classes == 0 && p.label >= 0)
    throw std::invalid_argument("--class " + std::to_string(p.label) + " needs a conditional model");
  // Sampling needs the architecture, not the images.
  auto shape_only = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size, classes);
  DiffusionTrainer trainer(config, shape_only);
  trainer.resume(request.run.checkpoint);
  torch::Tensor labels;
  if (classes > 0)
    labels = p.label >= 0 ? torch::full({p.n}, p.label, torch::kLong)
                                : cycling_labels(0, p.n, classes);
  const int size = config.unet.image_size, c = config.unet.channels;
  auto x_T = seeded_noise(p.seed, p.n, c * size * size).view({p.n, c, size, size});
  if (!request.gif.empty() && !ends_with(request.gif, ".gif"))
    throw std::invalid_argument("--gif " + request.gif + ": name a .gif file");
  const int cols = classes > 0 && p.label < 0 ? classes : int(std::ceil(std::sqrt(p.n)));
  std::vector<ImageBuffer> frames;  // x after each step, for --gif
  StepCallback keep_frames;
  if (!request.gif.empty())
    keep_frames = [&frames, cols](const SamplerStep& step) {
      frames.push_back(tensor_grid((step.x_next.clamp(-1, 1) + 1) * 0.5, cols).image);
      return true;
    };
  auto result = sample(kind, trainer.schedule(), trainer.denoiser(labels, p.cfg), x_T, p.steps, p.eta,
                       p.seed + 1, keep_frames, 1.0);
  if (!request.gif.empty()) write_gif(request.gif, frames);
  auto images = ((result.x.clamp(-1, 1) + 1) * 0.5).contiguous();
  std::vector<float> values(images.data_ptr<float>(), images.data_ptr<float>() + images.numel());
  const std::string text = sampling_record_json(request.run);
  if (npy) {
    write_npy_f32(request.out, {p.n, c, size, size}, values);
  } else {
    // The grid carries the parameters that made it, so it can be read back and re-made.
    write_png_with_text(request.out, make_image_grid(values.data(), p.n, c, size, size, cols).image, "genlab", text);
  }
  auto summary = nlohmann::json::parse(text);
  summary["out"] = request.out;
  if (!request.gif.empty()) summary["gif"] = request.gif;
  return summary.dump();
}

}  // namespace genlab
