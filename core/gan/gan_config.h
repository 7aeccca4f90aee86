// Hyper-parameters of a GAN: image mode (DCGAN-style, optionally class-conditional; ProGAN, grown
// resolution by resolution; a small StyleGAN) or the 2-D toy mode. One struct for the GUI, the CLI
// and checkpoint metadata.
#pragma once

#include <cstdint>
#include <string>

namespace genlab {

enum class GanLoss { Minimax, NonSaturating, LeastSquares, WassersteinGP, Hinge };
enum class GanMode { Images, Toy };
enum class ToyData { Ring, Spiral };
enum class GanOptimizer { Adam, RMSprop, SGD };
enum class GanArch { Dcgan, ProGan, StyleGan };
// A DCGAN's layers. Compact: z -> 7x7 -> 14 -> 28 through a dense layer and two nearest-upsample
// convs, D without normalisation (genlab's first layout; the shipped cGAN). Deep: the layout of
// pytorch/examples' cpp/dcgan, z -> 4x4 -> 7x7 -> 14 -> 28 through four transposed convs with batch
// norm, D three strided convs with batch norm; more quality per second here (bench/gan_vs_dcgan.cpp).
enum class DcganLayout { Compact, Deep };

// Where a progressive GAN is in its growth: `level` 0 draws H/4 x H/4 images, 1 H/2, 2 the full
// size; `alpha` fades level's new layers in (1: fully in).
struct Growth {
  int level = 2;
  float alpha = 1.f;
  int resolution(int full) const { return full >> (2 - level); }
  bool fading() const { return level > 0 && alpha < 1.f; }
};

struct GanConfig {
  GanMode mode = GanMode::Images;
  GanArch arch = GanArch::Dcgan;
  ToyData toy = ToyData::Ring;
  GanLoss loss = GanLoss::NonSaturating;
  GanOptimizer optimizer = GanOptimizer::Adam;
  bool conditional = false;  // images only: G and D see the class label (cGAN)
  DcganLayout layout = DcganLayout::Deep;  // images, DCGAN only
  int latent = 64;           // z size (toy mode: 8)
  int width = 64;            // base channel count of G and D
  float lr_g = 2e-4f, lr_d = 2e-4f;
  int d_steps = 1;           // D steps per G step (n_critic for WGAN-GP)
  float gp_weight = 10.f;    // WGAN-GP penalty weight
  // R1 (Mescheder et al. 2018, StyleGAN's regulariser): D's loss + gamma/2 E[||grad_x D(x)||^2] on
  // real images, so D cannot grow steep around the data. 0: off.
  float r1_gamma = 0.f;
  // One-sided label smoothing (Salimans et al. 2016), as cpp/dcgan trains: D's target for a real
  // image is drawn from [real_label, 1] (minimax and non-saturating losses). 1: off.
  float real_label = 0.8f;
  // G's weights averaged after every step with this decay (warmed up: min(decay, (1+n)/(10+n))),
  // and the average draws every sample (Yazici et al. 2019: averaging steadies a GAN's samples at
  // no training cost). 0: off, the live G draws.
  float g_ema = 0.999f;
  int batch_size = 64;
  uint64_t seed = 1;
  // ProGAN: steps each resolution trains alone, and steps its successor takes to fade in.
  int stage_steps = 1000, fade_steps = 1000;
  // StyleGAN: the mapping network z -> w (w has w_dim numbers), and how often a training batch
  // switches from one w to another at a random layer (style-mixing regularisation).
  int mapping_depth = 4, w_dim = 64;
  float mixing_prob = 0.9f;
  // Set from the data set (images) when training starts.
  int classes = 0, channels = 1, height = 28, width_px = 28;

  std::string to_json() const;
  static GanConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;                                 // throws std::invalid_argument naming the value
  // ProGAN's stage at a step: H/4 for stage_steps, a fade of fade_steps to H/2, stage_steps there,
  // a fade to H, then H for good. Every other GAN is always at the full size.
  Growth growth_at(int64_t step) const;
  // The checkpoint kind: "gan" (DCGAN, cGAN, toy), "progan", "stylegan".
  std::string kind() const;
};

const char* loss_name(GanLoss loss);  // "minimax", "ns", "lsgan", "wgan-gp", "hinge"
GanLoss parse_loss(const std::string& name);
const char* optimizer_name(GanOptimizer optimizer);  // "adam", "rmsprop", "sgd"
GanOptimizer parse_optimizer(const std::string& name);
// StyleGAN trains with R1 on its D (gamma scaled down from the paper's 10 at 1024 px to 28 px);
// the others without.
float default_r1_gamma(GanArch arch);
const char* arch_name(GanArch arch);  // "dcgan", "progan", "stylegan"
GanArch arch_of_kind(const std::string& kind);  // "gan" or "dcgan" -> Dcgan, "progan", "stylegan"
const char* layout_name(DcganLayout layout);  // "compact", "deep"
DcganLayout parse_layout(const std::string& name);
const char* toy_name(ToyData toy);    // "ring", "spiral"
ToyData parse_toy(const std::string& name);

}  // namespace genlab
