// The Diffusion tab's Race view: the same noise and class through several samplers and step counts
// side by side, one network call per column per round, so the columns step in lock-step and the
// few-step samplers finish first: what each costs in network calls and time, and what it draws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/gl_image.h"
#include "core/diffusion/diffusion_lab.h"

namespace genlab::app {

class RacePanel {
 public:
  // Draws into the current window (the Diffusion tab's "Race" sub-tab). The race starts by itself
  // when the view first opens with a model, and again whenever a setting changes.
  void draw(Session& session, ImageRenderer& renderer);

  // One scripted setting: run 1 (start the race), class, cfg, seed, n (1..4), schedule, entries
  // ("ddpm:1000;ddim:50;dpmpp2m:5"). False for a key it does not take; throws
  // std::invalid_argument for a bad value.
  bool set(const std::string& key, const std::string& value);
  // The view was left: a race still running stops (a 1000-step column would hold the worker for
  // seconds), and runs again when the view opens next.
  void leave(Session& session);

 private:
  void draw_controls(const DiffusionModelView& model);
  void draw_entries(const DiffusionModelView& model);
  void draw_columns(ImageRenderer& renderer, const RaceView& view, uint64_t stamp);

  SamplingParams params_ = [] {
    SamplingParams p;
    p.n = 1;  // one image a column keeps seven columns at full size side by side
    return p;
  }();
  std::vector<RaceEntry> entries_ = default_race();
  bool start_ = false;               // start the race this frame (a setting changed, Run)
  uint64_t raced_for_model_ = 0;     // the model snapshot the last race ran on
  uint64_t errors_before_ = 0;       // the worker's error stamp as the newest race went out
  std::vector<DisplayImage> x_, x0_;  // per column
};

}  // namespace genlab::app
