// The GAN tab: GAN-Lab-style controls over live adversarial training (DCGAN, cGAN, ProGAN, StyleGAN,
// the 2-D toy), the monitoring plots, the fixed-noise grid with a timeline to scrub, the mode-collapse
// meter, the toy drawn over D's decision surface, and seed exploration. ProGAN adds its growth
// timeline and the fade-in's three paths; StyleGAN its style space (the mixing grid, truncation,
// per-layer noise, z against w with their path lengths), as stylegan3's visualizer shows them, live
// while the model trains; every image GAN a layer view.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "app/gl_image.h"
#include "app/layer_view.h"
#include "app/metrics_view.h"
#include "app/panel.h"
#include "core/gan/gan_lab.h"

namespace genlab::app {

class GanPanel : public Panel {
 public:
  void draw(Session& session, ImageRenderer& renderer) override;

  // Start-up state for scripted runs and screenshots (--gan-arch, --gan-view, --gan-mix, --gan-psi).
  // The New GAN controls' architecture, with its defaults, unconditional.
  void select_arch(GanArch arch);
  // What "New GAN" makes with the controls as they are.
  GanConfig new_model_config() const;
  // The view names select_view takes: samples, fade, style-mixing, truncation, noise, z-vs-w,
  // path-length, layers.
  static std::vector<std::string> view_names();
  // Opens a view once a model that has it is shown.
  void select_view(const std::string& name);
  void set_style_mix(const std::string& layers) { style_.mix_layers = layers; }  // coarse, middle, fine
  void set_psi(double psi) { psi_ = float(psi), style_.psi = psi; }
  // From each style control's change to the frame that first draws the StyleGAN views it asked for, ms.
  const std::vector<double>& style_latencies_ms() const { return style_latencies_ms_; }

 private:
  enum class View { Samples, Fade, Mixing, Truncation, Noise, ZvsW, PathLength, Layers };

  // A preview of the live model (style views, layers) asked for again as new weights arrive, but
  // with one refresh in flight at most, so previews do not crowd out the training steps they run
  // between.
  struct Refresh {
    uint64_t model = 0;
    int64_t step = -1;
    uint64_t asked = 0;  // a stamp taken when it was last asked: a newer answer is in
    std::chrono::steady_clock::time_point asked_at;
    bool due(const GanLabView& view, uint64_t answer_stamp) const;
    void ask(const GanLabView& view);
  };

  static bool has_view(View view, GanArch arch);
  void use_arch_defaults();  // the width and learning rates the architecture trains well with
  void draw_controls(Session& session, const GanLabView& view);
  void draw_new_model(Session& session);
  void draw_monitor(const GanLabView& view);
  void draw_images(Session& session, ImageRenderer& renderer, const GanLabView& view, uint64_t stamp);
  void draw_toy(ImageRenderer& renderer, const GanLabView& view, uint64_t stamp);
  void draw_metrics(Session& session, const GanLabView& view);
  void draw_view_tabs(const GanLabView& view);
  void draw_growth(const GanLabView& view);
  void draw_fade(ImageRenderer& renderer, const GanLabView& view, uint64_t stamp);
  void draw_style(Session& session, ImageRenderer& renderer, const GanLabView& view);
  // The StyleGAN tabs edit style_ (draw_style sends it); `style` is null before the first answer.
  void draw_mixing(ImageRenderer& renderer, const GanConfig& config, const Snapshot<StyleView>* style);
  void draw_truncation(ImageRenderer& renderer, const Snapshot<StyleView>* style);
  void draw_noise(ImageRenderer& renderer, const GanConfig& config, const Snapshot<StyleView>* style);
  void draw_z_vs_w(Session& session, ImageRenderer& renderer, const GanLabView& view, const Snapshot<StyleView>* style);
  void draw_path_length(Session& session, const GanLabView& view);
  void draw_layers(Session& session, ImageRenderer& renderer, const GanLabView& view);
  bool class_combo(Session& session, const char* label, int& value);  // true when the class changed

  // New model.
  GanConfig new_config_ = [] {
    GanConfig c;
    c.conditional = true;  // the default data set is labelled: ask for classes from the start
    return c;
  }();
  int mode_ = 0;  // 0 images, 1 toy ring, 2 toy spiral
  int arch_ = int(GanArch::Dcgan);
  // Live training.
  int loss_ = int(GanLoss::NonSaturating);
  int optimizer_ = int(GanOptimizer::Adam);
  float lr_g_ = 2e-4f, lr_d_ = 2e-4f;
  int d_steps_ = 1, slow_ms_ = 0;
  float smoothing_ = 0.9f;
  char path_[512] = "gan.safetensors";
  uint64_t synced_model_ = 0;  // the model whose settings the controls show
  // Samples and exploration.
  int timeline_index_ = -1;  // -1: follow the newest
  int seeds_[4] = {1, 2, 3, 4};
  int explore_steps_ = 10, explore_label_ = 0;
  bool slerp_ = true;
  uint64_t explored_for_ = 0;  // the model and step the exploration was last asked for
  DisplayImage samples_, surface_, strip_, seed_grid_;
  QualityControls quality_controls_;
  // Which view is open; one asked for at start waits for a model that has it.
  View view_ = View::Samples, requested_view_ = View::Samples;
  bool view_from_flag_ = false;

  // ProGAN's fade-in.
  DisplayImage fade_old_, fade_new_, fade_blended_;

  // StyleGAN: the controls as one request, what was sent, and what the redraws took.
  StyleRequest style_;
  float psi_ = 1.f;                          // style_.psi for the slider
  std::optional<StyleRequest> style_asked_;  // the last one sent
  Refresh style_refresh_;
  uint64_t style_seen_ = 0;  // the newest StyleView stamp drawn
  std::deque<std::pair<StyleRequest, std::chrono::steady_clock::time_point>> style_sent_;  // control changes in flight
  std::vector<double> style_latencies_ms_;
  std::mt19937_64 seed_rng_{std::random_device{}()};
  DisplayImage mixing_, truncation_, mean_image_, noise_draws_, noise_std_, z_path_, w_path_;

  // Path length: results stamped before the shown model was opened belong to another model.
  uint64_t path_length_after_ = 0;

  // Layer view.
  LayerViewState layer_;
  uint64_t layer_seed_ = 1;
  int layer_label_ = 0;
  std::optional<LayerRequest> layer_asked_;
  Refresh layer_refresh_;
};

}  // namespace genlab::app
