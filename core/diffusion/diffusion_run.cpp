#include "core/diffusion/diffusion_run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/diffusion/diffusion_trainer.h"
#include "core/data/image.h"
#include "core/diffusion/diffusion_lab.h"
#include "core/diffusion/ldm_run.h"
#include "core/io/checkpoint.h"
#include "core/metrics/quality_run.h"
#include "core/train/cli_training.h"
#include "core/io/gif.h"
#include "core/io/safetensors.h"
#include "core/diffusion/sampling_params.h"
#include "core/io/tensors.h"

namespace genlab {

std::string train_ddpm(const TrainArgs& request, const LogLine& log) {
  if (is_latent_kind(request.model)) return train_latent(request, log);
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  DiffusionConfig config;
  config.conditional = request.conditional;
  if (request.has("--batch")) config.batch_size = request.batch;
  if (request.has("--lr")) config.learning_rate = request.lr;
  config.seed = request.seed;
  DiffusionTrainer trainer(config, data);
  trainer.move_to(training_device(request));
  std::vector<DiffusionTrainingPoint> history;  // the curve goes on from the resumed checkpoint's
  if (!request.resume.empty()) history = read_diffusion_curves(trainer.resume(request.resume));
  const int64_t first = trainer.step();
  const double seconds = train_with_curve(
      trainer, request, std::max<int64_t>(1, data->train.count / config.batch_size), history,
      [&] { return trainer.last_loss(); },
      [&](const std::string& metrics) { trainer.save(request.out, metrics, diffusion_curves_json(history)); }, log);
  const float smooth = history.back().smoothed;

  nlohmann::json buckets = nlohmann::json::array();
  for (float b : trainer.bucket_losses()) buckets.push_back(std::isfinite(b) ? nlohmann::json(b) : nlohmann::json(nullptr));
  nlohmann::json metrics = {{"loss", smooth}, {"loss_per_t_bucket", buckets}, {"train_seconds", seconds}};
  trainer.save(request.out, metrics.dump(), diffusion_curves_json(history));
  return nlohmann::json({{"model", "ddpm"}, {"conditional", request.conditional}, {"steps", trainer.step()},
                         {"epochs", trainer.epoch()}, {"seconds", seconds},
                         {"images_per_s", double(trainer.step() - first) * config.batch_size / seconds},
                         {"metrics", metrics}, {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

std::string sample_ddpm(const SampleArgs& args) {
  if (is_latent_kind(read_checkpoint_info(args.checkpoint).model)) return sample_latent(args);
  // The checkpoint and the settings, as the PNG records them (the CLI's defaults: DDIM, 50 steps,
  // w = 3, every class in turn, 64 samples).
  const SamplingRecord record{SamplingParams{args.sampler, args.steps, args.cfg, args.eta, args.label, args.seed, args.n},
                              args.checkpoint};
  const SamplingParams& p = record.params;
  if (p.n < 1 || p.n > 1024) throw std::invalid_argument("--n " + std::to_string(p.n) + " is not in 1..1024");
  check_samples_path(args.out);
  const SamplerKind kind = parse_sampler(p.sampler);
  DiffusionConfig config = read_diffusion_config(args.checkpoint);
  const int classes = config.unet.classes;
  check_sampling_params(p, config.T, classes, "--");
  if (classes == 0 && p.label >= 0)
    throw std::invalid_argument("--class " + std::to_string(p.label) + " needs a conditional model");
  // Sampling needs the architecture, not the images.
  auto shape_only = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size, classes);
  DiffusionTrainer trainer(config, shape_only);
  trainer.resume(args.checkpoint);
  torch::Tensor labels;
  if (classes > 0)
    labels = p.label >= 0 ? torch::full({p.n}, p.label, torch::kLong)
                                : cycling_labels(0, p.n, classes);
  const int size = config.unet.image_size, c = config.unet.channels;
  auto x_T = seeded_noise(p.seed, p.n, c * size * size).view({p.n, c, size, size});
  if (!args.gif.empty() && !ends_with(args.gif, ".gif"))
    throw std::invalid_argument("--gif " + args.gif + ": name a .gif file");
  const int cols = sample_columns(p.n, classes, p.label);
  std::vector<ImageBuffer> frames;  // x after each step, for --gif
  StepCallback keep_frames;
  if (!args.gif.empty())
    keep_frames = [&frames, cols](const SamplerStep& step) {
      frames.push_back(tensor_grid((step.x_next.clamp(-1, 1) + 1) * 0.5, cols).image);
      return true;
    };
  auto result = sample(kind, trainer.schedule(), trainer.denoiser(labels, p.cfg), x_T, p.steps, p.eta,
                       p.seed + 1, keep_frames, 1.0);
  if (!args.gif.empty()) write_gif(args.gif, frames);
  const std::string text = sampling_record_json(record);
  write_samples(args.out, (result.x.clamp(-1, 1) + 1) * 0.5, cols, text);
  auto summary = nlohmann::json::parse(text);
  summary["out"] = args.out;
  if (!args.gif.empty()) summary["gif"] = args.gif;
  return summary.dump();
}

std::string eval_ddpm(const EvalArgs& args, const LogLine& log) {
  if (is_latent_kind(read_checkpoint_info(args.checkpoint).model)) return eval_latent(args, log);
  DiffusionConfig config = read_diffusion_config(args.checkpoint);
  // Before the data and the classifier load: more steps than the chain has is a typo, not a run.
  if (args.steps < 1 || args.steps > config.T)
    throw std::invalid_argument("--steps " + std::to_string(args.steps) + " is not in 1.." + std::to_string(config.T));
  QualityRun quality(args, log);
  auto shape = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size, config.unet.classes);
  DiffusionTrainer trainer(config, shape);
  trainer.resume(args.checkpoint);
  nlohmann::json out = quality.header(trainer.step());
  out["quality"] = quality.score(diffusion_samples(trainer, args.sampler, args.steps, args.cfg), args.samples, args.sampler);
  out["quality"]["sampler"] = args.sampler;
  out["quality"]["steps"] = args.steps;
  out["quality"]["cfg"] = args.cfg;
  if (config.unet.classes > 0 && args.cfg_curve) {
    nlohmann::json curve = nlohmann::json::array();
    for (double w : {0.0, 1.0, 1.5, 2.0, 3.0, 5.0}) {
      nlohmann::json point = quality.score(diffusion_samples(trainer, args.sampler, args.steps, w), args.curve_samples,
                                           "w = " + std::to_string(w));
      point["cfg"] = w;
      curve.push_back(point);
    }
    out["cfg_curve"] = curve;
  }
  if (args.steps_curve) {
    nlohmann::json curves = nlohmann::json::object();
    for (const char* sampler : {"ddpm", "ddim", "dpmpp2m"})
      for (int steps : {10, 20, 50, 100, config.T}) {
        nlohmann::json point = quality.score(diffusion_samples(trainer, sampler, steps, args.cfg), args.curve_samples,
                                             std::string(sampler) + " " + std::to_string(steps) + " steps");
        point["steps"] = steps;
        curves[sampler].push_back(point);
      }
    out["steps_curve"] = curves;
  }
  out["seconds"] = quality.seconds();
  return out.dump();
}

}  // namespace genlab
