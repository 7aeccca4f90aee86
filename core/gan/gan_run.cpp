#include "core/metrics/comparable.h"
#include "core/gan/gan_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/gan/gan_lab.h"
#include "core/gan/gan_trainer.h"
#include "core/io/tensors.h"
#include "core/metrics/quality_run.h"
#include "core/train/cli_training.h"

namespace genlab {

std::string train_gan(const TrainArgs& request, const LogLine& log) {
  if (request.parallel.world_size > 1 && request.model != "gan")
    throw std::invalid_argument("--nproc: ProGAN and StyleGAN train in one process");
  GanConfig config;
  config.arch = arch_of_kind(request.model);
  config.conditional = request.conditional;
  config.loss = parse_loss(request.loss);
  config.optimizer = parse_optimizer(request.optimizer);
  if (!request.toy.empty()) {
    config.mode = GanMode::Toy;
    config.toy = parse_toy(request.toy);
    config.latent = 8;
    config.batch_size = 256;
  }
  if (request.latent > 0) config.latent = request.latent;
  config.lr_g = request.lr_g;
  config.lr_d = request.lr_d;
  if (config.arch != GanArch::Dcgan) {
    // Equalised learning rate with Adam(0, 0.99) trains at 1e-3 (the ProGAN paper's rate).
    if (!request.has("--lr-g")) config.lr_g = 1e-3f;
    if (!request.has("--lr-d")) config.lr_d = 1e-3f;
    config.width = 32;
  }
  if (request.has("--width")) config.width = request.width;
  if (request.has("--batch")) config.batch_size = request.batch;
  config.stage_steps = request.stage_steps;
  config.fade_steps = request.fade_steps;
  config.mapping_depth = request.mapping_depth;
  config.w_dim = request.w_dim;
  config.mixing_prob = request.mixing_prob;
  config.r1_gamma = request.r1_gamma >= 0 ? request.r1_gamma : default_r1_gamma(config.arch);
  config.layout = parse_layout(request.layout);
  config.real_label = request.real_label;
  config.g_ema = request.g_ema;
  config.d_steps = request.d_steps;
  // WGAN-GP's critic needs several steps per generator step (n_critic = 5 in the paper).
  if (config.loss == GanLoss::WassersteinGP && !request.has("--d-steps")) config.d_steps = 5;
  config.seed = request.seed;
  std::shared_ptr<const Dataset> data;
  if (config.mode == GanMode::Images) data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  GanTrainer trainer(config, data);
  trainer.move_to(training_device(request));
  std::vector<GanHistoryPoint> history;  // the curves go on from the resumed checkpoint's
  if (!request.resume.empty()) history = read_gan_curves(trainer.resume(request.resume));
  const int64_t per_epoch = data ? std::max<int64_t>(1, data->train.count / (int64_t(config.batch_size) * config.d_steps)) : 1;
  const int64_t target = target_step(request, per_epoch);
  const int64_t first = trainer.step();
  GanStepStats s;
  CliTraining run(request, target);
  run.after_step = [&] {
    s = trainer.last_stats();
    record_step(history, s);
  };
  run.describe = [&] {
    char text[128];
    snprintf(text, sizeof text, "L_D %.3f  L_G %.3f  D(x) %.2f  D(G(z)) %.2f", s.loss_d, s.loss_g, s.d_real, s.d_fake);
    std::string line = text;
    if (trainer.config().arch == GanArch::ProGan) {  // where the growth is
      const Growth g = trainer.growth();
      const int size = g.resolution(trainer.config().height);
      snprintf(text, sizeof text, "  %dx%d%s", size, size, g.fading() ? "" : " stable");
      line += text;
      if (g.fading()) line += " fading in, alpha " + std::to_string(g.alpha).substr(0, 4);
    }
    return line;
  };
  run.save = [&] { trainer.save(request.out, "{}", gan_curves_json(history)); };
  const double seconds = run_cli_training(trainer, run, log);

  nlohmann::json last = {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"value", s.value}, {"d_real", s.d_real}, {"d_fake", s.d_fake}};
  trainer.save(request.out, nlohmann::json({{"last", last}, {"train_seconds", seconds}}).dump(),
               gan_curves_json(history));
  const double images = double(trainer.step() - first) * config.batch_size * (config.d_steps + 1);
  if (trainer.config().mode == GanMode::Toy && trainer.config().toy == ToyData::Ring)
    last["modes_covered"] = GanTrainer::ring_modes_covered(trainer.generate(seeded_noise(7, 512, trainer.config().latent)));
  nlohmann::json summary = {
      {"model", config.kind()},
      {"mode", config.mode == GanMode::Images ? "images" : "toy"},
      {"loss", loss_name(trainer.config().loss)},
      {"conditional", trainer.config().conditional},
      {"steps", trainer.step()},
      {"epochs", trainer.epoch()},
      {"seconds", seconds},
      {"samples_per_s", images / seconds},  // real + generated samples that went through D and G
      {"last", last},
      {"out", request.out},
      {"resolution", trainer.growth().resolution(trainer.config().height)},
      {"interrupted", stop_requested().load()},
  };
  return summary.dump();
}

