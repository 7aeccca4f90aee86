// The diffusion jobs behind `genlab-cli train --model ddpm` and `genlab-cli sample` of a diffusion
// checkpoint; torch-free so the CLI stays cheap to compile. Results are JSON text.
#pragma once

#include <cstdint>
#include <string>

#include "core/labs/sampling_params.h"
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
  // The checkpoint and the settings, as the PNG records them; the CLI's defaults: DDIM, 50 steps,
  // w = 3 (0 unconditional, 1 conditional, > 1 guided), every class in turn, 16 samples.
  SamplingRecord run{SamplingParams{"ddim", 50, 3.0, 0.0, -1, 1, 16}, ""};
  std::string out;  // .png grid or .npy
  std::string gif;  // also an animated GIF of the run, a frame per step (empty: none)
};

std::string sample_ddpm(const DiffusionSampleRequest& request);

}  // namespace genlab
