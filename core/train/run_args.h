// What genlab-cli's train, sample and eval commands pass to a family: every option as given, with
// `given` naming the ones the user set (so a family keeps its own defaults for the rest). One set of
// options for all families; each family reads the ones that concern it. Torch-free.
#pragma once

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace genlab {

// Data-parallel training (genlab-cli train --nproc, or --rank/--world-size/--master across machines).
struct ParallelOptions {
  int rank = 0;
  int world_size = 1;  // 1: train alone
  std::string master;  // HOST:PORT of the rendezvous store; rank 0 hosts it unless a launcher does
  bool store_hosted = false;  // a launcher (--nproc) hosts the store
  std::string backend = "gloo";
  double timeout_s = 60;  // a rank waiting longer than this for the others (rendezvous or a step) stops
};

struct RunArgs {
  std::set<std::string> given;  // option names the user set, e.g. "--batch"
  bool has(const std::string& option) const { return given.count(option) > 0; }
};

struct TrainArgs : RunArgs {
  std::string model = "vae";  // --model: the family, or a kind of it ("ae")
  std::string dataset = "fashion-mnist";
  LoadOptions data_options;   // --image-size, --rgb (image folders)
  double epochs = 0;          // used when steps == 0
  int64_t steps = 0;
  uint64_t seed = 1;
  int batch = 128;
  float lr = 1e-3f;
  std::string out, resume;
  double checkpoint_every_s = 300;
  std::string device = "cpu";  // or "cuda"
  // Autoencoders
  std::string arch = "conv", recon = "bernoulli";
  int latent = 0;  // 0: the family's default
  float beta = 1.f;
  bool binarize = true;
  // VQ-VAE (K codes of code_dim, commitment beta, codebook by "ema" or "loss", dead-code restarts),
  // its prior (over the codes of --vqvae; a transformer of `layers` blocks) and VAE-GAN's loss weights
  int codes = 64, code_dim = 16, layers = 4;
  float commitment = 0.25f;
  std::string codebook = "ema", vqvae;
  bool restarts = true;
  float pixel_weight = 1.f, feature_weight = 1.f, adversarial_weight = 1.f;
  // GAN and diffusion
  bool conditional = false;
  std::string loss = "ns", toy, optimizer = "adam";
  float lr_g = 2e-4f, lr_d = 2e-4f;
  int d_steps = 1;
  // ProGAN (steps per resolution, steps per fade) and StyleGAN (mapping network, style mixing)
  int stage_steps = 1000, fade_steps = 1000, mapping_depth = 4, w_dim = 64;
  float mixing_prob = 0.9f;
  float r1_gamma = -1;  // -1: the model's default (StyleGAN 0.1, others 0)
  // DCGAN images: the layout (gan_config.h), one-sided label smoothing and G's weight average
  std::string layout = "deep";
  float real_label = 0.8f, g_ema = 0.999f;
  // Image-to-image (pix2pix, cyclegan, stargan)
  std::string task = "edges", domains;
  int superres_factor = 4, width = 32;
  bool skips = true;
  float lambda_l1 = 100.f, lambda_cycle = 10.f, lambda_identity = 5.f, lambda_cls = 1.f, lambda_rec = 10.f;
  // Latent diffusion: the first stage (klae) an ldm trains on, and the attribute-class pairs no
  // training caption shows ("dark sneaker, wide dress"; "none" for none)
  std::string autoencoder, hold_out, hold_out_mode = "images";  // mode: leave out the "images" or only the "captions"
  // A distilled student of a guided ddpm (core/diffusion/distillation.h): its teacher, DDIM steps,
  // teacher runs recorded and guidance range
  std::string teacher;
  int student_steps = 5, trajectories = 16000;
  float w_max = 8.f;
  ParallelOptions parallel;
};

struct SampleArgs : RunArgs {
  std::string checkpoint, out;
  int n = 64;
  uint64_t seed = 1;
  int label = -1;  // -1: every class in turn
  // StyleGAN: truncation psi; styles of the layers named by mix_layers taken from mix_from's w
  double psi = 1.0;
  int64_t mix_from = -1;  // -1: no mixing
  std::string mix_layers = "coarse";
  // Diffusion
  std::string sampler = "ddim";
  int steps = 50;
  double cfg = 3.0, eta = 0.0;
  std::string cfg_schedule = "constant";
  std::string gif;
  // VQ-VAE prior: its VQ-VAE (default: the one it names), temperature and top-k (0: every code)
  std::string vqvae;
  double temperature = 1.0;
  int top_k = 0;
  // Latent diffusion: the prompt and the negative prompt (guidance pushes away from it, not from "")
  std::string prompt, negative;
};

struct EvalArgs : RunArgs {
  std::string checkpoint;
  std::string dataset;     // empty: the one the checkpoint names
  std::string classifier;  // FID-LeNet's classifier (the CLI finds the shipped one)
  uint64_t seed = 1;
  int iwae_samples = 1000, iwae_images = 1000;  // autoencoders
  int samples = 1000, curve_samples = 500;
  // Diffusion
  std::string sampler = "dpmpp2m";
  int steps = 20;
  double cfg = 3.0;
  std::string cfg_schedule = "constant";
  bool cfg_curve = true, steps_curve = false;
  // VQ-VAE prior: as in SampleArgs
  std::string vqvae;
  double temperature = 1.0;
  int top_k = 0;
};

// Throws std::invalid_argument naming the first of `options` that was given: for a family that
// has no use for them ("--sampler: X is a GAN, it has no sampling steps").
inline void refuse_options(const RunArgs& args, const std::vector<std::string>& options, const std::string& why) {
  for (const std::string& option : options)
    if (args.has(option)) throw std::invalid_argument(option + ": " + why);
}

}  // namespace genlab
