// The GAN jobs behind `genlab-cli train --model gan` and `genlab-cli sample`, torch-free so the
// CLI stays cheap to compile. Results are JSON text.
#pragma once

#include <cstdint>
#include <string>

#include "core/models/gan_config.h"
#include "core/train/vae_run.h"

namespace genlab {

struct GanTrainRequest {
  GanConfig config;
  std::string dataset = "fashion-mnist";
  double epochs = 0;   // image mode, when steps == 0
  int64_t steps = 0;   // generator steps
  std::string out, resume;
  double checkpoint_every_s = 300;  // also write `out` this often, so a long run loses little
};

std::string train_gan(const GanTrainRequest& request, const LogLine& log);

struct GanSampleRequest {
  std::string checkpoint;
  int n = 64;
  uint64_t seed = 1;
  int label = -1;      // cGAN: the class to draw; -1 cycles through the classes
  std::string out;     // .png (a grid) or .npy (N x C x H x W float32 in [0, 1])
};

std::string sample_gan(const GanSampleRequest& request);

}  // namespace genlab
