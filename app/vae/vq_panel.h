// The VAE tab's VQ-VAE mode: a VQ-VAE and the prior over its codes, trained live; code usage and
// perplexity, an image's code map with discrete editing, every codebook entry decoded alone, and prior
// sampling that fills the code map position by position. Reads the VqLab's snapshots; every action is
// a request to the worker.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "app/gl_image.h"
#include "app/layer_view.h"
#include "app/metrics_view.h"
#include "core/vae/vq_lab.h"

namespace genlab::app {

class VqPanel {
 public:
  // Draws into the current window (the VAE tab calls it in its VQ-VAE mode).
  void draw(Session& session, ImageRenderer& renderer);

  // The view names select_view takes: usage, codemap, codebook, prior.
  static std::vector<std::string> view_names();
  // Opens a view once a VQ-VAE is shown (for --vae-view and screenshots).
  void select_view(const std::string& name);
  // A picture dropped on the window: encode it and open the code map.
  void encode_file(Session& session, const std::string& path);

 private:
  enum class View { Usage, CodeMap, Codebook, Prior };

  void draw_controls(Session& session, const VqLabView& lab);
  void draw_prior_controls(Session& session, const VqLabView& lab);
  void draw_view_tabs();
  void draw_usage(ImageRenderer& renderer, const VqModelView& model, uint64_t stamp);
  void draw_code_map(Session& session, ImageRenderer& renderer, const VqModelView& model, uint64_t stamp);
  void draw_code_picker(VqLab& lab, const VqModelView& model, const CodeMapView& map);
  void draw_codebook(ImageRenderer& renderer, const VqModelView& model, uint64_t stamp);
  void draw_prior(Session& session, ImageRenderer& renderer, const VqLabView& lab);
  void draw_sampling_controls(Session& session, const VqLabView& lab);
  void draw_sample_run(ImageRenderer& renderer, const PriorSampleView& run, uint64_t stamp);
  void encode_source(VqLab& lab);  // the current test image or dropped picture

  // Model controls.
  VqConfig new_config_;
  VqPriorConfig new_prior_;
  float epochs_ = 5.f, prior_epochs_ = 5.f;
  bool restarts_ = true;          // live, and for the next new model
  float learning_rate_ = 1e-3f;   // likewise
  uint64_t controls_for_ = 0;     // the model whose live settings the controls were set from
  char path_[512] = "vqvae.safetensors", prior_path_[512] = "vqprior.safetensors";

  View view_ = View::Usage, requested_view_ = View::Usage;
  bool view_from_flag_ = false;

  bool sort_usage_ = false;

  // Code map.
  int test_index_ = 0;
  ImageBuffer dropped_;           // the dropped picture the map shows; empty: a test image
  int selected_ = -1;             // the cell picked for editing (row * grid_w + col), -1 none
  uint64_t edit_request_ = 0;     // the newest edit; its decode is pending until the map answers it
  uint64_t code_map_for_ = 0;     // the model the code map was asked of
  std::minstd_rand random_{12345};
  LayerViewState layers_;
  uint64_t layers_for_ = 0;       // the code map the layer view was last asked for

  // Prior sampling.
  int label_ = -1;
  PriorSampling sampling_;
  uint64_t seed_ = 1;
  std::array<int64_t, 3> sampled_for_{};  // the prior's id and step, and the VQ-VAE's step, last sampled
  int frame_ = -1;                // the position on screen; -1 follows the newest
  bool playing_ = false;
  float play_clock_ = 0;
  QualityControls quality_controls_;

  DisplayImage originals_, reconstructions_, codebook_, original_, decoded_, unedited_, frame_image_, batch_;
};

}  // namespace genlab::app
