// The diffusion jobs behind `genlab-cli train --model ddpm` and `genlab-cli sample` of a diffusion
// checkpoint; torch-free so the CLI stays cheap to compile. Results are JSON text.
#pragma once

#include <cstdint>
#include <string>

#include "core/train/vae_run.h"

namespace genlab {

struct DiffusionTrainRequest {
  bool conditional = false;
  std::string dataset = "fashion-mnist";
  double epochs = 0;
  int64_t steps = 0;
  int batch_size = 64;
  float learning_rate = 1e-3f;
  uint64_t seed = 1;
  std::string out, resume;
  double checkpoint_every_s = 300;  // also write `out` this often, so a long run loses little
};

std::string train_ddpm(const DiffusionTrainRequest& request, const LogLine& log);

struct DiffusionSampleRequest {
  std::string checkpoint;
  std::string sampler = "ddim";
  int steps = 50;
  double cfg = 3.0;    // w: 0 unconditional, 1 conditional, > 1 guided
  double eta = 0.0;
  int label = -1;      // -1: every class in turn (conditional models)
  uint64_t seed = 1;
  int n = 16;
  std::string out;     // .png grid or .npy
  std::string gif;     // also an animated GIF of the run, a frame per step (empty: none)
};

std::string sample_ddpm(const DiffusionSampleRequest& request);

}  // namespace genlab
