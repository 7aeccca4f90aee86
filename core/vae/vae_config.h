// Hyper-parameters of an autoencoder or VAE: one struct for the GUI, the CLI and checkpoint metadata.
#pragma once

#include <cstdint>
#include <string>

namespace genlab {

// VAEGAN: the VAE with a discriminator on its outputs, its reconstruction term measured in D's
// features (Larsen et al. 2016).
enum class AutoencoderKind { AE, VAE, VAEGAN };
constexpr int kAutoencoderKinds = 3;
inline bool variational(AutoencoderKind kind) { return kind != AutoencoderKind::AE; }
enum class AutoencoderArch { MLP, Conv };
enum class ReconLoss { Bernoulli, Gaussian };  // BCE on logits, or squared error

struct VaeConfig {
  AutoencoderKind kind = AutoencoderKind::VAE;
  AutoencoderArch arch = AutoencoderArch::Conv;
  int latent = 16;             // 2..64
  float beta = 1.f;            // weight of the KL term; 1 is the VAE, ignored by the AE
  ReconLoss recon = ReconLoss::Bernoulli;
  bool binarize = true;        // dynamic binarisation of training images (Bernoulli decoder)
  float learning_rate = 1e-3f;
  // VAE-GAN: weights of the pixel reconstruction, the reconstruction in D's features and the
  // adversarial term, and D's learning rate.
  float pixel_weight = 1.f, feature_weight = 1.f, adversarial_weight = 1.f;
  float d_learning_rate = 2e-4f;
  int batch_size = 128;
  uint64_t seed = 1;
  // Set from the data set when training starts.
  int channels = 1, height = 28, width = 28;

  std::string to_json() const;
  // Throws std::invalid_argument naming the field for unknown names or out-of-range values.
  static VaeConfig from_json(const std::string& text);
  void validate() const;
};

const char* kind_name(AutoencoderKind kind);   // "ae", "vae", "vaegan"
const char* kind_title(AutoencoderKind kind);  // "autoencoder", "VAE", "VAE-GAN"
const char* arch_name(AutoencoderArch arch);   // "mlp", "conv"
const char* recon_name(ReconLoss recon);       // "bernoulli", "gaussian"
AutoencoderKind parse_kind(const std::string& name);
AutoencoderArch parse_arch(const std::string& name);
ReconLoss parse_recon(const std::string& name);

}  // namespace genlab
