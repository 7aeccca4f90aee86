// The VAE tab: AE vs VAE vs VAE-GAN, beta, live training, latent sliders, manifold grid, interpolation, prior
// samples, the latent map and the VAE vs VAE-GAN comparison; the VQ-VAE mode is VqPanel. Reads the VaeLab's snapshots; every action is a request to the worker.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "app/gl_image.h"
#include "app/layer_view.h"
#include "app/panel.h"
#include "app/metrics_view.h"
#include "app/vae/vq_panel.h"
#include "core/vae/vae_lab.h"

namespace genlab::app {

class VaePanel : public Panel {
 public:
  void draw(Session& session, ImageRenderer& renderer) override;
  bool take_picture(Session& session, const std::string& path) override {
    encode_file(session, path);
    return true;
  }

  // A picture dropped on the window while this tab is open: encode it into the sliders.
  void encode_file(Session& session, const std::string& path);
  // Opens one of the views (for --vae-view and screenshots).
  void select_view(const std::string& name);
  // Moves the first slider every frame (a scripted user), to measure slider-to-image latency.
  void sweep_sliders(bool on) { sweep_ = on; }
  // Milliseconds from a slider change to the frame that draws its decoded image, one entry per image.
  const std::vector<double>& slider_latencies_ms() const { return latencies_ms_; }
  // Where the first slider was last drawn (window pixels: x0, y0, x1, y1; all 0 before), so a test
  // can drive it with real mouse events.
  const std::array<float, 4>& first_slider_rect() const { return first_slider_rect_; }

 private:
  enum class View { Training, Sliders, Manifold, Interpolation, Prior, Map, Compare, Metrics };

  void draw_controls(Session& session, const VaeLabView& lab);
  void draw_training(ImageRenderer& renderer, const VaeModelView& model, uint64_t stamp);
  void draw_sliders(Session& session, ImageRenderer& renderer, const VaeModelView& model);
  void draw_manifold(Session& session, ImageRenderer& renderer, const VaeModelView& model);
  void draw_interpolation(Session& session, ImageRenderer& renderer, const VaeLabView& lab);
  void draw_prior(Session& session, ImageRenderer& renderer, const VaeLabView& lab);
  void draw_map(Session& session, const VaeModelView& model);
  void draw_compare(Session& session, ImageRenderer& renderer, const VaeLabView& lab);
  void draw_metrics(Session& session);
  void request_view(Session& session, const VaeModelView& model);

  AutoencoderKind kind_ = AutoencoderKind::VAE;
  VaeConfig new_config_;
  float epochs_ = 5.f;
  float beta_ = 1.f, learning_rate_ = 1e-3f;
  char path_[512] = "vae.safetensors";
  View view_ = View::Training, requested_view_ = View::Training;
  bool view_from_flag_ = false;
  std::string model_signature_;  // what the views were last requested for
  uint64_t model_id_ = 0;        // the model the dim pickers were set up for
  uint64_t slot_ids_[kAutoencoderKinds] = {};  // each slot's model as last seen

  std::vector<float> z_;
  uint64_t decoded_stamp_ = 0;
  bool sweep_ = false;
  int sweep_frame_ = 0;
  std::array<float, 4> first_slider_rect_{};
  std::deque<std::pair<uint64_t, std::chrono::steady_clock::time_point>> sent_;  // decode requests in flight
  std::vector<double> latencies_ms_;
  LayerViewState layers_;
  uint64_t layers_for_ = 0;  // the decoded image whose code the layer view was last asked for
  int manifold_x_ = 0, manifold_y_ = 1, manifold_n_ = 12;
  float manifold_range_ = 3.f;
  int interp_a_ = 0, interp_b_ = 1, interp_steps_ = 10;
  bool slerp_ = false;
  bool playing_ = false;
  int play_index_ = 0;
  bool map_pca_ = false;
  int prior_seed_ = 1;
  int map_x_ = 0, map_y_ = 1, map_points_ = 2000;

  QualityControls quality_controls_;
  std::shared_ptr<const Snapshot<QualityView>> quality_[kAutoencoderKinds];  // the newest measurement of each slot
  DisplayImage originals_, reconstructions_, decoded_, manifold_, strip_[kAutoencoderKinds], play_[kAutoencoderKinds],
      prior_[kAutoencoderKinds];
  std::string compare_slots_;  // every slot's model and step when Compare was last asked for
  DisplayImage compare_originals_, compare_recon_[kAutoencoderKinds], compare_samples_[kAutoencoderKinds];
  std::array<float, 3> gan_weights_{1.f, 1.f, 1.f};  // VAE-GAN: pixel, feature, adversarial

  // The discrete-code mode: the VQ-VAE lab's panel, and the newest VQ model it was switched to for.
  bool vq_mode_ = false;
  VqPanel vq_;
  uint64_t vq_seen_ = 0;
  bool vq_opened_ = false;  // the shipped VQ model was offered (opened once, when the mode first showed)
};

}  // namespace genlab::app
