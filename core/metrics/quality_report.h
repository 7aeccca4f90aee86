// What the sample-quality metrics report, as plain data the UI can hold. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genlab {

struct QualityReport {
  int samples = 0;
  double fid = 0, precision = 0, recall = 0;
  double accuracy = -1;                // conditional: share classified as the class asked for (-1: none asked)
  std::vector<double> class_accuracy;  // per class asked for
  double label_entropy = 0;            // nats; log(classes) when every class is predicted equally often
  // Variance of the images' Laplacian over that of as many test images: 1 is as sharp as real
  // images, well below 1 the blur of a decoder that averages what it cannot tell apart.
  double sharpness = 0;
  double floor_train_vs_test = 0;      // FID of as many training images against the test set
  double floor_test_vs_test = 0;       // FID of as many test images against other test images
};

struct QualityOptions {
  std::string classifier;  // empty: the shipped Fashion-MNIST classifier
  int samples = 1000;
  int curve_samples = 300;
  std::vector<double> cfg_curve;  // guidance scales for the trade-off curve (diffusion)
  uint64_t seed = 1;
};

// A lab's measurement, published while it runs: the main figure, then (diffusion) the guidance
// trade-off curve point by point.
struct QualityView {
  bool running = false;
  std::string what;                 // e.g. "DPM-Solver++(2M), 20 steps, w = 3"
  std::string classifier;           // path of the LeNet behind the features
  double classifier_accuracy = 0;   // its test accuracy
  int64_t model_step = 0;
  bool has_main = false;
  QualityReport main;
  std::vector<double> curve_cfg;    // guidance scales measured so far
  std::vector<QualityReport> curve;
  std::string error;
};

}  // namespace genlab
