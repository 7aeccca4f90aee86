// The Diffusion tab: the forward process (slide t and watch a data image drown in noise, by the
// jump formula and by the Markov chain side by side, with the schedule and the formula's numbers),
// and live sampling: change the sampler, steps, CFG scale, eta, class or seed and the picture
// re-forms, every step streamed as it is computed and kept on a timeline to scrub.
#pragma once

#include <string>
#include <vector>

#include "app/gl_image.h"
#include "core/labs/diffusion_lab.h"

namespace genlab::app {

class DiffusionPanel {
 public:
  void draw(Session& session, ImageRenderer& renderer);
  // A sample grid PNG written by genlab: restores the parameters (and the model) that made it.
  void restore_from_png(Session& session, const std::string& path);

 private:
  void rebuild_schedule_plot();
  void draw_forward(Session& session, ImageRenderer& renderer);
  void draw_sampling(Session& session, ImageRenderer& renderer);

  int schedule_ = 0;  // BetaSchedule
  int t_ = 0, index_ = 0, seed_ = 1;
  uint64_t requested_for_data_ = 0;  // the data-set snapshot the view was asked for
  NoiseSchedule schedule_values_;
  std::vector<float> steps_, beta_, alpha_bar_, signal_, noise_, log_snr_;
  DisplayImage x0_, noise_image_, jump_, chain_;
  SamplingParams params_;
  int sampler_ = 2;  // ddpm, ddim, dpmpp2m
  char path_[512] = "ddpm.safetensors";
  uint64_t sampled_for_model_ = 0;  // the model snapshot the last request was made for
  int frame_ = -1;                  // -1: follow the newest step
  bool opened_sampling_ = false;    // the Sample view opens by itself once, when a model arrives
  DisplayImage sample_x_t_, sample_x0_;
};

}  // namespace genlab::app
