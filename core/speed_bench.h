// `genlab-cli bench`'s model figures: medians of repeated timings of each model's hot path on
// untrained weights (speed does not depend on them) — training images/s of the VAE, the cGAN, the
// DDPM U-Net and the classifier; VAE decode and GAN sampling latency. JSON, torch-free header.
#pragma once

#include <string>

namespace genlab {

std::string model_speeds_json(int repeats = 3);

// Median milliseconds of one denoising step of the default U-Net at `batch`, with classifier-free
// guidance (one batch of 2 x batch) or without.
double unet_step_ms(int batch, bool guided, int repeats = 9);

}  // namespace genlab
