#include "core/vae/vae_config.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace genlab {

const char* kind_name(AutoencoderKind kind) {
  return kind == AutoencoderKind::AE ? "ae" : kind == AutoencoderKind::VAE ? "vae" : "vaegan";
}
const char* kind_title(AutoencoderKind kind) {
  return kind == AutoencoderKind::AE ? "autoencoder" : kind == AutoencoderKind::VAE ? "VAE" : "VAE-GAN";
}
const char* arch_name(AutoencoderArch arch) { return arch == AutoencoderArch::MLP ? "mlp" : "conv"; }
const char* recon_name(ReconLoss recon) { return recon == ReconLoss::Bernoulli ? "bernoulli" : "gaussian"; }

AutoencoderKind parse_kind(const std::string& name) {
  if (name == "ae") return AutoencoderKind::AE;
  if (name == "vae") return AutoencoderKind::VAE;
  if (name == "vaegan") return AutoencoderKind::VAEGAN;
  throw std::invalid_argument("model '" + name + "' is not ae, vae or vaegan");
}

AutoencoderArch parse_arch(const std::string& name) {
  if (name == "mlp") return AutoencoderArch::MLP;
  if (name == "conv") return AutoencoderArch::Conv;
  throw std::invalid_argument("arch '" + name + "' is not mlp or conv");
}

ReconLoss parse_recon(const std::string& name) {
  if (name == "bernoulli") return ReconLoss::Bernoulli;
  if (name == "gaussian") return ReconLoss::Gaussian;
  throw std::invalid_argument("recon '" + name + "' is not bernoulli or gaussian");
}

void VaeConfig::validate() const {
  if (latent < 2 || latent > 64) throw std::invalid_argument("latent " + std::to_string(latent) + " is not in 2..64");
  if (!(beta >= 0.f && beta <= 100.f)) throw std::invalid_argument("beta " + std::to_string(beta) + " is not in 0..100");
  if (!(learning_rate > 0.f && learning_rate < 1.f))
    throw std::invalid_argument("learning rate " + std::to_string(learning_rate) + " is not in (0, 1)");
  for (float weight : {pixel_weight, feature_weight, adversarial_weight})
    if (!(weight >= 0.f && weight <= 1000.f))
      throw std::invalid_argument("VAE-GAN loss weight " + std::to_string(weight) + " is not in 0..1000");
  if (!(d_learning_rate > 0.f && d_learning_rate < 1.f))
    throw std::invalid_argument("D learning rate " + std::to_string(d_learning_rate) + " is not in (0, 1)");
  if (kind == AutoencoderKind::VAEGAN && arch != AutoencoderArch::Conv)
    throw std::invalid_argument("VAE-GAN is built on the conv arch, not " + std::string(arch_name(arch)));
  if (batch_size < 1 || batch_size > 4096) throw std::invalid_argument("batch size " + std::to_string(batch_size) + " is not in 1..4096");
  if (channels != 1 && channels != 3) throw std::invalid_argument("channels " + std::to_string(channels) + " is not 1 or 3");
  if (height < 4 || width < 4 || height > 512 || width > 512)
    throw std::invalid_argument("image size " + std::to_string(height) + "x" + std::to_string(width) + " is not in 4..512");
  if (arch == AutoencoderArch::Conv && (height % 4 || width % 4))
    throw std::invalid_argument("the conv arch needs an image size divisible by 4, not " + std::to_string(height) + "x" +
                                std::to_string(width));
}

std::string VaeConfig::to_json() const {
  nlohmann::json j = {
      {"kind", kind_name(kind)}, {"arch", arch_name(arch)},   {"latent", latent},
      {"beta", beta},            {"recon", recon_name(recon)}, {"binarize", binarize},
      {"learning_rate", learning_rate}, {"batch_size", batch_size}, {"seed", seed},
      {"pixel_weight", pixel_weight}, {"feature_weight", feature_weight}, {"adversarial_weight", adversarial_weight},
      {"d_learning_rate", d_learning_rate},
      {"channels", channels},    {"height", height},           {"width", width},
  };
  return j.dump();
}

VaeConfig VaeConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("model config is not a JSON object");
  VaeConfig c;
  try {
    c.kind = parse_kind(j.at("kind").get<std::string>());
    c.arch = parse_arch(j.at("arch").get<std::string>());
    c.latent = j.at("latent").get<int>();
    c.beta = j.at("beta").get<float>();
    c.recon = parse_recon(j.at("recon").get<std::string>());
    c.binarize = j.at("binarize").get<bool>();
    c.learning_rate = j.at("learning_rate").get<float>();
    c.batch_size = j.at("batch_size").get<int>();
    c.seed = j.at("seed").get<uint64_t>();
    c.channels = j.at("channels").get<int>();
    c.height = j.at("height").get<int>();
    c.width = j.at("width").get<int>();
    // VAE-GAN's weights (older checkpoints have none)
    c.pixel_weight = j.value("pixel_weight", c.pixel_weight);
    c.feature_weight = j.value("feature_weight", c.feature_weight);
    c.adversarial_weight = j.value("adversarial_weight", c.adversarial_weight);
    c.d_learning_rate = j.value("d_learning_rate", c.d_learning_rate);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("model config: ") + e.what());
  }
  c.validate();
  return c;
}

}  // namespace genlab
