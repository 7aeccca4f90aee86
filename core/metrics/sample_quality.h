// Sample quality in a classifier's feature space: FID-LeNet with its floors, k-NN precision and
// recall, the share of conditional samples classified as the class they were asked for, and the
// entropy of the predicted-label histogram (a collapsed model piles onto few labels). Torch header.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/metrics/fid.h"
#include "core/metrics/quality_report.h"
#include "core/metrics/classifier.h"

namespace genlab {

// Mean over images of the variance of their 3x3 Laplacian (per channel), for N x C x H x W in [0, 1]:
// the high-frequency energy blur removes.
double laplacian_variance(const torch::Tensor& images);

class SampleQuality {
 public:
  // Checks that the classifier takes the data set's images (channels, size, classes).
  SampleQuality(LoadedClassifier classifier, std::shared_ptr<const Dataset> data);

  // N x C x H x W images in [0, 1] -> N x features, in batches.
  torch::Tensor features(const torch::Tensor& images);
  // `labels`: the classes the samples were asked for (undefined for an unconditional model). The
  // report's floors are those of as many samples.
  QualityReport evaluate(const torch::Tensor& images, const torch::Tensor& labels = {});

  // What a perfect generator of `n` samples would score: n training images against the test set,
  // and n test images against n other test images.
  struct Floors {
    double train_vs_test = 0, test_vs_test = 0;
  };
  Floors floors(int n);
  double test_accuracy();  // the classifier on the whole test set (from the cached test features)
  const LoadedClassifier& classifier() const { return classifier_; }

 private:
  torch::Tensor split_images(Split split, int64_t first, int64_t count) const;  // [0, 1]

  LoadedClassifier classifier_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor test_features_;
  FeatureStats test_stats_;
  std::map<int, Floors> floors_;  // by sample count
};

}  // namespace genlab
