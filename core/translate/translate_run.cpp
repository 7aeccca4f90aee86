#include "core/translate/translate_run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "core/data/image.h"
#include "core/io/tensors.h"
#include "core/metrics/classifier.h"
#include "core/metrics/quality_run.h"
#include "core/metrics/sample_quality.h"
#include "core/translate/paired_tasks.h"
#include "core/translate/translate_lab.h"
#include "core/translate/translate_trainer.h"
#include "core/train/cli_training.h"

namespace genlab {

namespace {

TranslateConfig config_from(const TrainArgs& a, const Dataset& data) {
  TranslateConfig c;
  c.kind = parse_translate_kind(a.model);
  if (c.kind == TranslateKind::Pix2Pix) {
    refuse_options(a, {"--domains", "--lambda-cycle", "--lambda-identity", "--lambda-cls", "--lambda-rec"},
                   "pix2pix learns a paired task (--task), not domains");
    c.task = parse_task(a.task);
  } else {
    refuse_options(a, {"--task", "--factor", "--lambda-l1"}, a.model + " translates between domains (--domains)");
    if (!a.has("--domains")) throw std::invalid_argument("--domains: " + a.model + " needs the domains it translates between, e.g. --domains Sneaker,\"Ankle boot\"");
    c.domains = parse_domains(a.domains, data, 2);
    if (c.kind == TranslateKind::CycleGan && c.domains.size() != 2)
      throw std::invalid_argument("--domains: CycleGAN translates between two domains, '" + a.domains + "' names " +
                                  std::to_string(c.domains.size()));
    if (c.kind == TranslateKind::CycleGan) refuse_options(a, {"--lambda-cls", "--lambda-rec"}, "StarGAN's weights");
    if (c.kind == TranslateKind::StarGan) refuse_options(a, {"--lambda-cycle", "--lambda-identity"}, "CycleGAN's weights");
  }
  c.superres_factor = a.superres_factor;
  c.skips = a.skips;
  if (a.has("--width")) c.width = a.width;
  if (a.has("--lr")) c.lr = a.lr;
  if (a.has("--batch")) c.batch_size = a.batch;
  c.lambda_l1 = a.lambda_l1;
  c.lambda_cycle = a.lambda_cycle;
  c.lambda_identity = a.lambda_identity;
  c.lambda_cls = a.lambda_cls;
  c.lambda_rec = a.lambda_rec;
  c.seed = a.seed;
  return c;
}

// The checkpoint's model on its data set (or `dataset`), ready to translate.
struct Opened {
  std::shared_ptr<const Dataset> data;
  std::unique_ptr<TranslateTrainer> trainer;
};

Opened open_translation(const std::string& path, std::string dataset) {
  TranslateConfig config = read_translate_config(path);
  if (dataset.empty()) dataset = checkpoint_dataset(path);
  Opened o;
  o.data = std::make_shared<const Dataset>(load_dataset(dataset, {config.height, config.channels}));
  if (o.data->channels != config.channels || o.data->height != config.height)
    throw std::invalid_argument(path + ": made for " + std::to_string(config.channels) + "x" + std::to_string(config.height) +
                                " images, " + dataset + " holds " + std::to_string(o.data->channels) + "x" +
                                std::to_string(o.data->height));
  o.trainer = std::make_unique<TranslateTrainer>(config, o.data);
  o.trainer->resume(path);
  return o;
}

// --to: a domain of the model, by name or class index, as an index into config.domains.
int target_domain(const TranslateConfig& c, const Dataset& data, const std::string& to) {
  const std::vector<int> named = parse_domains(to, data, 1);
  for (size_t i = 0; i < c.domains.size(); ++i)
    if (c.domains[i] == named[0]) return int(i);
  throw std::invalid_argument("--to: '" + to + "' is not one of the model's domains (" + c.title() + ")");
}

nlohmann::json image_figures(const torch::Tensor& out, const torch::Tensor& truth) {
  return {{"l1", mean_l1(out, truth)}, {"psnr", psnr(out, truth)}, {"ssim", ssim(out, truth)}};
}

}  // namespace

std::string train_translate(const TrainArgs& request, const LogLine& log) {
  if (request.parallel.world_size > 1)
    throw std::invalid_argument("--nproc: the image-to-image models train in one process");
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  TranslateTrainer trainer(config_from(request, *data), data);
  trainer.move_to(training_device(request));
  std::vector<TranslateHistoryPoint> history;
  if (!request.resume.empty()) history = read_translate_curves(trainer.resume(request.resume));
  const TranslateConfig& c = trainer.config();
  const int64_t per_epoch = std::max<int64_t>(1, trainer.epoch_images() / trainer.batch_images());
  const int64_t target = target_step(request, per_epoch);
  const int64_t first = trainer.step();
  TranslateStepStats s;
  CliTraining run(request, target);
  run.after_step = [&] {
    s = trainer.last_stats();
    record_step(history, s);
  };
  run.describe = [&] { return describe_step(c.kind, s); };
  run.save = [&] { trainer.save(request.out, "{}", translate_curves_json(history)); };
  const double seconds = run_cli_training(trainer, run, log);
  nlohmann::json last = nlohmann::json::parse(step_json(c.kind, s));
  trainer.save(request.out, nlohmann::json({{"last", last}, {"train_seconds", seconds}}).dump(), translate_curves_json(history));
  return nlohmann::json({{"model", translate_kind_name(c.kind)},
                         {"title", c.title()},
                         {"steps", trainer.step()},
                         {"epochs", trainer.epoch()},
                         {"seconds", seconds},
                         {"images_per_s", double(trainer.step() - first) * double(trainer.batch_images()) / seconds},
                         {"last", last},
                         {"out", request.out},
                         {"interrupted", stop_requested().load()}})
      .dump();
}

std::string evaluate_translation(TranslateTrainer& t, int n, uint64_t seed, SampleQuality* quality) {
  const TranslateConfig& c = t.config();
  nlohmann::json out = {{"model", translate_kind_name(c.kind)}, {"title", c.title()}, {"step", t.step()}, {"seed", seed}};
  if (c.kind == TranslateKind::Pix2Pix) {
    n = int(std::min<int64_t>(n, t.data().test.count));
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) rows[size_t(i)] = i;
    auto truth = t.images(Split::Test, rows);
    const torch::Tensor inputs = seeded_task_input(c, truth, seed);
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < n; i += 250) parts.push_back(t.translate(inputs.slice(0, i, std::min<int64_t>(n, i + 250))));
    auto outputs = torch::cat(parts);
    out["task"] = task_name(c.task);
    out["test_images"] = n;
    out["figures"] = image_figures(outputs, truth);
    if (quality) out["figures"]["fid"] = quality->evaluate(outputs).fid;
    nlohmann::json baselines = nlohmann::json::object();
    auto trivial = task_baselines(c, inputs, truth);
    if (trivial.empty()) {  // edges: no copy of the input to beat; the mean image ignores it
      trivial.push_back({"training mean", image_tensor(mean_image(t.data(), Split::Train)).expand_as(truth)});
    }
    for (const auto& [name, baseline] : trivial) {
      baselines[name] = image_figures(baseline, truth);
      if (quality) baselines[name]["fid"] = quality->evaluate(baseline).fid;
    }
    out["baselines"] = baselines;
    return out.dump();
  }
  // Unpaired: every test image of each domain to every other domain, and back.
  nlohmann::json directions = nlohmann::json::array();
  double share_sum = 0;
  int counted = 0;
  for (int from = 0; from < c.domain_count(); ++from) {
    std::vector<int64_t> rows = t.domain_rows(Split::Test, from);
    if (int(rows.size()) > n) rows.resize(size_t(n));
    if (rows.empty()) continue;
    auto x = t.images(Split::Test, rows);
    for (int to = 0; to < c.domain_count(); ++to) {
      if (to == from) continue;
      // CycleGAN: G maps A -> B (to 1), F maps B -> A (to 0); StarGAN takes the target domain.
      auto y = t.translate(x, to);
      auto back = t.translate(y, from);
      nlohmann::json d = {{"from", c.domain_names[size_t(from)]},
                          {"to", c.domain_names[size_t(to)]},
                          {"images", rows.size()},
                          {"cycle_l1", mean_l1(back, x)},
                          {"silhouette_iou", silhouette_iou(x, y)}};
      if (quality) {  // (FID against the whole test set would mostly count the other classes)
        torch::NoGradGuard no_grad;
        LeNet net = quality->classifier().net;
        net->eval();
        const double share = (net->forward(y).argmax(1) == c.domains[size_t(to)]).to(torch::kDouble).mean().item<double>();
        d["target_share"] = share;
        share_sum += share;
        ++counted;
      }
      directions.push_back(d);
    }
  }
  out["directions"] = directions;
  if (counted > 0) out["mean_target_share"] = share_sum / counted;
  return out.dump();
}

