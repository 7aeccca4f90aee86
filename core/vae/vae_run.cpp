#include "core/metrics/comparable.h"
#include "core/vae/vae_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/io/safetensors.h"
#include "core/io/tensors.h"
#include "core/metrics/quality_run.h"
#include "core/train/cli_training.h"
#include "core/vae/vae_lab.h"
#include "core/vae/vae_eval.h"
#include "core/vae/vae_trainer.h"
#include "core/vae/vq_run.h"

namespace genlab {

namespace {

nlohmann::json losses_json(const VaeStepLosses& l) { return {{"recon", l.recon}, {"kl", l.kl}, {"total", l.total}}; }

// Test -ELBO and the IWAE bound in nats, and the gray-target reconstruction BCE.
nlohmann::json eval_bounds(const EvalArgs& request, const LogLine& log) {
  VaeConfig config = read_vae_config(request.checkpoint);
  const std::string spec = !request.dataset.empty() ? request.dataset : checkpoint_dataset(request.checkpoint);
  auto data = std::make_shared<const Dataset>(load_dataset(spec));
  if (data->channels != config.channels || data->height != config.height || data->width != config.width)
    throw CheckpointError(request.checkpoint + ": trained on " + std::to_string(config.channels) + "x" +
                          std::to_string(config.height) + "x" + std::to_string(config.width) + " images, " + spec +
                          " has " + std::to_string(data->channels) + "x" + std::to_string(data->height) + "x" +
                          std::to_string(data->width));
  VaeTrainer trainer(config, data);
  trainer.resume(request.checkpoint);
  VaeEvalOptions options;
  options.iwae_samples = request.iwae_samples;
  options.iwae_images = request.iwae_images;
  options.seed = request.seed;
  auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  VaeEvalResult r = evaluate_vae(trainer, options, [&](int64_t done, int64_t total) {
    if (seconds_since(last_log) < 2.0) return;
    last_log = std::chrono::steady_clock::now();
    log("eval " + std::to_string(done) + "/" + std::to_string(total));
  });
  nlohmann::json out = {
      {"model", kind_name(config.kind)},
      {"arch", arch_name(config.arch)},
      {"latent", config.latent},
      {"dataset", spec},
      {"step", trainer.step()},
      {"test_images", r.test_images},
      {"recon_bce_gray_first", options.recon_images},
      {"recon_bce_gray", r.recon_bce_gray},
      {"seconds", seconds_since(t0)},
  };
  if (r.has_bounds) {
    out["neg_elbo_nats"] = r.neg_elbo;
    out["kl_nats"] = r.kl;
    out["neg_iwae_nats"] = r.neg_iwae;
    out["iwae_k"] = options.iwae_samples;
    out["iwae_images"] = std::min<int64_t>(options.iwae_images, r.test_images);
  }
  return out;
}

}  // namespace

std::string train_vae(const TrainArgs& request, const LogLine& log) {
  if (is_vq_kind(request.model)) return train_vq(request, log);
  VaeConfig config;
  config.kind = parse_kind(request.model);
  config.arch = parse_arch(request.arch);
  config.recon = parse_recon(request.recon);
  config.binarize = request.binarize;
  if (request.latent > 0) config.latent = request.latent;
  config.beta = request.beta;
  config.learning_rate = request.lr;
  config.batch_size = request.batch;
  config.seed = request.seed;
  config.pixel_weight = request.pixel_weight;
  config.feature_weight = request.feature_weight;
  config.adversarial_weight = request.adversarial_weight;
  config.d_learning_rate = request.lr_d;
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  VaeTrainer trainer(config, data);
  trainer.move_to(training_device(request));
  std::vector<VaeLosses> train_curve, test_curve;
  if (!request.resume.empty()) read_vae_curves(trainer.resume(request.resume), train_curve, test_curve);
  const int64_t target = target_step(request, trainer.steps_per_epoch());
  const int64_t first_step = trainer.step();
  VaeCurveRecorder curve(train_curve);
  VaeStepLosses last;
  CliTraining run(request, target);
  run.after_step = [&] {
    last = trainer.last_losses();
    curve.add({trainer.step(), last.recon, last.kl, last.total});
  };
  run.describe = [&] {
    char text[128];
    snprintf(text, sizeof text, "loss %.2f (recon %.2f, kl %.2f)", train_curve.back().total, last.recon, last.kl);
    return std::string(text);
  };
  run.save = [&] { trainer.save(request.out, "{}", vae_curves_json(train_curve, test_curve)); };
  const double seconds = run_cli_training(trainer, run, log);

  VaeStepLosses test = trainer.test_losses();
  test_curve.push_back({trainer.step(), test.recon, test.kl, test.total});
  nlohmann::json metrics = {{"test", losses_json(test)}, {"train_seconds", seconds}};
  trainer.save(request.out, metrics.dump(), vae_curves_json(train_curve, test_curve));
  nlohmann::json summary = {
      {"model", kind_name(trainer.config().kind)},
      {"arch", arch_name(trainer.config().arch)},
      {"latent", trainer.config().latent},
      {"beta", trainer.config().beta},
      {"dataset", data->spec},
      {"steps", trainer.step()},
      {"epochs", trainer.epoch()},
      {"seconds", seconds},
      {"images_per_s", double(trainer.step() - first_step) * trainer.config().batch_size / seconds},
      {"train_last", losses_json(last)},
      {"test", losses_json(test)},
      {"out", request.out},
      {"interrupted", stop_requested().load()},
  };
  return summary.dump();
}

std::string sample_vae(const SampleArgs& args) {
  if (is_vq_kind(read_checkpoint_info(args.checkpoint).model)) return sample_vq(args);
  if (args.has("--class")) throw std::invalid_argument("--class: " + args.checkpoint + " is not a conditional model");
  if (args.n < 1 || args.n > 4096) throw std::invalid_argument("--n " + std::to_string(args.n) + " is not in 1..4096");
  check_samples_path(args.out);
  const VaeConfig config = read_vae_config(args.checkpoint);
  // Decoding needs the architecture, not the images.
  VaeTrainer trainer(config, blank_dataset(config.channels, config.height, config.width, 0));
  trainer.resume(args.checkpoint);
  // The prior's samples: z ~ N(0, I) decoded, for the AE too (where it shows what an AE cannot make).
  Samples s = vae_prior_samples(trainer)(args.n, args.seed, {});
  write_samples(args.out, s.images, sample_columns(args.n, 0, -1),
                nlohmann::json({{"checkpoint", args.checkpoint}, {"n", args.n}, {"seed", args.seed}}).dump());
  return nlohmann::json({{"out", args.out}, {"n", args.n}, {"seed", args.seed}, {"model", kind_name(config.kind)},
                         {"step", trainer.step()}})
      .dump();
}

std::string eval_vae(const EvalArgs& args, const LogLine& log) {
  if (is_vq_kind(read_checkpoint_info(args.checkpoint).model)) return eval_vq(args, log);
  nlohmann::json out = eval_bounds(args, log);
  if (args.classifier.empty()) return out.dump();
  // With a classifier at hand, the prior samples are scored too.
  QualityRun quality(args, log);
  VaeConfig config = read_vae_config(args.checkpoint);
  VaeTrainer trainer(config, quality.data());
  trainer.resume(args.checkpoint);
  out.update(quality.header(trainer.step()));
  out["prior_samples"] = quality.score(vae_prior_samples(trainer), args.samples, "prior");
  out["seconds"] = quality.seconds();
  return out.dump();
}

std::shared_ptr<ComparableModel> comparable_vae(const std::string& path) {
  const std::string kind = read_checkpoint_info(path).model;
  if (is_vq_kind(kind)) return comparable_vq(path);
  const VaeConfig config = read_vae_config(path);
  auto trainer = std::make_shared<VaeTrainer>(config, blank_dataset(config.channels, config.height, config.width, 0));
  trainer->resume(path);
  auto model = std::make_shared<ComparableModel>();
  model->kind = kind;
  model->points = temperature_curve();  // the AE's too: what its decoder makes of the prior it never had
  model->source = [trainer](const ComparePoint& p) { return vae_prior_samples(*trainer, p.temperature); };
  return model;
}

}  // namespace genlab
