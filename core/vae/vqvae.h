// VQ-VAE (van den Oord et al. 2017): a conv encoder to a grid of vectors, each snapped to the
// nearest of K codebook entries, and a conv decoder from the snapped grid. Gradients pass the
// snapping straight through. Torch header: include only from torch translation units.
#pragma once

#include <torch/torch.h>

#include "core/io/tensors.h"
#include "core/vae/vq_config.h"

namespace genlab {

struct Quantized {
  torch::Tensor z_e;       // encoder output, B x D x h x w
  torch::Tensor z_q;       // snapped, with the straight-through gradient to z_e: B x D x h x w
  torch::Tensor indices;   // B x h x w int64
  torch::Tensor commit;    // per image: sum over the grid of ||z_e - sg[e]||^2
  torch::Tensor codebook;  // per image: sum over the grid of ||sg[z_e] - e||^2 (moves the codes in Loss mode)
};

struct VqOutput {
  torch::Tensor logits;  // decoder output before the sigmoid, B x C x H x W
  Quantized q;
};

class VqVaeImpl : public torch::nn::Module {
 public:
  explicit VqVaeImpl(const VqConfig& config);

  torch::Tensor encode(const torch::Tensor& x);  // z_e, B x D x h x w
  // Nearest codebook entry of each vector of z_e, the losses and the straight-through code.
  Quantized quantize(const torch::Tensor& z_e);
  torch::Tensor lookup(const torch::Tensor& indices);  // B x h x w codes -> B x D x h x w vectors
  torch::Tensor decode_logits(const torch::Tensor& z_q);
  torch::Tensor decode_codes(const torch::Tensor& indices) { return torch::sigmoid(decode_logits(lookup(indices))); }
  VqOutput forward(const torch::Tensor& x);
  // The decoder's layers for a code map (the layer view), the image last.
  std::vector<Activation> decoder_activations(const torch::Tensor& indices);

  // K x D. A parameter in both modes; in EMA mode the optimizer leaves it out and the trainer sets it.
  torch::Tensor& codebook() { return codebook_; }
  const VqConfig& config() const { return config_; }

  // Training state kept as buffers so a checkpoint resumes exactly: moving averages of each code's
  // count and vector sum (EMA mode), the step it was last used at, and its recent share of the cells.
  torch::Tensor ema_count, ema_sum, last_used, usage;

 private:
  VqConfig config_;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
  torch::Tensor codebook_;
};
TORCH_MODULE(VqVae);

// Code usage of a batch of indices: counts per code (K, float), and the perplexity exp(H(p)) of
// their distribution: K when every code is used equally, 1 when one code takes every position.
torch::Tensor code_counts(const torch::Tensor& indices, int codes);
double perplexity(const torch::Tensor& counts);

// recon: BCE of the logits against `target` in [0, 1], summed over pixels, mean over the batch.
struct VqLoss {
  torch::Tensor recon, commit, codebook, total;
};
VqLoss vq_loss(const VqOutput& out, const torch::Tensor& target, const VqConfig& config);

}  // namespace genlab