std::string eval_translate(const EvalArgs& args, const LogLine& log) {
  Opened o = open_translation(args.checkpoint, args.dataset);
  std::unique_ptr<SampleQuality> quality;
  if (!args.classifier.empty()) quality = std::make_unique<SampleQuality>(load_classifier(args.classifier), o.data);
  log("evaluating " + o.trainer->config().title() + " on up to " + std::to_string(args.samples) + " test images");
  nlohmann::json out = nlohmann::json::parse(evaluate_translation(*o.trainer, args.samples, args.seed, quality.get()));
  out["checkpoint"] = args.checkpoint;
  out["dataset"] = o.data->spec;
  return out.dump();
}

std::string translate_image(const TranslateArgs& a) {
  if (a.input.empty() == (a.test_index < 0)) throw std::invalid_argument("translate: give --input PICTURE or --test-index N");
  check_samples_path(a.out);
  Opened o = open_translation(a.checkpoint, a.dataset);
  TranslateTrainer& t = *o.trainer;
  const TranslateConfig& c = t.config();
  nlohmann::json result = {{"checkpoint", a.checkpoint}, {"model", translate_kind_name(c.kind)}, {"out", a.out}};
  torch::Tensor x, truth;
  int from = -1;
  if (!a.input.empty()) {
    const ImageFileShape shape = image_file_shape(a.input);
    if (shape.width != c.width_px || shape.height != c.height || (shape.channels >= 3) != (c.channels == 3)) {
      std::cerr << "genlab-cli: note: " << a.input << " is " << shape.width << "x" << shape.height << " with "
                << shape.channels << " channel(s); resized to the model's " << c.height << "x" << c.width_px << ", "
                << c.channels << " channel(s)\n";
      result["resized_from"] = {shape.width, shape.height, shape.channels};
    }
    x = image_tensor(read_image(a.input, c.channels, c.height));
    result["input"] = a.input;
  } else {
    if (a.test_index >= t.data().test.count)
      throw std::invalid_argument("--test-index " + std::to_string(a.test_index) + " is not in 0.." +
                                  std::to_string(t.data().test.count - 1));
    auto image = t.images(Split::Test, {a.test_index});
    result["test_index"] = a.test_index;
    if (c.kind == TranslateKind::Pix2Pix) {
      truth = image;
      x = seeded_task_input(c, image, a.seed);
    } else {
      x = image;
      const int label = t.data().test.labels[size_t(a.test_index)];
      for (size_t i = 0; i < c.domains.size(); ++i)
        if (c.domains[i] == label) from = int(i);
    }
  }
  std::vector<int> targets;
  if (c.kind == TranslateKind::Pix2Pix) {
    refuse_options(a, {"--to"}, "a pix2pix model has no domains");
    targets = {0};
  } else if (!a.to.empty()) {
    targets = {target_domain(c, t.data(), a.to)};
  } else if (c.kind == TranslateKind::CycleGan) {
    targets = {from == 1 ? 0 : 1};  // to the other domain (a picture: A -> B)
  } else {
    for (int d = 0; d < c.domain_count(); ++d) targets.push_back(d);
  }
  std::vector<torch::Tensor> outputs;
  nlohmann::json names = nlohmann::json::array();
  for (int to : targets) {
    outputs.push_back(t.translate(x, to));
    if (c.kind != TranslateKind::Pix2Pix) names.push_back(c.domain_names[size_t(to)]);
  }
  auto images = torch::cat(outputs);
  if (names.size() > 0) result["to"] = names;
  if (truth.defined()) result["to_ground_truth"] = image_figures(images, truth);
  write_samples(a.out, images, int(images.size(0)), result.dump());
  return result.dump();
}

}  // namespace genlab
