#include "core/vae/vae.h"

namespace genlab {

namespace nn = torch::nn;

namespace {

constexpr int kHidden = 256;

nn::Sequential mlp_encoder(int pixels) {
  return nn::Sequential(nn::Flatten(), nn::Linear(pixels, 512), nn::ReLU(), nn::Linear(512, kHidden), nn::ReLU());
}

nn::Sequential mlp_decoder(int latent, int c, int h, int w) {
  return nn::Sequential(nn::Linear(latent, kHidden), nn::ReLU(), nn::Linear(kHidden, 512), nn::ReLU(),
                        nn::Linear(512, c * h * w), nn::Unflatten(nn::UnflattenOptions(1, {c, h, w})));
}

// Two stride-2 convolutions down to H/4 x W/4.
nn::Sequential conv_encoder(int c, int h, int w) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 32, 4).stride(2).padding(1)), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)), nn::ReLU(), nn::Flatten(),
                        nn::Linear(64 * (h / 4) * (w / 4), kHidden), nn::ReLU());
}

// Nearest upsampling + 3x3 conv instead of ConvTranspose2d, which is slow in Debian's LibTorch.
nn::Sequential conv_decoder(int latent, int c, int h, int w) {
  auto up = [] { return nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)); };
  return nn::Sequential(nn::Linear(latent, kHidden), nn::ReLU(), nn::Linear(kHidden, 64 * (h / 4) * (w / 4)), nn::ReLU(),
                        nn::Unflatten(nn::UnflattenOptions(1, {64, h / 4, w / 4})), up(),
                        nn::Conv2d(nn::Conv2dOptions(64, 32, 3).padding(1)), nn::ReLU(), up(),
                        nn::Conv2d(nn::Conv2dOptions(32, c, 3).padding(1)));
}

}  // namespace

VaeImpl::VaeImpl(const VaeConfig& config) : config_(config) {
  config.validate();
  const int c = config.channels, h = config.height, w = config.width, latent = config.latent;
  if (config.arch == AutoencoderArch::MLP) {
    encoder_ = register_module("encoder", mlp_encoder(c * h * w));
    decoder_ = register_module("decoder", mlp_decoder(latent, c, h, w));
  } else {
    encoder_ = register_module("encoder", conv_encoder(c, h, w));
    decoder_ = register_module("decoder", conv_decoder(latent, c, h, w));
  }
  const int outputs = variational(config.kind) ? 2 * latent : latent;
  head_ = register_module("head", nn::Linear(kHidden, outputs));
}

std::pair<torch::Tensor, torch::Tensor> VaeImpl::encode(const torch::Tensor& x) {
  auto features = head_->forward(encoder_->forward(x));
  if (config_.kind == AutoencoderKind::AE) return {features, torch::zeros_like(features)};
  auto parts = features.chunk(2, 1);
  return {parts[0], parts[1]};
}

torch::Tensor VaeImpl::decode_logits(const torch::Tensor& z) { return decoder_->forward(z); }

std::vector<Activation> VaeImpl::decoder_activations(const torch::Tensor& z) {
  std::vector<Activation> out = sequential_activations(decoder_, z);
  auto image = decode(z);
  if (image.dim() == 2) image = image.view({image.size(0), config_.channels, config_.height, config_.width});
  out.push_back({"image (sigmoid of the logits)", image});
  return out;
}

VaeOutput VaeImpl::forward(const torch::Tensor& x, bool sample) {
  const bool noisy = variational(config_.kind) && sample;
  return forward(x, noisy ? torch::randn({x.size(0), config_.latent}) : torch::Tensor());
}

VaeOutput VaeImpl::forward(const torch::Tensor& x, const torch::Tensor& eps) {
  VaeOutput out;
  std::tie(out.mu, out.logvar) = encode(x);
  out.z = out.mu;
  if (variational(config_.kind) && eps.defined()) out.z = out.mu + torch::exp(0.5 * out.logvar) * eps;
  out.logits = decode_logits(out.z);
  return out;
}

VaeGanDiscriminatorImpl::VaeGanDiscriminatorImpl(int c, int h, int w) {
  auto lrelu = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
  features_ = register_module("features", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 32, 4).stride(2).padding(1)), lrelu(),
                                                         nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)), lrelu()));
  head_ = register_module("head", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)), lrelu(), nn::Flatten(),
                                                 nn::Linear(64 * (h / 4) * (w / 4), 1)));
}

torch::Tensor VaeGanDiscriminatorImpl::features(const torch::Tensor& x) { return features_->forward(x); }

torch::Tensor VaeGanDiscriminatorImpl::logits(const torch::Tensor& features) { return head_->forward(features).squeeze(1); }

torch::Tensor feature_recon(VaeGanDiscriminator& d, const torch::Tensor& x, const torch::Tensor& recon) {
  return 0.5 * (d->features(x).detach() - d->features(recon)).pow(2).sum() / double(x.size(0));
}

torch::Tensor gaussian_kl(const torch::Tensor& mu, const torch::Tensor& logvar) {
  return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar);
}

VaeLoss vae_loss(const VaeOutput& out, const torch::Tensor& target, const VaeConfig& config) {
  VaeLoss loss;
  const double batch = double(target.size(0));
  if (config.recon == ReconLoss::Bernoulli) {
    loss.recon = torch::binary_cross_entropy_with_logits(out.logits, target, {}, {}, torch::Reduction::Sum) / batch;
  } else {
    loss.recon = (torch::sigmoid(out.logits) - target).pow(2).sum() / batch;
  }
  if (variational(config.kind)) {
    auto kl = gaussian_kl(out.mu, out.logvar);
    loss.kl_per_dim = kl.mean(0);
    loss.kl = kl.sum() / batch;
    loss.total = loss.recon + config.beta * loss.kl;
  } else {
    loss.kl_per_dim = torch::zeros({out.mu.size(1)});
    loss.kl = torch::zeros({});
    loss.total = loss.recon;
  }
  return loss;
}

}  // namespace genlab
