#include "core/vae/vqvae.h"

namespace genlab {

namespace nn = torch::nn;

namespace {

// Two stride-2 convolutions to the H/4 x W/4 grid, then a 1x1 projection to the code dim.
nn::Sequential vq_encoder(int c, int d) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 32, 4).stride(2).padding(1)), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(64, d, 1)));
}

// Nearest upsampling + 3x3 conv, as in the VAE's decoder (ConvTranspose2d is slow in Debian's LibTorch).
nn::Sequential vq_decoder(int d, int c) {
  auto up = [] { return nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)); };
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(d, 64, 3).padding(1)), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)), nn::ReLU(), up(),
                        nn::Conv2d(nn::Conv2dOptions(64, 32, 3).padding(1)), nn::ReLU(), up(),
                        nn::Conv2d(nn::Conv2dOptions(32, c, 3).padding(1)));
}

}  // namespace

VqVaeImpl::VqVaeImpl(const VqConfig& config) : config_(config) {
  config.validate();
  encoder_ = register_module("encoder", vq_encoder(config.channels, config.code_dim));
  decoder_ = register_module("decoder", vq_decoder(config.code_dim, config.channels));
  // Small uniform codes, as in the paper's reference code: most sit far from the encoder's outputs at
  // first, which is what lets codes die (and restarts revive them).
  const double bound = 1.0 / config.codes;
  codebook_ = register_parameter("codebook", torch::empty({config.codes, config.code_dim}).uniform_(-bound, bound));
  ema_count = register_buffer("ema_count", torch::ones({config.codes}));
  ema_sum = register_buffer("ema_sum", codebook_.detach().clone());
  last_used = register_buffer("last_used", torch::zeros({config.codes}));
  usage = register_buffer("usage", torch::full({config.codes}, 1.0 / config.codes));
}

torch::Tensor VqVaeImpl::encode(const torch::Tensor& x) { return encoder_->forward(x); }

Quantized VqVaeImpl::quantize(const torch::Tensor& z_e) {
  Quantized q;
  q.z_e = z_e;
  const int64_t b = z_e.size(0), d = z_e.size(1), h = z_e.size(2), w = z_e.size(3);
  auto flat = z_e.permute({0, 2, 3, 1}).reshape({-1, d});
  {
    torch::NoGradGuard no_grad;
    // ||z - e||^2 = |z|^2 - 2 z.e + |e|^2; |z|^2 is the same for every code.
    auto distance = codebook_.pow(2).sum(1).unsqueeze(0) - 2 * flat.matmul(codebook_.t());
    q.indices = distance.argmin(1).view({b, h, w});
  }
  auto e = lookup(q.indices);
  q.commit = (z_e - e.detach()).pow(2).sum({1, 2, 3}).mean();
  q.codebook = (z_e.detach() - e).pow(2).sum({1, 2, 3}).mean();
  q.z_q = z_e + (e - z_e).detach();
  return q;
}

torch::Tensor VqVaeImpl::lookup(const torch::Tensor& indices) {
  return torch::embedding(codebook_, indices).permute({0, 3, 1, 2});
}

torch::Tensor VqVaeImpl::decode_logits(const torch::Tensor& z_q) { return decoder_->forward(z_q); }

VqOutput VqVaeImpl::forward(const torch::Tensor& x) {
  VqOutput out;
  out.q = quantize(encode(x));
  out.logits = decode_logits(out.q.z_q);
  return out;
}

std::vector<Activation> VqVaeImpl::decoder_activations(const torch::Tensor& indices) {
  auto z_q = lookup(indices);
  std::vector<Activation> out{{"code vectors (the codebook entries of the map)", z_q}};
  for (const Activation& a : sequential_activations(decoder_, z_q)) out.push_back(a);
  out.push_back({"image (sigmoid of the logits)", torch::sigmoid(decode_logits(z_q))});
  return out;
}

torch::Tensor code_counts(const torch::Tensor& indices, int codes) {
  return torch::bincount(indices.reshape({-1}).cpu(), {}, codes).to(torch::kFloat);
}

double perplexity(const torch::Tensor& counts) {
  auto p = counts.to(torch::kDouble) / counts.sum().clamp_min(1).to(torch::kDouble);
  return std::exp(-(p * (p + 1e-12).log()).sum().item<double>());
}

VqLoss vq_loss(const VqOutput& out, const torch::Tensor& target, const VqConfig& config) {
  VqLoss loss;
  const double batch = double(target.size(0));
  loss.recon = torch::binary_cross_entropy_with_logits(out.logits, target, {}, {}, torch::Reduction::Sum) / batch;
  loss.commit = out.q.commit;
  loss.codebook = out.q.codebook;
  loss.total = loss.recon + config.commitment * loss.commit;
  if (config.update == CodebookUpdate::Loss) loss.total = loss.total + loss.codebook;
  return loss;
}

}  // namespace genlab
