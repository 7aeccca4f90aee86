#include "core/train/vae_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/io/safetensors.h"
#include "core/train/run_util.h"
#include "core/metrics/vae_eval.h"
#include "core/train/vae_trainer.h"

namespace genlab {

namespace {

nlohmann::json losses_json(const VaeStepLosses& l) { return {{"recon", l.recon}, {"kl", l.kl}, {"total", l.total}}; }

}  // namespace

std::string train_vae(const VaeTrainRequest& request, const LogLine& log) {
  if (request.out.empty()) throw std::invalid_argument("--out is required");
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset));
  VaeTrainer trainer(request.config, data);
  if (!request.resume.empty()) trainer.resume(request.resume);
  const int64_t target = request.steps > 0 ? request.steps
                                           : int64_t(std::ceil(request.epochs * double(trainer.steps_per_epoch())));
  if (target <= trainer.step()) throw std::invalid_argument("nothing to train: the run is already at step " + std::to_string(trainer.step()));

  auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0, last_save = t0;
  const int64_t first_step = trainer.step();
  double smooth_total = 0;
  VaeStepLosses last;
  while (trainer.step() < target && !stop_requested()) {
    last = step_or_keep([&] { return trainer.train_step(); }, [&] { trainer.save(request.out); }, request.out);
    smooth_total = trainer.step() == first_step + 1 ? last.total : 0.98 * smooth_total + 0.02 * last.total;
    if (seconds_since(last_log) > 2.0 || trainer.step() == target) {
      last_log = std::chrono::steady_clock::now();
      double s = seconds_since(t0);
      double rate = double(trainer.step() - first_step) / s;
      char line[256];
      snprintf(line, sizeof line, "step %lld/%lld  epoch %.2f  loss %.2f (recon %.2f, kl %.2f)  %.0f img/s  ETA %.0f s",
               (long long)trainer.step(), (long long)target, trainer.epoch(), smooth_total, last.recon, last.kl,
               rate * trainer.config().batch_size, double(target - trainer.step()) / std::max(rate, 1e-9));
      log(line);
    }
    if (seconds_since(last_save) > request.checkpoint_every_s) {
      trainer.save(request.out);
      last_save = std::chrono::steady_clock::now();
    }
  }
  const double seconds = seconds_since(t0);
  VaeStepLosses test = trainer.test_losses();
  nlohmann::json metrics = {{"test", losses_json(test)}, {"train_seconds", seconds}};
  trainer.save(request.out, metrics.dump());
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

std::string eval_vae(const VaeEvalRequest& request, const LogLine& log) {
  std::string meta_text;
  VaeConfig config = read_vae_config(request.checkpoint, &meta_text);
  auto meta = nlohmann::json::parse(meta_text);
  std::string spec = !request.dataset.empty() ? request.dataset : meta.value("dataset", std::string("fashion-mnist"));
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
  return out.dump();
}

std::string checkpoint_model_name(const std::string& path) { return read_checkpoint_info(path).model; }

}  // namespace genlab
