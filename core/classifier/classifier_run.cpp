#include "core/classifier/classifier_run.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/metrics/classifier.h"
#include "core/metrics/quality_run.h"
#include "core/metrics/sample_quality.h"

namespace genlab {

std::string train_classifier(const TrainArgs& request, const LogLine& log) {
  if (request.out.empty()) throw std::invalid_argument("--out is required");
  if (request.device != "cpu") throw std::invalid_argument("--device " + request.device + ": the classifier trains on the CPU");
  auto data = std::make_shared<const Dataset>(load_dataset(request.dataset, request.data_options));
  if (data->class_names.size() < 2) throw std::invalid_argument(request.dataset + ": a classifier needs labelled classes");
  if (data->height != data->width) throw std::invalid_argument(request.dataset + ": the classifier takes square images");
  ClassifierConfig config;
  config.channels = data->channels;
  config.image_size = data->height;
  config.classes = int(data->class_names.size());
  if (request.has("--lr")) config.learning_rate = request.lr;
  if (request.has("--batch")) config.batch_size = request.batch;
  config.seed = request.seed;
  torch::manual_seed(config.seed);
  LeNet net(config);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(config.learning_rate));
  auto images = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()),
                                 {data->train.count, data->channels, data->height, data->width}, torch::kUInt8);
  auto labels = torch::tensor(std::vector<int64_t>(data->train.labels.begin(), data->train.labels.end()));
  const int64_t per_epoch = std::max<int64_t>(1, data->train.count / config.batch_size);
  const double epochs = request.has("--epochs") ? request.epochs : 3.0;
  const int64_t total = request.steps > 0 ? request.steps : int64_t(std::ceil(epochs * double(per_epoch)));
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

std::string eval_classifier(const EvalArgs& args, const LogLine&) {
  LoadedClassifier classifier = load_classifier(args.checkpoint);
  const std::string spec = args.dataset.empty() ? checkpoint_dataset(args.checkpoint) : args.dataset;
  auto data = std::make_shared<const Dataset>(load_dataset(spec));
  const double accuracy = SampleQuality(classifier, data).test_accuracy();
  return nlohmann::json{{"checkpoint", args.checkpoint}, {"model", "classifier"}, {"dataset", spec},
                        {"test_accuracy", accuracy}, {"recorded_test_accuracy", classifier.test_accuracy}}
      .dump();
}

}  // namespace genlab
