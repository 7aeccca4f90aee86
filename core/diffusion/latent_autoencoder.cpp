#include "core/diffusion/latent_autoencoder.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace genlab {

namespace nn = torch::nn;

std::string LatentAeConfig::to_json() const {
  return nlohmann::json{{"channels", channels}, {"image_size", image_size}, {"latent_channels", latent_channels},
                        {"width", width}, {"beta", beta}}
      .dump();
}

LatentAeConfig LatentAeConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("autoencoder config is not a JSON object");
  LatentAeConfig c;
  try {
    c.channels = j.at("channels").get<int>();
    c.image_size = j.at("image_size").get<int>();
    c.latent_channels = j.at("latent_channels").get<int>();
    c.width = j.at("width").get<int>();
    c.beta = j.at("beta").get<float>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("autoencoder config: ") + e.what());
  }
  c.validate();
  return c;
}

void LatentAeConfig::validate() const {
  if (channels != 1 && channels != 3) throw std::invalid_argument("channels " + std::to_string(channels) + " is not 1 or 3");
  if (image_size < 8 || image_size > 128 || image_size % 4)
    throw std::invalid_argument("image size " + std::to_string(image_size) + " is not a multiple of 4 in 8..128");
  if (latent_channels < 1 || latent_channels > 16)
    throw std::invalid_argument("latent channels " + std::to_string(latent_channels) + " is not in 1..16");
  if (width < 8 || width > 256) throw std::invalid_argument("width " + std::to_string(width) + " is not in 8..256");
  if (!(beta >= 0)) throw std::invalid_argument("beta " + std::to_string(beta) + " is negative");
}

namespace {

nn::Conv2d conv(int in, int out, int kernel = 3, int stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

}  // namespace

LatentAutoencoderImpl::LatentAutoencoderImpl(const LatentAeConfig& config) : config_(config) {
  config.validate();
  const int w = config.width, half = w / 2, lc = config.latent_channels;
  // Strided convs down, nearest upsampling + conv back up (ConvTranspose2d is slow in Debian's LibTorch).
  encoder_ = register_module("encoder", nn::Sequential(conv(config.channels, half), nn::SiLU(), conv(half, w, 3, 2),
                                                       nn::SiLU(), conv(w, w), nn::SiLU(), conv(w, w, 3, 2), nn::SiLU(),
                                                       conv(w, w), nn::SiLU(), conv(w, 2 * lc, 1)));
  auto up = [] { return nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)); };
  decoder_ = register_module("decoder", nn::Sequential(conv(lc, w), nn::SiLU(), conv(w, w), nn::SiLU(), up(), conv(w, w),
                                                       nn::SiLU(), up(), conv(w, half), nn::SiLU(), conv(half, half),
                                                       nn::SiLU(), conv(half, config.channels)));
}

LatentAutoencoderImpl::Posterior LatentAutoencoderImpl::encode(const torch::Tensor& x) {
  auto h = encoder_->forward(x * 2 - 1).chunk(2, 1);
  return {h[0], h[1].clamp(-30, 20)};
}

torch::Tensor LatentAutoencoderImpl::decode_logits(const torch::Tensor& z) { return decoder_->forward(z); }

torch::Tensor LatentAutoencoderImpl::decode(const torch::Tensor& z) { return torch::sigmoid(decode_logits(z)); }

}  // namespace genlab
