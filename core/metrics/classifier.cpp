#include "core/metrics/classifier.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"

namespace genlab {

std::string ClassifierConfig::to_json() const {
  return nlohmann::json{{"channels", channels}, {"image_size", image_size}, {"classes", classes},
                        {"features", features}, {"learning_rate", learning_rate}, {"batch_size", batch_size},
                        {"seed", seed}}
      .dump();
}

ClassifierConfig ClassifierConfig::from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("classifier config is not a JSON object");
  ClassifierConfig c;
  try {
    c.channels = j.at("channels").get<int>();
    c.image_size = j.at("image_size").get<int>();
    c.classes = j.at("classes").get<int>();
    c.features = j.at("features").get<int>();
    c.learning_rate = j.at("learning_rate").get<float>();
    c.batch_size = j.at("batch_size").get<int>();
    c.seed = j.at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("classifier config: ") + e.what());
  }
  if (c.channels < 1 || c.channels > 4 || c.image_size < 8 || c.image_size > 512 || c.classes < 2 ||
      c.classes > 1000 || c.features < 2 || c.features > 4096)
    throw std::invalid_argument("classifier config out of range: " + text);
  return c;
}

LeNetImpl::LeNetImpl(const ClassifierConfig& c) {
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.channels, 32, 5).padding(2)));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 5).padding(2)));
  const int pooled = c.image_size / 4;
  fc1_ = register_module("fc1", torch::nn::Linear(64 * pooled * pooled, c.features));
  fc2_ = register_module("fc2", torch::nn::Linear(c.features, c.classes));
}

torch::Tensor LeNetImpl::features(const torch::Tensor& images) {
  auto h = torch::max_pool2d(torch::relu(conv1_->forward(images)), 2);
  h = torch::max_pool2d(torch::relu(conv2_->forward(h)), 2);
  return torch::relu(fc1_->forward(h.flatten(1)));
}

torch::Tensor LeNetImpl::head(const torch::Tensor& features) { return fc2_->forward(features); }

torch::Tensor LeNetImpl::forward(const torch::Tensor& images) { return head(features(images)); }

void save_classifier(LeNet& net, const ClassifierConfig& config, const std::string& dataset_spec,
                     const std::string& metrics_json, const std::string& path) {
  nlohmann::json meta = {{"format", "genlab-checkpoint-1"}, {"model", "classifier"},
                         {"config", nlohmann::json::parse(config.to_json())}, {"dataset", dataset_spec},
                         {"metrics", nlohmann::json::parse(metrics_json)}};
  write_safetensors(path, module_to_safetensors(*net, meta.dump()));
}

LoadedClassifier load_classifier(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "classifier")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not a classifier");
  LoadedClassifier out;
  try {
    out.config = ClassifierConfig::from_json(info.config_json);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
  out.net = LeNet(out.config);
  load_module(*out.net, read_safetensors(path), path);
  out.net->eval();
  auto meta = nlohmann::json::parse(info.metadata_json, nullptr, false);
  if (meta.is_object() && meta.contains("metrics") && meta["metrics"].is_object())
    out.test_accuracy = meta["metrics"].value("test_accuracy", 0.0);
  out.path = path;
  return out;
}

}  // namespace genlab
