#include "core/metrics/comparable.h"
#include "core/vae/vq_run.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/tensors.h"
#include "core/metrics/quality_run.h"
#include "core/train/cli_training.h"
#include "core/train/history.h"
#include "core/vae/vq_trainer.h"

namespace genlab {

namespace {

nlohmann::json test_json(const VqTestFigures& t) {
  return {{"recon_bce", t.recon_bce}, {"recon_mse", t.recon_mse}, {"perplexity", t.perplexity}, {"used_codes", t.used}};
}

std::string train_vqvae(const TrainArgs& request, const LogLine& log) {
  VqConfig config;
  config.codes = request.codes;
  config.code_dim = request.code_dim;
  config.commitment = request.commitment;
  config.update = parse_update(request.codebook);
  config.restarts = request.restarts;
  config.learning_rate = request.lr;
  config.batch_size = request.batch;
  config.seed = request.seed;
  config.validate();  // K, beta out of range: say so before loading the data
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  VqTrainer trainer(config, data);
  trainer.move_to(training_device(request));
  std::vector<VqCurvePoint> curve;
  if (!request.resume.empty()) curve = read_vq_curve(trainer.resume(request.resume));
  const int64_t target = target_step(request, trainer.steps_per_epoch());
  const int64_t first_step = trainer.step();
  CliTraining run(request, target);
  run.after_step = [&] {
    const VqStepFigures& f = trainer.last();
    curve.push_back({trainer.step(), f.recon, f.commit, f.perplexity, f.used, trainer.restarts()});
    thin_history(curve);
  };
  run.describe = [&] {
    const VqStepFigures& f = trainer.last();
    char text[160];
    snprintf(text, sizeof text, "recon %.2f  commit %.3f  perplexity %.1f  codes used %d/%d  restarted %lld",
             f.recon, f.commit, f.perplexity, f.used, config.codes, (long long)trainer.restarts());
    return std::string(text);
  };
  run.save = [&] { trainer.save(request.out, "{}", vq_curve_json(curve)); };
  const double seconds = run_cli_training(trainer, run, log);
  const VqTestFigures test = trainer.test_figures();
  trainer.save(request.out, nlohmann::json({{"test", test_json(test)}, {"train_seconds", seconds}}).dump(),
               vq_curve_json(curve));
  return nlohmann::json({{"model", "vqvae"}, {"codes", config.codes}, {"code_dim", config.code_dim},
                         {"codebook", update_name(config.update)}, {"restarts", config.restarts},
                         {"dataset", data->spec}, {"steps", trainer.step()}, {"epochs", trainer.epoch()},
                         {"seconds", seconds},
                         {"images_per_s", double(trainer.step() - first_step) * config.batch_size / seconds},
                         {"restarted_codes", trainer.restarts()}, {"test", test_json(test)}, {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

std::string train_prior(const TrainArgs& request, const LogLine& log) {
  if (request.vqvae.empty()) throw std::invalid_argument("--vqvae: the prior needs the VQ-VAE whose codes it models");
  VqPriorConfig config;
  config.vqvae = request.vqvae;
  config.layers = request.layers;
  if (request.has("--width")) config.width = request.width;
  config.learning_rate = request.lr;
  config.batch_size = request.batch;
  config.seed = request.seed;
  VqVae vqvae = load_vqvae(request.vqvae);
  const std::string spec = request.has("--dataset") ? request.dataset : checkpoint_dataset(request.vqvae);
  auto data = std::make_shared<const Dataset>(load_dataset(spec, request.data_options));
  config.classes = int(data->class_names.size());  // class-conditional when the data has labels
  log("encoding the training set with " + request.vqvae);
  VqPriorTrainer trainer(config, vqvae, data);
  trainer.move_to(training_device(request));
  if (!request.resume.empty()) trainer.resume(request.resume);
  const int64_t target = target_step(request, trainer.steps_per_epoch());
  double smooth = 0;
  CliTraining run(request, target);
  run.after_step = [&] { smooth = smooth == 0 ? trainer.last_loss() : 0.98 * smooth + 0.02 * trainer.last_loss(); };
  run.describe = [&] {
    char text[96];
    snprintf(text, sizeof text, "loss %.3f nats per code", smooth);
    return std::string(text);
  };
  run.save = [&] { trainer.save(request.out); };
  const double seconds = run_cli_training(trainer, run, log);
  const double test = trainer.test_loss();
  trainer.save(request.out, nlohmann::json({{"test_nats_per_code", test}, {"train_seconds", seconds}}).dump());
  return nlohmann::json({{"model", "vqprior"}, {"vqvae", request.vqvae}, {"classes", config.classes},
                         {"layers", config.layers}, {"width", config.width}, {"dataset", data->spec},
                         {"steps", trainer.step()}, {"epochs", trainer.epoch()}, {"seconds", seconds},
                         {"train_nats_per_code", smooth}, {"test_nats_per_code", test}, {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

// A prior checkpoint and its VQ-VAE, checked to fit each other.
struct LoadedPrior {
  VqPriorConfig config;
  std::string vqvae_path;
  CodePrior prior{nullptr};
  VqVae vqvae{nullptr};
};

LoadedPrior load_prior(const std::string& path, const std::string& vqvae_given) {
  LoadedPrior p;
  p.config = read_prior_config(path);
  p.vqvae_path = prior_vqvae_path(path, p.config, vqvae_given);
  check_prior_matches(p.config, path, read_vq_config(p.vqvae_path), p.vqvae_path);
  p.vqvae = load_vqvae(p.vqvae_path);
  p.prior = CodePrior(p.config);
  load_module(*p.prior, read_safetensors(path), path);
  p.prior->eval();
  return p;
}

PriorSampling sampling_of(double temperature, int top_k, int codes) {
  PriorSampling s{float(temperature), top_k};
  s.validate(codes);
  return s;
}

}  // namespace

bool is_vq_kind(const std::string& kind) { return kind == "vqvae" || kind == "vqprior"; }

std::string train_vq(const TrainArgs& args, const LogLine& log) {
  return args.model == "vqprior" ? train_prior(args, log) : train_vqvae(args, log);
}

std::string sample_vq(const SampleArgs& args) {
  const std::string kind = read_checkpoint_info(args.checkpoint).model;
  if (kind == "vqvae")
    throw std::invalid_argument(args.checkpoint + ": a VQ-VAE draws samples through a prior over its codes "
                                "(genlab-cli train --model vqprior --vqvae " + args.checkpoint + " --out P.safetensors)");
  if (args.n < 1 || args.n > 4096) throw std::invalid_argument("--n " + std::to_string(args.n) + " is not in 1..4096");
  check_samples_path(args.out);
  LoadedPrior p = load_prior(args.checkpoint, args.vqvae);
  if (args.label >= p.config.classes && args.label >= 0)
    throw std::invalid_argument("--class " + std::to_string(args.label) + " is not in 0.." +
                                std::to_string(p.config.classes - 1));
  const PriorSampling sampling = sampling_of(args.temperature, args.top_k, p.config.codes);
  Samples s = vq_prior_samples(p.prior, p.vqvae, sampling, args.label)(args.n, args.seed, {});
  write_samples(args.out, s.images, sample_columns(args.n, p.config.classes, args.label),
                nlohmann::json({{"checkpoint", args.checkpoint}, {"vqvae", p.vqvae_path}, {"n", args.n},
                                {"seed", args.seed}, {"temperature", args.temperature}, {"top_k", args.top_k}})
                    .dump());
  return nlohmann::json({{"out", args.out}, {"n", args.n}, {"seed", args.seed}, {"model", "vqprior"},
                         {"vqvae", p.vqvae_path}, {"temperature", args.temperature}, {"top_k", args.top_k}})
      .dump();
}

std::string eval_vq(const EvalArgs& args, const LogLine& log) {
  const std::string kind = read_checkpoint_info(args.checkpoint).model;
  const std::string spec = !args.dataset.empty() ? args.dataset : checkpoint_dataset(args.checkpoint);
  if (kind == "vqvae") {
    VqConfig config = read_vq_config(args.checkpoint);
    VqTrainer trainer(config, std::make_shared<const Dataset>(load_dataset(spec)));
    trainer.resume(args.checkpoint);
    log("reconstructing the test set");
    // The first 1000 test images too: the VAE's eval reports its reconstruction BCE over those.
    return nlohmann::json({{"model", "vqvae"}, {"checkpoint", args.checkpoint}, {"dataset", spec},
                           {"step", trainer.step()}, {"codes", config.codes}, {"test", test_json(trainer.test_figures())},
                           {"test_first_1000", test_json(trainer.test_figures(1000))}})
        .dump();
  }
  LoadedPrior p = load_prior(args.checkpoint, args.vqvae);
  auto data = std::make_shared<const Dataset>(load_dataset(spec));
  const PriorSampling sampling = sampling_of(args.temperature, args.top_k, p.config.codes);
  VqPriorTrainer trainer(p.config, p.vqvae, data);
  trainer.resume(args.checkpoint);
  nlohmann::json out = {{"model", "vqprior"}, {"checkpoint", args.checkpoint}, {"vqvae", p.vqvae_path},
                        {"dataset", spec}, {"step", trainer.step()}, {"test_nats_per_code", trainer.test_loss()},
                        {"temperature", args.temperature}, {"top_k", args.top_k}};
  if (args.classifier.empty()) return out.dump();
  QualityRun quality(args, log);
  out.update(quality.header(trainer.step()));
  out["prior_samples"] = quality.score(vq_prior_samples(trainer.prior(), p.vqvae, sampling), args.samples, "prior");
  out["seconds"] = quality.seconds();
  return out.dump();
}

std::shared_ptr<ComparableModel> comparable_vq(const std::string& path) {
  auto model = std::make_shared<ComparableModel>();
  model->kind = read_checkpoint_info(path).model;
  if (model->kind == "vqvae") {
    model->not_a_sampler = "a VQ-VAE draws samples through a prior over its codes (a vqprior checkpoint)";
    return model;
  }
  auto p = std::make_shared<LoadedPrior>(load_prior(path, ""));
  model->classes = p->config.classes;
  model->stages = {p->vqvae_path};
  model->points = temperature_curve();
  model->source = [p](const ComparePoint& point) {
    return vq_prior_samples(p->prior, p->vqvae, sampling_of(point.temperature, 0, p->config.codes));
  };
  return model;
}

}  // namespace genlab
