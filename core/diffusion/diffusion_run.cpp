#include "core/metrics/comparable.h"
#include "core/diffusion/diffusion_run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/diffusion/diffusion_trainer.h"
#include "core/diffusion/distillation.h"
#include "core/data/image.h"
#include "core/diffusion/diffusion_lab.h"
#include "core/diffusion/ldm_run.h"
#include "core/io/checkpoint.h"
#include "core/diffusion/image_editing.h"
#include "core/metrics/quality_run.h"
#include "core/train/cli_training.h"
#include "core/io/gif.h"
#include "core/io/safetensors.h"
#include "core/diffusion/sampling_params.h"
#include "core/io/tensors.h"

namespace genlab {

namespace {

// A distilled student learnt guidance scales 0..w_max: beyond them it would extrapolate.
void check_student_cfg(const DiffusionConfig& config, double cfg) {
  if (config.distilled.steps == 0 || (cfg >= 0 && cfg <= config.distilled.w_max)) return;
  char text[96];
  std::snprintf(text, sizeof text, "--cfg %g is beyond the 0..%g the student learnt", cfg, config.distilled.w_max);
  throw std::invalid_argument(text);
}

// train --model ddpm --teacher T: records the teacher's runs, then trains the student on them.
std::string distill_ddpm(const TrainArgs& request, const LogLine& log) {
  const DiffusionConfig teacher_config = read_diffusion_config(request.teacher);
  const auto& u = teacher_config.unet;
  DiffusionTrainer teacher(teacher_config, blank_dataset(u.channels, u.image_size, u.image_size, u.classes));
  teacher.resume(request.teacher);
  const std::string dataset =
      nlohmann::json::parse(read_checkpoint_info(request.teacher).metadata_json).value("dataset", std::string());
  DistillConfig config;
  config.steps = request.student_steps;
  config.trajectories = request.trajectories;
  config.w_max = request.w_max;
  if (request.has("--batch")) config.batch_size = request.batch;
  if (request.has("--lr")) config.learning_rate = request.lr;
  config.seed = request.seed;
  const std::string name = request.teacher.substr(request.teacher.find_last_of('/') + 1);
  DistillTrainer student(config, teacher, name, dataset);
  const torch::Device device = training_device(request);
  teacher.move_to(device);
  student.move_to(device);
  std::vector<DiffusionTrainingPoint> history;
  if (!request.resume.empty()) history = read_diffusion_curves(student.resume(request.resume));
  const auto started = std::chrono::steady_clock::now();
  auto last_line = started;
  const bool recorded = student.record_trajectories([&](int done, int total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_line > std::chrono::seconds(2) || done == total) {
      last_line = now;
      const double s = std::chrono::duration<double>(now - started).count();
      log("teacher runs " + std::to_string(done) + "/" + std::to_string(total) + "  " +
          std::to_string(int(done / std::max(s, 1e-9))) + " runs/s");
    }
    return !stop_requested().load();
  });
  if (!recorded) throw std::runtime_error("stopped while recording the teacher's runs; nothing was written");
  const double record_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int64_t per_epoch = std::max<int64_t>(1, int64_t(config.trajectories) * config.steps / config.batch_size);
  const double seconds = train_with_curve(
      student, request, per_epoch, history, [&] { return student.last_loss(); },
      [&](const std::string& metrics) { student.save(request.out, metrics, diffusion_curves_json(history)); }, log);
  nlohmann::json metrics = {{"loss", history.back().smoothed},
                            {"record_seconds", record_seconds},
                            {"train_seconds", seconds}};
  student.save(request.out, metrics.dump(), diffusion_curves_json(history));
  return nlohmann::json({{"model", "ddpm"}, {"student_of", request.teacher}, {"student_steps", config.steps},
                         {"trajectories", config.trajectories}, {"steps", student.step()}, {"epochs", student.epoch()},
                         {"seconds", seconds + record_seconds}, {"metrics", metrics}, {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

}  // namespace

std::string train_ddpm(const TrainArgs& request, const LogLine& log) {
  if (is_latent_kind(request.model)) return train_latent(request, log);
  if (!request.teacher.empty()) return distill_ddpm(request, log);
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
  DiffusionConfig config = read_diffusion_config(args.checkpoint);
  // The checkpoint and the settings, as the PNG records them (the CLI's defaults: DDIM, 50 steps,
  // w = 3, every class in turn, 64 samples). A distilled student takes its own DDIM steps.
  const int student = config.distilled.steps;
  if (student) {
    refuse_options(args, {"--sampler", "--steps", "--eta", "--cfg-schedule"},
                   args.checkpoint + " is a distilled student: it takes its own " + std::to_string(student) + " steps");
    check_student_cfg(config, args.cfg);
  }
  const SamplingRecord record{SamplingParams{student ? "ddim" : args.sampler, student ? student : args.steps, args.cfg,
                                             student ? 0.0 : args.eta, args.label, args.seed, args.n, args.cfg_schedule},
                              args.checkpoint};
  const SamplingParams& p = record.params;
  if (p.n < 1 || p.n > 1024) throw std::invalid_argument("--n " + std::to_string(p.n) + " is not in 1..1024");
  check_samples_path(args.out);
  parse_sampler(p.sampler);  // refused before the model loads
  const int classes = config.unet.classes;
  check_sampling_params(p, config.T, classes, "--");
  if (classes == 0 && p.label >= 0)
    throw std::invalid_argument("--class " + std::to_string(p.label) + " needs a conditional model");
  // Sampling needs the architecture, not the images.
  auto shape_only = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size, classes);
  DiffusionTrainer trainer(config, shape_only);
  trainer.resume(args.checkpoint);
  const torch::Tensor labels = sample_labels(p.label, p.n, classes);
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
  const SamplingWalkPlan plan = sampling_walk_plan(config, p.sampler, p.steps);
  auto result = sample_timesteps(plan.kind, trainer.schedule(),
                                 trainer.denoiser(labels, run_guidance(p.cfg_schedule, p.cfg, p.steps, trainer.schedule())),
                                 x_T, plan.timesteps, p.eta, p.seed + 1, keep_frames, plan.clip_x0);
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
  if (config.distilled.steps && args.steps_curve)
    throw std::invalid_argument(args.checkpoint + " is a distilled student: it has no steps curve, only its own " +
                                std::to_string(config.distilled.steps) + " steps");
  check_student_cfg(config, args.cfg);
  QualityRun quality(args, log);
  auto shape = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size, config.unet.classes);
  DiffusionTrainer trainer(config, shape);
  trainer.resume(args.checkpoint);
  nlohmann::json out = quality.header(trainer.step());
  const GuidanceSchedule schedule = parse_guidance_schedule(args.cfg_schedule);
  out["quality"] = quality.score(diffusion_samples(trainer, args.sampler, args.steps, args.cfg, 0, schedule), args.samples,
                                 args.sampler);
  const int student = config.distilled.steps;  // it takes its own DDIM steps
  out["quality"]["sampler"] = student ? "ddim" : args.sampler;
  out["quality"]["steps"] = student ? student : args.steps;
  if (student) out["quality"]["student_of"] = config.distilled.teacher;
  out["quality"]["cfg"] = args.cfg;
  out["quality"]["cfg_schedule"] = schedule.name();
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

namespace {

// A picture of the mask, white (above half grey) where the model fills in, as 1 x 1 x H x W. It
// must be the images' size: a resized mask would move the hole.
torch::Tensor read_mask(const std::string& path, int size) {
  const ImageFileShape shape = image_file_shape(path);
  if (shape.width != size || shape.height != size)
    throw std::invalid_argument("--mask " + path + " is " + std::to_string(shape.width) + "x" + std::to_string(shape.height) +
                                ", the model's images are " + std::to_string(size) + "x" + std::to_string(size));
  return image_tensor(read_image(path, 1, size)).gt(0.5).to(torch::kFloat);
}

}  // namespace

std::string edit_ddpm(const EditArgs& a) {
  if (a.input.empty() == (a.test_index < 0)) throw std::invalid_argument("edit: give --input PICTURE or --test-index N");
  if (a.count < 1 || a.count > 10000) throw std::invalid_argument("--count " + std::to_string(a.count) + " is not in 1..10000");
  if (a.n < 1 || a.n > 64) throw std::invalid_argument("--n " + std::to_string(a.n) + " is not in 1..64");
  check_samples_path(a.out);
  const DiffusionConfig config = read_diffusion_config(a.checkpoint);
  const int size = config.unet.image_size, c = config.unet.channels, classes = config.unet.classes;
  EditSettings e;
  e.strength = a.strength;
  e.resample = a.resample;
  if (!a.mask.empty()) e.mode = EditMode::Inpaint;
  if (a.superres > 0) e.mode = EditMode::SuperRes, e.factor = a.superres;
  if (a.denoise > 0) e.mode = EditMode::Denoise, e.sigma = a.denoise;
  if (a.has("--denoise") && !(a.denoise > 0)) throw std::invalid_argument("--denoise " + std::to_string(a.denoise) + " is not above 0");
  if (a.has("--superres") && a.superres < 2) throw std::invalid_argument("--superres " + std::to_string(a.superres) + " is not 2 or more");
  check_edit_settings(e, size, "--");
  SamplingRecord record{SamplingParams{a.sampler, a.steps, a.cfg, a.eta, a.label, a.seed, a.n, a.cfg_schedule},
                        a.checkpoint, true, e};
  check_sampling_params(record.params, config.T, classes, "--");
  if (classes == 0 && a.label >= 0) throw std::invalid_argument("--class " + std::to_string(a.label) + " needs a conditional model");
  const torch::Tensor mask = a.mask.empty() ? torch::Tensor() : read_mask(a.mask, size);
  // The images to edit, [0, 1], with their originals and classes when they are test images.
  std::vector<torch::Tensor> images, truths;
  std::vector<int> labels;
  nlohmann::json out = nlohmann::json::parse(sampling_record_json(record));
  if (!a.input.empty()) {
    // Super-resolution of a low-res picture: blown up by nearest, its block means are itself.
    const ImageFileShape shape = image_file_shape(a.input);
    const bool low = e.mode == EditMode::SuperRes && shape.width == size / e.factor && shape.height == size / e.factor;
    torch::Tensor image = image_tensor(read_image(a.input, c, low ? size / e.factor : size));
    if (low) image = image.repeat_interleave(e.factor, 2).repeat_interleave(e.factor, 3);
    images.push_back(image);
    labels.push_back(a.label);
    out["input"] = a.input;
  } else {
    const std::string spec = a.dataset.empty() ? checkpoint_dataset(a.checkpoint) : a.dataset;
    const Dataset data = load_dataset(spec, {size, c});
    if (a.test_index + a.count > data.test.count)
      throw std::invalid_argument("--test-index " + std::to_string(a.test_index) + " --count " + std::to_string(a.count) +
                                  " passes the last test image, " + std::to_string(data.test.count - 1));
    for (int64_t i = a.test_index; i < a.test_index + a.count; ++i) {
      auto bytes = torch::from_blob(const_cast<uint8_t*>(data.image(Split::Test, i)), {1, c, size, size}, torch::kUInt8);
      torch::Tensor image = bytes.to(torch::kFloat) / 255;
      truths.push_back(image);
      if (e.mode == EditMode::Denoise)  // the damage to undo: seeded noise of that level, in [-1, 1] units
        image = image + 0.5 * e.sigma * edit_noise(image, a.seed + 99, int(i));
      images.push_back(image);
      labels.push_back(a.label >= 0 || classes == 0 ? a.label : data.test.labels[size_t(i)]);
    }
    out["test_index"] = a.test_index;
    out["count"] = a.count;
  }
  DiffusionTrainer trainer(config, blank_dataset(c, size, size, classes));
  trainer.resume(a.checkpoint);
  const GuidanceCurve curve = run_guidance(a.cfg_schedule, a.cfg, a.steps, trainer.schedule());
  std::vector<torch::Tensor> results;
  std::vector<std::vector<EditScore>> scores;
  for (size_t k = 0; k < images.size(); ++k) {
    const PreparedEdit prepared = prepare_edit(e, images[k].clamp(0, 1), mask);
    // A noisy image's values run past [0, 1]: its reference keeps them.
    const torch::Tensor reference = e.mode == EditMode::Denoise ? images[k] * 2 - 1 : prepared.reference;
    SamplingParams p = record.params;
    p.label = labels[k];
    const torch::Tensor class_labels = sample_labels(p.label, a.n, classes);
    auto x_T = seeded_noise(a.seed + k, a.n, c * size * size).view({a.n, c, size, size});
    auto x = run_edit(parse_sampler(a.sampler), trainer.schedule(), trainer.denoiser(class_labels, curve),
                      e, reference, prepared.known, x_T, a.steps, a.eta, a.seed + k)
                 .x;
    results.push_back(((x + 1) * 0.5).clamp(0, 1));
    if (!truths.empty()) scores.push_back(edit_scores(e, prepared, results.back(), truths[k]));
  }
  if (!scores.empty()) {
    nlohmann::json figures = nlohmann::json::object();
    for (size_t j = 0; j < scores.front().size(); ++j) {
      double psnr_sum = 0, ssim_sum = 0;
      for (const auto& s : scores) psnr_sum += s[j].psnr, ssim_sum += s[j].ssim;
      figures[scores.front()[j].name] = {{"psnr", psnr_sum / double(scores.size())}, {"ssim", ssim_sum / double(scores.size())}};
    }
    out["scores"] = figures;
  }
  write_samples(a.out, torch::cat(results), std::min(a.n, 10), sampling_record_json(record));
  out["out"] = a.out;
  const std::vector<int> walked = edit_timesteps(e, trainer.schedule(), a.steps);
  out["t_start"] = walked.empty() ? 0 : walked.front();
  return out.dump();
}

std::shared_ptr<ComparableModel> comparable_diffusion(const std::string& path) {
  if (is_latent_kind(read_checkpoint_info(path).model)) return comparable_latent(path);
  const DiffusionConfig config = read_diffusion_config(path);
  auto shape = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size, config.unet.classes);
  auto trainer = std::make_shared<DiffusionTrainer>(config, shape);
  trainer->resume(path);
  auto model = std::make_shared<ComparableModel>();
  model->kind = "ddpm";
  model->classes = config.unet.classes;
  const SamplingParams usual;
  model->points = diffusion_curves(config.T, config.unet.classes > 0, usual.sampler, usual.steps, usual.cfg);
  model->source = [trainer](const ComparePoint& p) { return diffusion_samples(*trainer, p.sampler, p.steps, p.cfg); };
  return model;
}

}  // namespace genlab
