// The VAE/AE jobs behind `genlab-cli train --model vae|ae` and `genlab-cli eval`, torch-free so
// the CLI stays cheap to compile. Results are JSON text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/models/vae_config.h"

namespace genlab {

struct VaeTrainRequest {
  VaeConfig config;
  std::string dataset = "fashion-mnist";
  double epochs = 0;   // used when steps == 0
  int64_t steps = 0;
  std::string out;     // checkpoint to write (required)
  std::string resume;  // checkpoint to continue from (optional)
  double checkpoint_every_s = 300;  // also write `out` this often, so a long run loses little
};

using LogLine = std::function<void(const std::string&)>;

// Trains, logging a progress line about every 2 s, writes `out`, and returns the summary JSON:
// steps, epochs, seconds, images/s, train and test losses.
std::string train_vae(const VaeTrainRequest& request, const LogLine& log);

struct VaeEvalRequest {
  std::string checkpoint;
  std::string dataset;  // empty: the data set named in the checkpoint
  int iwae_samples = 1000, iwae_images = 1000;
  uint64_t seed = 1;
};

// Test -ELBO and the IWAE bound in nats, and the gray-target reconstruction BCE; JSON.
std::string eval_vae(const VaeEvalRequest& request, const LogLine& log);

// "vae", "ae", ... from a checkpoint's metadata (throws CheckpointError naming the file).
std::string checkpoint_model_name(const std::string& path);

}  // namespace genlab
