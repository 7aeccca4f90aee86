// The jobs behind `genlab-cli train --model classifier` and the sample-quality part of
// `genlab-cli eval` (GAN, diffusion, and a VAE's prior samples); torch-free so the CLI stays cheap
// to compile. Results are JSON text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/train/vae_run.h"

namespace genlab {

struct ClassifierTrainRequest {
  std::string dataset = "fashion-mnist";
  double epochs = 3;
  int64_t steps = 0;  // overrides epochs when > 0
  int batch_size = 128;
  float learning_rate = 1e-3f;
  uint64_t seed = 1;
  std::string out;
};

// Trains the LeNet, writes `out` with its test accuracy; JSON with steps, seconds, images/s, accuracy.
std::string train_classifier(const ClassifierTrainRequest& request, const LogLine& log);

struct QualityEvalRequest {
  std::string checkpoint;
  std::string classifier;  // required (the CLI finds the shipped one)
  std::string dataset;     // empty: the data set named in the checkpoint
  int samples = 1000;
  uint64_t seed = 1;
  // Diffusion: the main figure's sampler, and the curves.
  std::string sampler = "dpmpp2m";
  int steps = 20;
  double cfg = 3.0;
  std::vector<double> cfg_curve = {0, 1, 1.5, 2, 3, 5};  // conditional models; empty: none
  int curve_samples = 500;
  bool steps_curve = false;  // FID against 10, 20, 50, 100, T steps for DDPM, DDIM and DPM-Solver++
};

// FID-LeNet with its floors, precision/recall, label entropy and (conditional) accuracy of the
// samples; JSON.
std::string eval_quality(const QualityEvalRequest& request, const LogLine& log);

}  // namespace genlab
