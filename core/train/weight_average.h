// A model's exponential moving average, kept beside the model it follows: the diffusion trainers'
// EMA net and the GAN's averaged generator. Torch header.
#pragma once

#include <torch/torch.h>

namespace genlab {

// `to` takes `from`'s parameters and buffers (the two modules have the same layout).
void copy_weights(torch::nn::Module& from, torch::nn::Module& to);

// to = decay * to + (1 - decay) * from for every parameter; buffers (batch norm's running
// statistics) are copied, so they describe the live net the average follows.
void update_average(torch::nn::Module& from, torch::nn::Module& to, double decay);

}  // namespace genlab
