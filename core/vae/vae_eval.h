// Test-set figures of an autoencoder or VAE, as VAE papers report them. Torch header.
#pragma once

#include <cstdint>
#include <functional>

#include "core/vae/vae_trainer.h"

namespace genlab {

struct VaeEvalOptions {
  int iwae_samples = 1000;   // k of the importance-weighted bound
  int iwae_images = 1000;    // first N test images for the IWAE bound
  int recon_images = 1000;   // first N test images for the gray-target reconstruction BCE
  uint64_t seed = 1;
};

struct VaeEvalResult {
  int64_t test_images = 0;
  double neg_elbo = 0;        // nats: E[BCE] + KL on the binarised test set, one z sample per image
  double neg_iwae = 0;        // nats: -log (1/k sum_k p(x, z_k) / q(z_k | x)); a tighter bound
  double recon_bce_gray = 0;  // nats: BCE of the decoded mean code against the gray test images
  double kl = 0;              // nats: mean KL(q(z|x) || p(z)) on the test set
  bool has_bounds = false;    // false for the AE, which has no likelihood bound
};

// progress(done, total) is called between batches and may be empty.
VaeEvalResult evaluate_vae(VaeTrainer& trainer, const VaeEvalOptions& options,
                           const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace genlab
