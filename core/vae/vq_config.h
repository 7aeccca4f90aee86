// Hyper-parameters of a VQ-VAE and of the autoregressive prior over its codes: one struct each for
// the GUI, the CLI and checkpoint metadata. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genlab {

enum class CodebookUpdate { Loss, Ema };  // the codebook term of the loss, or moving averages

struct VqConfig {
  int codes = 64;              // K, the codebook's size: 8..512
  int code_dim = 16;           // length of each code vector: 2..64
  float commitment = 0.25f;    // beta, the commitment weight: 0..10
  CodebookUpdate update = CodebookUpdate::Ema;
  float ema_decay = 0.99f;     // EMA updates: 0.5..0.9999
  bool restarts = true;        // dead codes move to encoder outputs of the batch
  int restart_after = 50;      // steps unused before a code counts as dead
  float learning_rate = 1e-3f;
  int batch_size = 128;
  uint64_t seed = 1;
  // Set from the data set when training starts; the code grid is height/4 x width/4.
  int channels = 1, height = 28, width = 28;

  int grid_h() const { return height / 4; }
  int grid_w() const { return width / 4; }
  std::string to_json() const;
  // Throws std::invalid_argument naming the field for unknown names or out-of-range values.
  static VqConfig from_json(const std::string& text);
  void validate() const;
};

// The prior: a small causal transformer over the code grid in raster order, the class as its first
// token. codes/grid must match the VQ-VAE it models.
struct VqPriorConfig {
  int codes = 64, grid_h = 7, grid_w = 7;
  int classes = 0;             // 0: unconditional
  int width = 64, layers = 4, heads = 4;  // width 64: ~0.4 s a step of 128 on one CPU thread
  float learning_rate = 1e-3f;
  int batch_size = 128;
  uint64_t seed = 1;
  std::string vqvae;           // the VQ-VAE checkpoint whose codes it models, as given when training

  int positions() const { return grid_h * grid_w; }
  std::string to_json() const;
  static VqPriorConfig from_json(const std::string& text);
  void validate() const;
};

const char* update_name(CodebookUpdate update);  // "loss", "ema"
CodebookUpdate parse_update(const std::string& name);

// Sampling settings of the prior; validate() names the bad value.
struct PriorSampling {
  float temperature = 1.f;  // 0.05..5
  int top_k = 0;            // 0: every code
  void validate(int codes) const;
};

// One point of a VQ-VAE's training curve (the lab's plots; kept in its checkpoint).
struct VqCurvePoint {
  int64_t step = 0;
  float recon = 0, commit = 0, perplexity = 0;
  int used = 0;            // codes the batch used
  int64_t restarts = 0;    // dead codes restarted so far
};
std::string vq_curve_json(const std::vector<VqCurvePoint>& curve);
std::vector<VqCurvePoint> read_vq_curve(const std::string& metadata_json);  // empty when it has none

}  // namespace genlab
