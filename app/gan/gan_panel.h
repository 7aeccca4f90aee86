// The GAN tab: GAN-Lab-style controls over live adversarial training, the monitoring plots, the
// fixed-noise grid with a timeline to scrub, the mode-collapse meter, the 2-D toy mode drawn over
// D's decision surface, and seed exploration.
#pragma once

#include "app/gl_image.h"
#include "app/panel.h"
#include "app/metrics_view.h"
#include "core/gan/gan_lab.h"

namespace genlab::app {

class GanPanel : public Panel {
 public:
  void draw(Session& session, ImageRenderer& renderer) override;


 private:
  void draw_controls(Session& session, const GanLabView& view);
  void draw_monitor(const GanLabView& view);
  void draw_images(Session& session, ImageRenderer& renderer, const GanLabView& view, uint64_t stamp);
  void draw_toy(ImageRenderer& renderer, const GanLabView& view, uint64_t stamp);
  void draw_metrics(Session& session, const GanLabView& view);

  GanConfig new_config_ = [] {
    GanConfig c;
    c.conditional = true;  // the default data set is labelled: ask for classes from the start
    return c;
  }();
  int mode_ = 0;  // 0 images, 1 toy ring, 2 toy spiral
  int loss_ = int(GanLoss::NonSaturating);
  int optimizer_ = int(GanOptimizer::Adam);
  float lr_g_ = 2e-4f, lr_d_ = 2e-4f;
  int d_steps_ = 1, slow_ms_ = 0;
  float smoothing_ = 0.9f;
  char path_[512] = "gan.safetensors";
  int timeline_index_ = -1;  // -1: follow the newest
  int seeds_[4] = {1, 2, 3, 4};
  int explore_steps_ = 10, explore_label_ = 0;
  bool slerp_ = true;
  uint64_t explored_for_ = 0;
  uint64_t synced_model_ = 0;  // the model whose settings the controls show  // the view stamp the exploration was last asked for
  DisplayImage samples_, surface_, strip_, seed_grid_;
  QualityControls quality_controls_;
};

}  // namespace genlab::app
