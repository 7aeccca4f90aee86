// The LeNet-size classifier whose penultimate features define genlab's sample-quality metrics
// (FID-LeNet, precision/recall, accuracy of conditional samples): no Inception network can be had
// offline, so quality is measured in the feature space of a classifier trained on the same data,
// as small-data papers do. Torch header.
#pragma once

#include <torch/torch.h>

#include <string>

namespace genlab {

struct ClassifierConfig {
  int channels = 1, image_size = 28, classes = 10;
  int features = 128;  // the penultimate layer: the space FID and precision/recall live in
  float learning_rate = 1e-3f;
  int batch_size = 128;
  uint64_t seed = 1;

  std::string to_json() const;
  static ClassifierConfig from_json(const std::string& text);  // throws std::invalid_argument
};

// conv 5x5 (32) - ReLU - max-pool - conv 5x5 (64) - ReLU - max-pool - linear (features) - ReLU -
// linear (classes). Takes images in [0, 1].
class LeNetImpl : public torch::nn::Module {
 public:
  explicit LeNetImpl(const ClassifierConfig& config);
  torch::Tensor features(const torch::Tensor& images);  // B x features, after the ReLU
  torch::Tensor head(const torch::Tensor& features);    // features -> B x classes logits
  torch::Tensor forward(const torch::Tensor& images);   // head(features(images))

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(LeNet);

struct LoadedClassifier {
  ClassifierConfig config;
  LeNet net{nullptr};
  double test_accuracy = 0;  // as recorded when it was trained
  std::string path;
};

// Writes the classifier (genlab metadata, model "classifier") atomically.
void save_classifier(LeNet& net, const ClassifierConfig& config, const std::string& dataset_spec,
                     const std::string& metrics_json, const std::string& path);
// Throws CheckpointError naming the path for another model or a broken file.
LoadedClassifier load_classifier(const std::string& path);

}  // namespace genlab
