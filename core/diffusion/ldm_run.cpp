#include "core/diffusion/ldm_run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "core/diffusion/diffusion_lab.h"
#include "core/diffusion/ldm_lab.h"
#include "core/diffusion/ldm_trainer.h"
#include "core/io/checkpoint.h"
#include "core/metrics/comparable.h"
#include "core/io/gif.h"
#include "core/io/tensors.h"
#include "core/metrics/quality_run.h"
#include "core/train/cli_training.h"

namespace genlab {

const char* const kDefaultHeldOut = "dark sneaker, wide dress, patterned bag";

bool is_latent_kind(const std::string& kind) { return kind == "klae" || kind == "ldm"; }

double train_with_curve(Trainer& trainer, const TrainArgs& request, int64_t per_epoch,
                        std::vector<DiffusionTrainingPoint>& history, const std::function<float()>& last_loss,
                        const std::function<void(const std::string& metrics)>& save, const LogLine& log) {
  const int64_t target = target_step(request, per_epoch);
  float smooth = history.empty() ? 0.f : history.back().smoothed;
  CliTraining run(request, target);
  run.after_step = [&] { smooth = record_loss(history, trainer.step(), last_loss()); };
  run.describe = [&] {
    char text[64];
    snprintf(text, sizeof text, "loss %.4f", smooth);
    return std::string(text);
  };
  run.save = [&] { save(nlohmann::json({{"loss", smooth}}).dump()); };
  return run_cli_training(trainer, run, log);
}

namespace {

std::string train_klae(const TrainArgs& request, const LogLine& log) {
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  LatentAeTrainingConfig config;
  if (request.has("--batch")) config.batch_size = request.batch;
  if (request.has("--lr")) config.learning_rate = request.lr;
  if (request.has("--beta")) config.ae.beta = request.beta;
  config.seed = request.seed;
  LatentAeTrainer trainer(config, data);
  trainer.move_to(training_device(request));
  std::vector<DiffusionTrainingPoint> history;
  if (!request.resume.empty()) history = read_diffusion_curves(trainer.resume(request.resume));
  const int64_t first = trainer.step();
  const double seconds = train_with_curve(
      trainer, request, std::max<int64_t>(1, data->train.count / config.batch_size), history,
      [&] { return trainer.last_loss(); },
      [&](const std::string& metrics) { trainer.save(request.out, metrics, diffusion_curves_json(history)); }, log);
  const auto recon = trainer.test_reconstruction();
  nlohmann::json metrics = {{"loss", history.empty() ? 0.f : history.back().smoothed},
                            {"test_bce", recon.bce}, {"test_psnr", recon.psnr}, {"test_kl", recon.kl},
                            {"train_seconds", seconds}};
  trainer.save(request.out, metrics.dump(), diffusion_curves_json(history));
  return nlohmann::json({{"model", "klae"}, {"steps", trainer.step()}, {"epochs", trainer.epoch()}, {"seconds", seconds},
                         {"images_per_s", double(trainer.step() - first) * config.batch_size / seconds},
                         {"latent", {config.ae.latent_channels, trainer.config().ae.latent_size(), trainer.config().ae.latent_size()}},
                         {"metrics", metrics}, {"out", request.out}, {"interrupted", stop_requested().load()}})
      .dump();
}

}  // namespace

namespace {

// The pairs --hold-out names; without it, kDefaultHeldOut where the data set has those classes.
std::vector<HeldOutPair> held_out_pairs(const TrainArgs& request, const Dataset& data) {
  CaptionSpec names;
  names.class_names = data.class_names;
  if (request.has("--hold-out")) return request.hold_out == "none" ? std::vector<HeldOutPair>() : parse_held_out(request.hold_out, names);
  try {
    return parse_held_out(kDefaultHeldOut, names);
  } catch (const std::invalid_argument&) {
    return {};  // another data set: hold nothing out unless asked
  }
}

std::string train_ldm(const TrainArgs& request, const LogLine& log) {
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  LdmConfig config;
  LatentAutoencoder ae{nullptr};
  if (!request.resume.empty()) {
    // Its own first stage comes back with it; a --autoencoder given as well must agree with it.
    config = read_ldm_config(request.resume);
    if (!request.autoencoder.empty())
      check_autoencoder_matches(config, request.resume, read_latent_ae_config(request.autoencoder).ae, request.autoencoder);
    ae = LatentAutoencoder(config.ae);
  } else {
    if (request.autoencoder.empty())
      throw std::invalid_argument("--model ldm needs --autoencoder KLAE: its first stage (genlab-cli train --model klae --out KLAE)");
    ae = load_latent_autoencoder(request.autoencoder);
    config.autoencoder = request.autoencoder;
    config.captions.held_out = held_out_pairs(request, *data);
    config.hold_out = request.hold_out_mode;
    if (request.has("--width")) config.unet.base = request.width, config.unet.mid = 2 * request.width;
  }
  if (request.has("--batch")) config.batch_size = request.batch;
  if (request.has("--lr")) config.learning_rate = request.lr;
  config.seed = request.seed;
  LdmTrainer trainer(config, ae, data);
  trainer.move_to(training_device(request));
  std::vector<DiffusionTrainingPoint> history;
  if (!request.resume.empty()) history = read_diffusion_curves(trainer.resume(request.resume));
  const int64_t first = trainer.step();
  auto save = [&](const std::string& metrics) { trainer.save(request.out, metrics, diffusion_curves_json(history)); };
  const double seconds =
      train_with_curve(trainer, request, std::max<int64_t>(1, trainer.pool_size() / config.batch_size), history,
                       [&] { return trainer.last_loss(); }, save, log);
  nlohmann::json held = nlohmann::json::array();
  for (const HeldOutPair& p : trainer.config().captions.held_out) held.push_back(trainer.config().captions.pair_text(p));
  nlohmann::json metrics = {{"loss", history.empty() ? 0.f : history.back().smoothed}, {"train_seconds", seconds}};
  save(metrics.dump());
  return nlohmann::json({{"model", "ldm"}, {"steps", trainer.step()}, {"epochs", trainer.epoch()}, {"seconds", seconds},
                         {"images_per_s", double(trainer.step() - first) * config.batch_size / seconds},
                         {"scale_factor", trainer.config().scale_factor}, {"vocabulary", trainer.vocabulary().words().size()},
                         {"held_out", held}, {"hold_out", trainer.config().hold_out},
                         {"held_out_images", trainer.held_out_images()},
                         {"training_images", trainer.pool_size()}, {"metrics", metrics}, {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

}  // namespace

std::string train_latent(const TrainArgs& request, const LogLine& log) {
  return request.model == "klae" ? train_klae(request, log) : train_ldm(request, log);
}

std::string sample_latent(const SampleArgs& args) {
  if (read_checkpoint_info(args.checkpoint).model == "klae")
    throw std::invalid_argument(args.checkpoint + " is the first stage of latent diffusion, it draws no samples (train "
                                "one on it: genlab-cli train --model ldm --autoencoder " + args.checkpoint + ")");
  refuse_options(args, {"--class"}, "a text-to-image model takes --prompt, not a class");
  if (args.n < 1 || args.n > 1024) throw std::invalid_argument("--n " + std::to_string(args.n) + " is not in 1..1024");
  check_samples_path(args.out);
  if (!args.gif.empty() && !ends_with(args.gif, ".gif")) throw std::invalid_argument("--gif " + args.gif + ": name a .gif file");
  LdmConfig config = read_ldm_config(args.checkpoint);
  check_sampling_params(SamplingParams{args.sampler, args.steps, args.cfg, args.eta, -1, args.seed, args.n}, config.T, 0, "--");
  const Vocabulary vocabulary(config.text.words);
  nlohmann::json notes = nlohmann::json::object();
  for (const auto& [option, text] : {std::pair<std::string, std::string>{"prompt", args.prompt}, {"negative", args.negative}}) {
    const Tokens tokens = vocabulary.encode(text, config.text.max_tokens);
    require_known_words(tokens, text);
    if (!tokens.note(config.text.max_tokens).empty()) notes[option] = tokens.note(config.text.max_tokens);
  }
  auto trainer = open_ldm(args.checkpoint);
  const int s = config.unet.latent_size, c = config.unet.latent_channels;
  auto z_T = seeded_noise(args.seed, args.n, c * s * s).view({args.n, c, s, s});
  const int cols = std::min(args.n, 8);
  std::vector<ImageBuffer> frames;
  StepCallback keep_frames;
  if (!args.gif.empty())
    keep_frames = [&](const SamplerStep& step) {
      frames.push_back(tensor_grid(trainer->decode(step.x_next).clamp(0, 1), cols).image);
      return true;
    };
  auto ids = trainer->prompt_ids(std::vector<std::string>(size_t(args.n), args.prompt));
  auto negative = trainer->prompt_ids(std::vector<std::string>(size_t(args.n), args.negative));
  auto result = sample(parse_sampler(args.sampler), trainer->schedule(), trainer->denoiser(ids, negative, args.cfg), z_T,
                       args.steps, args.eta, args.seed + 1, keep_frames, 0);
  if (!args.gif.empty()) write_gif(args.gif, frames);
  nlohmann::json record = {{"checkpoint", args.checkpoint}, {"prompt", args.prompt}, {"negative", args.negative},
                           {"sampler", args.sampler},       {"steps", args.steps},   {"cfg", args.cfg},
                           {"eta", args.eta},               {"seed", args.seed},     {"n", args.n}};
  write_samples(args.out, trainer->decode(result.x).clamp(0, 1), cols, record.dump());
  record["out"] = args.out;
  if (!notes.empty()) record["notes"] = notes;
  if (!args.gif.empty()) record["gif"] = args.gif;
  return record.dump();
}

namespace {

// "a sneaker" for each class, in class order: the prompts the quality figures sample (one
// "" for a model without classes).
std::vector<std::string> prompts_of_classes(const CaptionSpec& spec) {
  std::vector<std::string> prompts;
  for (const std::string& name : spec.class_names) prompts.push_back("a " + class_words(name).front());
  if (prompts.empty()) prompts.push_back("");
  return prompts;
}

// "a dark sneaker": the prompt of an attribute word and a class.
std::string pair_prompt(const CaptionSpec& spec, const HeldOutPair& p) { return "a " + spec.pair_text(p); }

// Class accuracy (the classifier) and attribute accuracy (the caption measures, at the prompted
// class's thresholds) of `per_prompt` samples of each prompt.
nlohmann::json adherence(LdmTrainer& trainer, SampleQuality& quality, const std::vector<HeldOutPair>& pairs, int per_prompt,
                         const EvalArgs& args, double w) {
  const CaptionSpec& spec = trainer.config().captions;
  std::vector<std::string> prompts;
  for (const HeldOutPair& p : pairs) prompts.push_back(pair_prompt(spec, p));
  const int n = int(prompts.size()) * per_prompt;
  Samples samples = ldm_samples(trainer, prompts, args.sampler, args.steps, w)(n, args.seed, {});
  auto bytes = (samples.images * 255).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  const int64_t c = bytes.size(1), h = bytes.size(2), wd = bytes.size(3);
  int attribute_hits = 0;
  for (int i = 0; i < n; ++i) {
    const HeldOutPair& p = pairs[size_t(i) % pairs.size()];
    const auto values = measure_attributes(bytes[i].data_ptr<uint8_t>(), int(c), int(h), int(wd));
    attribute_hits += attribute_bits(values, spec.thresholds_of(p.label))[size_t(p.attribute)] == (p.high ? 1 : 0);
  }
  const QualityReport report = quality.evaluate(samples.images, samples.labels);
  return {{"cfg", w}, {"prompts", prompts.size()}, {"images", n}, {"class_accuracy", report.accuracy},
          {"attribute_accuracy", double(attribute_hits) / n}};
}

}  // namespace

std::string eval_latent(const EvalArgs& args, const LogLine& log) {
  if (read_checkpoint_info(args.checkpoint).model == "klae") {
    LatentAeTrainingConfig config = read_latent_ae_config(args.checkpoint);
    auto data = std::make_shared<const Dataset>(load_dataset(args.dataset.empty() ? checkpoint_dataset(args.checkpoint) : args.dataset));
    LatentAeTrainer trainer(config, data);
    trainer.resume(args.checkpoint);
    const auto r = trainer.test_reconstruction(100000);
    return nlohmann::json{{"checkpoint", args.checkpoint}, {"model", "klae"}, {"step", trainer.step()},
                          {"test_bce", r.bce}, {"test_psnr", r.psnr}, {"test_kl", r.kl}}
        .dump();
  }
  LdmConfig config = read_ldm_config(args.checkpoint);
  if (args.steps < 1 || args.steps > config.T)
    throw std::invalid_argument("--steps " + std::to_string(args.steps) + " is not in 1.." + std::to_string(config.T));
  QualityRun quality(args, log);
  auto trainer = open_ldm(args.checkpoint);
  const CaptionSpec& spec = config.captions;
  const std::vector<std::string> class_prompts = prompts_of_classes(spec);
  nlohmann::json out = quality.header(trainer->step());
  out["quality"] = quality.score(ldm_samples(*trainer, class_prompts, args.sampler, args.steps, args.cfg), args.samples,
                                 "prompts 'a <class>'");
  out["quality"]["sampler"] = args.sampler;
  out["quality"]["steps"] = args.steps;
  out["quality"]["cfg"] = args.cfg;
  out["scale_factor"] = config.scale_factor;
  if (args.cfg_curve && !spec.class_names.empty()) {
    // Seen: every attribute word with every class, but the held-out pairs; held out: those.
    std::vector<HeldOutPair> seen;
    for (int label = 0; label < int(spec.class_names.size()); ++label)
      for (int a = 0; a < kAttributes; ++a)
        for (bool high : {false, true}) {
          const HeldOutPair p{a, high, label};
          bool held = false;
          for (const HeldOutPair& h : spec.held_out) held |= h.attribute == a && h.high == high && h.label == label;
          if (!held) seen.push_back(p);
        }
    nlohmann::json table = nlohmann::json::array();
    for (double w : {0.0, 1.0, 3.0, 5.0}) {
      log("adherence at w = " + std::to_string(w));
      nlohmann::json row = {{"cfg", w}, {"seen", adherence(*trainer, quality.evaluator(), seen,
                                                              std::max(2, args.curve_samples / int(seen.size())), args, w)}};
      if (!spec.held_out.empty())
        row["held_out"] = adherence(*trainer, quality.evaluator(), spec.held_out,
                                    std::max(10, args.curve_samples / int(4 * spec.held_out.size())), args, w);
      table.push_back(row);
    }
    nlohmann::json held = nlohmann::json::array();
    for (const HeldOutPair& p : spec.held_out) held.push_back(pair_prompt(spec, p));
    out["adherence"] = {{"held_out_prompts", held}, {"table", table}};
  }
  out["seconds"] = quality.seconds();
  return out.dump();
}

std::shared_ptr<ComparableModel> comparable_latent(const std::string& path) {
  auto model = std::make_shared<ComparableModel>();
  model->kind = read_checkpoint_info(path).model;
  if (model->kind == "klae") {
    model->not_a_sampler = "a latent diffusion model's autoencoder: it draws samples through an ldm";
    return model;
  }
  std::shared_ptr<LdmTrainer> trainer = open_ldm(path);
  const LdmConfig& config = trainer->config();
  const std::vector<std::string> prompts = prompts_of_classes(config.captions);
  model->classes = int(config.captions.class_names.size());
  model->stages = {config.autoencoder};
  const PromptParams usual;
  model->points = diffusion_curves(config.T, true, usual.sampler, usual.steps, usual.cfg);
  model->source = [trainer, prompts](const ComparePoint& p) {
    return ldm_samples(*trainer, prompts, p.sampler, p.steps, p.cfg);
  };
  return model;
}

}  // namespace genlab
