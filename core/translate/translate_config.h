// Hyper-parameters of the image-to-image models: Pix2Pix (paired: a task makes each input from its
// target), CycleGAN (unpaired, two domains) and StarGAN (one generator for K domains). Domains are
// classes of the data set (two sub-folders of an image folder are two classes). One struct for the
// GUI, the CLI and checkpoint metadata. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genlab {

struct Dataset;

enum class TranslateKind { Pix2Pix, CycleGan, StarGan };
// Pix2Pix's paired tasks, each input made from its target image:
//   edges: thresholded Sobel edges; superres: the image shrunk `superres_factor` times (box filter)
//   and blown back up (nearest); inpaint: a random box greyed out; denoise: Gaussian noise added.
enum class PairedTask { Edges, SuperRes, Inpaint, Denoise };

struct TranslateConfig {
  TranslateKind kind = TranslateKind::Pix2Pix;
  PairedTask task = PairedTask::Edges;
  int superres_factor = 4;   // 28 -> 7 -> 28 (2: 28 -> 14 -> 28)
  float noise_sigma = 0.3f;  // denoise, on [0, 1] pixels
  std::vector<int> domains;  // CycleGAN: A, B; StarGAN: K >= 2 (class indices of the data set)
  std::vector<std::string> domain_names;
  bool skips = true;   // the U-Net's skip connections (off: a plain encoder-decoder)
  int width = 32;      // base channel count of G and D
  // Loss weights (live in the lab): Pix2Pix L_GAN + lambda_l1 * L1; CycleGAN L_GAN + lambda_cycle *
  // L_cyc + lambda_identity * L_id; StarGAN L_GAN + lambda_cls * L_cls + lambda_rec * L_rec.
  float lambda_l1 = 100.f, lambda_cycle = 10.f, lambda_identity = 5.f, lambda_cls = 1.f, lambda_rec = 10.f;
  int pool_size = 50;  // CycleGAN's history of generated images that D also sees
  float lr = 2e-4f;
  int batch_size = 32;
  uint64_t seed = 1;
  // Set from the data set when training starts.
  int channels = 1, height = 28, width_px = 28, classes = 0;

  std::string to_json() const;
  static TranslateConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;  // throws std::invalid_argument naming the value
  // "pix2pix edges", "CycleGAN Sneaker <-> Ankle boot", ...: for titles and messages.
  std::string title() const;
  int domain_count() const { return int(domains.size()); }
};

// Copies the loss weights (lambda_*) of `from` into `to`, nothing else.
void copy_loss_weights(TranslateConfig& to, const TranslateConfig& from);

const char* translate_kind_name(TranslateKind kind);  // "pix2pix", "cyclegan", "stargan"
TranslateKind parse_translate_kind(const std::string& name);
const char* task_name(PairedTask task);  // "edges", "superres", "inpaint", "denoise"
PairedTask parse_task(const std::string& name);

// The class indices named by "Sneaker,Ankle boot" (names, case, spaces, _ and - ignored, or indices) in
// `data`; throws std::invalid_argument naming the domain that does not exist, has no training
// images, or is named twice, or when there are fewer than `least`.
std::vector<int> parse_domains(const std::string& list, const Dataset& data, int least);

}  // namespace genlab
