#include "core/metrics/sample_quality.h"

#include <cmath>

namespace genlab {

double laplacian_variance(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const int64_t c = images.size(1);
  auto kernel = torch::tensor({0.f, 1.f, 0.f, 1.f, -4.f, 1.f, 0.f, 1.f, 0.f}).view({1, 1, 3, 3}).repeat({c, 1, 1, 1});
  auto lap = torch::nn::functional::conv2d(images.to(torch::kFloat).cpu(), kernel,
                                           torch::nn::functional::Conv2dFuncOptions().groups(c));
  return lap.flatten(1).var(1).mean().item<double>();
}

SampleQuality::SampleQuality(LoadedClassifier classifier, std::shared_ptr<const Dataset> data)
    : classifier_(std::move(classifier)), data_(std::move(data)) {
  const ClassifierConfig& c = classifier_.config;
  if (!data_ || data_->test.count < 4) throw std::invalid_argument("sample quality needs a data set with test images");
  if (c.channels != data_->channels || c.image_size != data_->height || c.image_size != data_->width ||
      c.classes != int(data_->class_names.size()))
    throw std::invalid_argument(classifier_.path + ": classifies " + std::to_string(c.channels) + "x" +
                                std::to_string(c.image_size) + "x" + std::to_string(c.image_size) + " images of " +
                                std::to_string(c.classes) + " classes, not " + data_->source + "'s");
  test_features_ = features(split_images(Split::Test, 0, data_->test.count));
  test_stats_ = feature_stats(test_features_);
}

torch::Tensor SampleQuality::split_images(Split split, int64_t first, int64_t count) const {
  const ImageSet& s = data_->split(split);
  auto bytes = torch::from_blob(const_cast<uint8_t*>(s.pixels.data()),
                                {s.count, data_->channels, data_->height, data_->width}, torch::kUInt8);
  return bytes.slice(0, first, first + count).to(torch::kFloat) / 255.0;
}

torch::Tensor SampleQuality::features(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  classifier_.net->eval();
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < images.size(0); i += 500)
    parts.push_back(classifier_.net->features(images.slice(0, i, std::min(i + 500, images.size(0)))));
  return torch::cat(parts);
}

QualityReport SampleQuality::evaluate(const torch::Tensor& images, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  QualityReport r;
  r.samples = int(images.size(0));
  auto f = features(images);
  r.fid = frechet_distance(feature_stats(f), test_stats_);
  // Precision/recall against as many test images as there are samples: both sets the same size.
  const int64_t n = std::min<int64_t>(f.size(0), test_features_.size(0));
  PrecisionRecall pr = precision_recall(test_features_.slice(0, 0, n), f);
  r.precision = pr.precision;
  r.recall = pr.recall;
  auto guessed = classifier_.net->head(f).argmax(1);
  const int classes = classifier_.config.classes;
  auto histogram = torch::bincount(guessed, {}, classes).to(torch::kDouble) / double(r.samples);
  r.label_entropy = -(histogram * (histogram + 1e-12).log()).sum().item<double>();
  const int64_t real = std::min<int64_t>(r.samples, data_->test.count);
  r.sharpness = laplacian_variance(images) / std::max(1e-12, laplacian_variance(split_images(Split::Test, 0, real)));
  if (labels.defined()) {
    auto hit = (guessed == labels).to(torch::kDouble);
    r.accuracy = hit.mean().item<double>();
    for (int c = 0; c < classes; ++c) {
      auto asked = labels == c;
      const int64_t count = asked.sum().item<int64_t>();
      r.class_accuracy.push_back(count > 0 ? hit.masked_select(asked).mean().item<double>() : -1.0);
    }
  }
  if (!floors_.count(r.samples)) floors_[r.samples] = floors(r.samples);
  r.floor_train_vs_test = floors_[r.samples].train_vs_test;
  r.floor_test_vs_test = floors_[r.samples].test_vs_test;
  return r;
}

SampleQuality::Floors SampleQuality::floors(int n) {
  Floors out;
  const int64_t train_n = std::min<int64_t>(n, data_->train.count);
  out.train_vs_test = frechet_distance(feature_stats(features(split_images(Split::Train, 0, train_n))), test_stats_);
  const int64_t half = std::min<int64_t>(n, data_->test.count / 2);
  out.test_vs_test = frechet_distance(feature_stats(test_features_.slice(0, 0, half)),
                                      feature_stats(test_features_.slice(0, data_->test.count - half)));
  return out;
}

double SampleQuality::test_accuracy() {
  torch::NoGradGuard no_grad;
  auto labels = torch::tensor(std::vector<int64_t>(data_->test.labels.begin(), data_->test.labels.end()));
  return (classifier_.net->head(test_features_).argmax(1) == labels).to(torch::kDouble).mean().item<double>();
}

}  // namespace genlab
