// The Diffusion tab's prompt view: a latent text-to-image model (genlab-cli train --model ldm)
// sampled live from a prompt and a negative prompt — each edit a new request that cancels the
// running one within a step — with every step kept for playback: the latent z, its decoding, the
// decoded prediction of z0, and the cross-attention map of every prompt token. Beside it, the cost
// of working in pixels against working in the latent, measured on the worker. Torch-free header.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/data/image.h"
#include "core/lab/session.h"

namespace genlab {

struct PromptModelView {
  bool exists = false;
  std::string checkpoint, autoencoder;  // the ldm file and the klae it was trained on
  int64_t step = 0;
  int T = 1000;
  double scale_factor = 1;
  int latent_channels = 4, latent_size = 7, image_size = 28, max_tokens = 16;
  std::vector<std::string> vocabulary;
  // The caption measures: per attribute its name, words and what is measured; per class the
  // thresholds (medians) that split each attribute; the held-out pairs ("dark sneaker").
  std::vector<std::array<std::string, 4>> attributes;  // name, low word, high word, measure
  std::vector<std::string> class_names;
  std::vector<std::vector<double>> thresholds;
  std::vector<std::string> held_out;
};

struct PromptParams {
  std::string prompt = "a dark wide pullover", negative;
  std::string sampler = "dpmpp2m";
  int steps = 20;
  double cfg = 3.0;
  uint64_t seed = 1;
  int n = 8;  // 1..16 images of the same prompt
};

struct PromptStepFrame {
  int t = 0, t_next = 0;  // the step went from t to t_next
  ImageGrid latent;       // z_{t_next}: a row per image, one cell per latent channel, (z + 3) / 6 in [0, 1]
  ImageGrid decoded;      // decode(z_{t_next}) in [0, 1]
  ImageGrid decoded_x0;   // decode(predicted z0) in [0, 1]
  // Cross-attention of the prompt (the guided branch's conditional half) at this step, averaged
  // over heads and layers: n x tokens x map_size x map_size, each position's weights summing to 1
  // over the tokens.
  std::vector<float> attention;
  int tokens = 0, map_size = 0;

  // Token `k`'s map of image `i` (map_size^2 values).
  const float* attention_map(int i, int k) const {
    return attention.data() + (size_t(i) * size_t(tokens) + size_t(k)) * size_t(map_size) * size_t(map_size);
  }
};

struct PromptRunView {
  PromptParams params;
  std::vector<std::string> tokens;  // what the encoder read: "<start>", then the known words
  std::string note, negative_note;  // unknown words, words cut at the length limit ("" when none)
  int total = 0;
  std::vector<std::shared_ptr<const PromptStepFrame>> frames;
  double seconds_first = 0, seconds_last = 0;  // from the request to the first and last step on the worker
  bool done = false;
};

// Pixel diffusion against latent diffusion, the same widths, measured in one job: training
// images/s (forward, backward and Adam on a batch of 64), ms per guided sampling step at batch 1
// and 64, parameters, and the numbers one image is diffused as.
struct DiffusionCost {
  std::string name;  // "pixel U-Net" / "latent U-Net + text encoder"
  int64_t values_per_image = 0, parameters = 0;
  double train_images_per_s = 0, step_ms_batch1 = 0, step_ms_batch64 = 0;
  double activation_mb_batch64 = 0;  // the tensors a training step keeps for backward, at batch 64
};
struct CostView {
  std::vector<DiffusionCost> rows;
  double decode_ms_batch64 = 0;  // the autoencoder's decoder, paid once per image at the end
  bool done = false;
};

class LdmLab : public Lab {
 public:
  explicit LdmLab(Session& session);
  ~LdmLab();
  std::vector<UnsavedTraining> unsaved_training() const override { return {}; }
  std::vector<std::string> open_checkpoints() const override {
    auto v = model_.get();
    return v && !v->value.checkpoint.empty() ? std::vector<std::string>{v->value.checkpoint} : std::vector<std::string>();
  }

  void load(const std::string& path);  // an ldm checkpoint (a klae alone is refused, naming it)
  const Latest<PromptModelView>& model() const { return model_; }

  // A new run; a newer request cancels it within a step. Errors (a prompt of unknown words only,
  // values out of range) go to the session's error line; the previous run stays on screen.
  void sample(const PromptParams& params);
  const Latest<PromptRunView>& run() const { return run_; }

  void measure_cost();
  const Latest<CostView>& cost() const { return cost_; }

  struct State;

 private:
  Session& session_;
  Latest<PromptModelView> model_;
  Latest<PromptRunView> run_;
  Latest<CostView> cost_;
  std::unique_ptr<State> state_;  // the model, touched only on the worker thread
};

}  // namespace genlab