std::string sample_gan(const SampleArgs& request) {
  if (request.n < 1 || request.n > 4096) throw std::invalid_argument("--n " + std::to_string(request.n) + " is not in 1..4096");
  check_samples_path(request.out);
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
  const int cols = sample_columns(request.n, config.conditional ? config.classes : 0, request.label);
  if (request.has("--mix-layers") && request.mix_from < 0)
    throw std::invalid_argument("--mix-layers needs --mix-from SEED: whose styles to take");
  nlohmann::json record = {{"checkpoint", request.checkpoint}, {"n", request.n}, {"seed", request.seed}, {"class", request.label}};
  torch::Tensor images;
  if (StyleGenerator* style = trainer.stylegan()) {
    // Every sample takes the styles of --mix-layers from the same second z, as the paper's grid's rows.
    std::vector<int> mixed = request.mix_from >= 0 ? style_layers(request.mix_layers) : std::vector<int>();
    auto z_mix = request.mix_from >= 0 ? seeded_noise(uint64_t(request.mix_from), 1, config.latent).expand({request.n, -1})
                                       : torch::Tensor();
    torch::NoGradGuard no_grad;
    style->eval();
    images = trainer.to_display(style->synthesize(style->styles(z, request.psi, z_mix, mixed)).cpu());
    record["psi"] = request.psi;
    if (request.mix_from >= 0) record["mix_from"] = request.mix_from, record["mix_layers"] = request.mix_layers;
  } else {
    refuse_options(request, {"--psi", "--mix-from", "--mix-layers"},
                   request.checkpoint + " is not a StyleGAN: it has no w to truncate or mix");
    images = trainer.generate(z, labels);
  }
  write_samples(request.out, images, cols, record.dump());
  record["out"] = request.out;
  record["step"] = trainer.step();
  record.erase("checkpoint");
  return record.dump();
}


std::string eval_gan(const EvalArgs& args, const LogLine& log) {
  GanConfig config = read_gan_config(args.checkpoint);
  if (config.mode != GanMode::Images)
    throw std::invalid_argument(args.checkpoint + ": a toy GAN draws points, not images to score");
  QualityRun quality(args, log);
  GanTrainer trainer(config, blank_dataset(config.channels, config.height, config.width_px, config.classes));
  trainer.resume(args.checkpoint);
  nlohmann::json out = quality.header(trainer.step());
  out["quality"] = quality.score(gan_samples(trainer), args.samples, "GAN");
  // Perceptual path length in the same feature space, over as many paths as samples.
  PathLengths ppl = path_lengths(trainer, [&](const torch::Tensor& x) { return quality.evaluator().features(x); },
                                 args.samples, args.seed);
  out["path_length"] = {{"z", ppl.z}, {"paths", ppl.paths}, {"eps", 1e-4}, {"space", "FID-LeNet classifier features"}};
  if (ppl.w >= 0) out["path_length"]["w"] = ppl.w;
  out["seconds"] = quality.seconds();
  return out.dump();
}

std::shared_ptr<ComparableModel> comparable_gan(const std::string& path) {
  const GanConfig config = read_gan_config(path);
  auto model = std::make_shared<ComparableModel>();
  model->kind = config.kind();
  if (config.mode != GanMode::Images) {
    model->not_a_sampler = "a toy GAN draws points, not images";
    return model;
  }
  auto trainer = std::make_shared<GanTrainer>(config, blank_dataset(config.channels, config.height, config.width_px, config.classes));
  trainer->resume(path);
  model->classes = config.conditional ? config.classes : 0;
  // ProGAN normalises z onto the sphere first (pixel norm), so shrinking z changes nothing and it has
  // no mean w to pull toward: one point.
  model->points = truncation_curve();
  if (config.arch == GanArch::ProGan) model->points = {model->points.back()};
  model->source = [trainer](const ComparePoint& p) { return gan_samples(*trainer, p.psi); };
  return model;
}

}  // namespace genlab
