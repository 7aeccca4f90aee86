// The Diffusion tab. So far: the forward process — slide t and watch a data image drown in noise,
// by the jump formula and by the Markov chain side by side, with the schedule plotted and the
// formula's live numbers.
#pragma once

#include <vector>

#include "app/gl_image.h"
#include "core/labs/diffusion_lab.h"

namespace genlab::app {

class DiffusionPanel {
 public:
  void draw(Session& session, ImageRenderer& renderer);

 private:
  void rebuild_schedule_plot();

  int schedule_ = 0;  // BetaSchedule
  int t_ = 0, index_ = 0, seed_ = 1;
  uint64_t requested_for_data_ = 0;  // the data-set snapshot the view was asked for
  NoiseSchedule schedule_values_;
  std::vector<float> steps_, beta_, alpha_bar_, signal_, noise_, log_snr_;
  DisplayImage x0_, noise_image_, jump_, chain_;
};

}  // namespace genlab::app
