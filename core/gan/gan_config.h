// Hyper-parameters of a GAN: image mode (DCGAN-style, optionally class-conditional) or the 2-D toy
// mode. One struct for the GUI, the CLI and checkpoint metadata.
#pragma once

#include <cstdint>
#include <string>

namespace genlab {

enum class GanLoss { Minimax, NonSaturating, LeastSquares, WassersteinGP, Hinge };
enum class GanMode { Images, Toy };
enum class ToyData { Ring, Spiral };
enum class GanOptimizer { Adam, RMSprop, SGD };

struct GanConfig {
  GanMode mode = GanMode::Images;
  ToyData toy = ToyData::Ring;
  GanLoss loss = GanLoss::NonSaturating;
  GanOptimizer optimizer = GanOptimizer::Adam;
  bool conditional = false;  // images only: G and D see the class label (cGAN)
  int latent = 64;           // z size (toy mode: 8)
  int width = 64;            // base channel count of G and D
  float lr_g = 2e-4f, lr_d = 2e-4f;
  int d_steps = 1;           // D steps per G step (n_critic for WGAN-GP)
  float gp_weight = 10.f;    // WGAN-GP penalty weight
  int batch_size = 64;
  uint64_t seed = 1;
  // Set from the data set (images) when training starts.
  int classes = 0, channels = 1, height = 28, width_px = 28;

  std::string to_json() const;
  static GanConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;                                 // throws std::invalid_argument naming the value
};

const char* loss_name(GanLoss loss);  // "minimax", "ns", "lsgan", "wgan-gp", "hinge"
GanLoss parse_loss(const std::string& name);
const char* optimizer_name(GanOptimizer optimizer);  // "adam", "rmsprop", "sgd"
GanOptimizer parse_optimizer(const std::string& name);
const char* toy_name(ToyData toy);    // "ring", "spiral"
ToyData parse_toy(const std::string& name);

}  // namespace genlab
