#include "core/metrics/quality_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/diffusion/diffusion_trainer.h"
#include "core/io/safetensors.h"
#include "core/metrics/model_samples.h"
#include "core/metrics/sample_quality.h"
#include "core/models/classifier.h"
#include "core/train/gan_trainer.h"
#include "core/train/run_util.h"
#include "core/train/vae_trainer.h"

namespace genlab {

std::string train_classifier(const ClassifierTrainRequest& request, const LogLine& log) {
  if (request.out.empty()) throw std::invalid_argument("--out is required");
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset));
  if (data->class_names.size() < 2) throw std::invalid_argument(request.dataset + ": a classifier needs labelled classes");
  if (data->height != data->width) throw std::invalid_argument(request.dataset + ": the classifier takes square images");
  ClassifierConfig config;
  config.channels = data->channels;
  config.image_size = data->height;
  config.classes = int(data->class_names.size());
  config.learning_rate = request.learning_rate;
  config.batch_size = request.batch_size;
  config.seed = request.seed;
  torch::manual_seed(config.seed);
  LeNet net(config);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(config.learning_rate));
  auto images = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()),
                                 {data->train.count, data->channels, data->height, data->width}, torch::kUInt8);
  auto labels = torch::tensor(std::vector<int64_t>(data->train.labels.begin(), data->train.labels.end()));
  const int64_t per_epoch = std::max<int64_t>(1, data->train.count / config.batch_size);
  const int64_t total = request.steps > 0 ? request.steps : int64_t(std::ceil(request.epochs * double(per_epoch)));
  auto gen = at::detail::createCPUGenerator(config.seed);
  torch::Tensor order;
  auto t0 = std::chrono::steady_clock::now(), last_log = t0;
  double smooth = 0;
  net->train();
  for (int64_t step = 0; step < total; ++step) {
    const int64_t at = step % per_epoch;
    if (at == 0) order = torch::randperm(data->train.count, gen);  // a new shuffle each epoch
    auto idx = order.slice(0, at * config.batch_size, (at + 1) * config.batch_size);
    auto labelled = labels.index_select(0, idx) >= 0;  // unlabelled images do not teach a classifier
    auto x = images.index_select(0, idx).to(torch::kFloat).div_(255.0);
    auto loss = torch::nn::functional::cross_entropy(net->forward(x.index({labelled})), labels.index_select(0, idx).index({labelled}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    smooth = step == 0 ? loss.item<double>() : 0.98 * smooth + 0.02 * loss.item<double>();
    if (seconds_since(last_log) > 2.0 || step + 1 == total) {
      last_log = std::chrono::steady_clock::now();
      char line[160];
      snprintf(line, sizeof line, "step %lld/%lld  epoch %.2f  loss %.4f", (long long)step + 1, (long long)total,
               double(step + 1) / double(per_epoch), smooth);
      log(line);
    }
  }
  const double seconds = seconds_since(t0);
  LoadedClassifier trained{config, net, 0, request.out};
  const double accuracy = SampleQuality(trained, data).test_accuracy();
  nlohmann::json metrics = {{"test_accuracy", accuracy}, {"train_loss", smooth}};
  save_classifier(net, config, data->spec, metrics.dump(), request.out);
  return nlohmann::json{{"model", "classifier"}, {"dataset", data->spec}, {"steps", total},
                        {"epochs", double(total) / double(per_epoch)}, {"seconds", seconds},
                        {"images_per_s", double(total) * config.batch_size / seconds}, {"metrics", metrics},
                        {"out", request.out}}
      .dump();
}

namespace {

nlohmann::json report_json(const QualityReport& r) {
  nlohmann::json j = {{"samples", r.samples}, {"fid", r.fid}, {"precision", r.precision}, {"recall", r.recall},
                      {"label_entropy", r.label_entropy},
                      {"fid_floors", {{"train_vs_test", r.floor_train_vs_test}, {"test_vs_test", r.floor_test_vs_test}}}};
  if (r.accuracy >= 0) j["accuracy"] = r.accuracy, j["class_accuracy"] = r.class_accuracy;
  return j;
}

// A model, rebuilt from its checkpoint, as a source of samples.
struct LoadedModel {
  std::string kind;
  int64_t step = 0;
  std::unique_ptr<GanTrainer> gan;
  std::unique_ptr<DiffusionTrainer> diffusion;
  std::unique_ptr<VaeTrainer> vae;
};

LoadedModel load_model(const std::string& path, const std::shared_ptr<const Dataset>& data) {
  LoadedModel m;
  m.kind = read_checkpoint_info(path).model;
  if (m.kind == "gan") {
    GanConfig c = read_gan_config(path);
    if (c.mode != GanMode::Images) throw std::invalid_argument(path + ": a toy GAN draws points, not images to score");
    m.gan = std::make_unique<GanTrainer>(c, blank_dataset(c.channels, c.height, c.width_px, c.classes));
    m.gan->resume(path);
    m.step = m.gan->step_count();
  } else if (m.kind == "ddpm") {
    DiffusionConfig c = read_diffusion_config(path);
    auto shape = blank_dataset(c.unet.channels, c.unet.image_size, c.unet.image_size, c.unet.classes);
    m.diffusion = std::make_unique<DiffusionTrainer>(c, shape);
    m.diffusion->resume(path);
    m.step = m.diffusion->step();
  } else if (m.kind == "vae" || m.kind == "ae") {
    m.vae = std::make_unique<VaeTrainer>(read_vae_config(path), data);
    m.vae->resume(path);
    m.step = m.vae->step();
  } else {
    throw std::invalid_argument(path + ": a '" + m.kind + "' model has no samples to score");
  }
  return m;
}

}  // namespace

std::string eval_quality(const QualityEvalRequest& request, const LogLine& log) {
  if (request.samples < 10 || request.curve_samples < 10)
    throw std::invalid_argument("--samples must be at least 10");
  const CheckpointInfo info = read_checkpoint_info(request.checkpoint);
  // Before the data and the classifier load: more steps than the chain has is a typo, not a run.
  if (info.model == "ddpm") {
    const int T = read_diffusion_config(request.checkpoint).T;
    if (request.steps < 1 || request.steps > T)
      throw std::invalid_argument("--steps " + std::to_string(request.steps) + " is not in 1.." + std::to_string(T));
  }
  auto meta = nlohmann::json::parse(info.metadata_json, nullptr, false);
  const std::string spec = !request.dataset.empty()                      ? request.dataset
                           : meta.is_object() && meta.contains("dataset") ? meta["dataset"].get<std::string>()
                                                                          : "fashion-mnist";
  auto data = std::make_shared<const Dataset>(load_dataset(spec));
  SampleQuality quality(load_classifier(request.classifier), data);
  LoadedModel model = load_model(request.checkpoint, data);
  auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  auto progress = [&](const std::string& what) {
    return [&, what](int64_t done, int64_t total) {
      if (seconds_since(last_log) > 5.0) {
        last_log = std::chrono::steady_clock::now();
        log(what + ": " + std::to_string(done) + "/" + std::to_string(total) + " samples");
      }
      return true;
    };
  };
  auto score = [&](const SampleSource& source, int n, const std::string& what) {
    Samples s = source(n, request.seed, progress(what));
    return report_json(quality.evaluate(s.images, s.labels));
  };

  nlohmann::json out = {{"checkpoint", request.checkpoint}, {"model", model.kind}, {"step", model.step},
                        {"dataset", spec},
                        {"classifier", {{"path", request.classifier}, {"test_accuracy", quality.test_accuracy()}}}};
  if (model.gan) {
    out["quality"] = score(gan_samples(*model.gan), request.samples, "GAN");
  } else if (model.vae) {
    out["prior_samples"] = score(vae_prior_samples(*model.vae), request.samples, "prior");
  } else {
    DiffusionTrainer& d = *model.diffusion;
    out["quality"] = score(diffusion_samples(d, request.sampler, request.steps, request.cfg), request.samples,
                           request.sampler);
    out["quality"]["sampler"] = request.sampler;
    out["quality"]["steps"] = request.steps;
    out["quality"]["cfg"] = request.cfg;
    if (d.config().unet.classes > 0) {
      nlohmann::json curve = nlohmann::json::array();
      for (double w : request.cfg_curve) {
        nlohmann::json point = score(diffusion_samples(d, request.sampler, request.steps, w), request.curve_samples,
                                     "w = " + std::to_string(w));
        point["cfg"] = w;
        curve.push_back(point);
      }
      out["cfg_curve"] = curve;
    }
    if (request.steps_curve) {
      nlohmann::json curves = nlohmann::json::object();
      for (const char* sampler : {"ddpm", "ddim", "dpmpp2m"})
        for (int steps : {10, 20, 50, 100, d.config().T}) {
          nlohmann::json point = score(diffusion_samples(d, sampler, steps, request.cfg), request.curve_samples,
                                       std::string(sampler) + " " + std::to_string(steps) + " steps");
          point["steps"] = steps;
          curves[sampler].push_back(point);
        }
      out["steps_curve"] = curves;
    }
  }
  out["seconds"] = seconds_since(t0);
  return out.dump();
}

}  // namespace genlab
