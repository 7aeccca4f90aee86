// Guidance as a function of the step: w(t) instead of one w for the whole run. Constant, a linear
// ramp up (little guidance while the layout forms, more as details settle) or down, a cosine ramp
// up, or guidance only inside an interval of noise levels (Kynkaanniemi et al. 2024: none at the
// highest and lowest noise, where it costs diversity and does little). Every shape is scaled so
// that its mean over the run's steps is the w asked for, so schedules compare at the same mean w.
// Torch-free: the UI draws the curve, the parser of the PNG text reads it.
#pragma once

#include <string>
#include <vector>

#include "core/diffusion/schedule.h"

namespace genlab {

enum class GuidanceShape { Constant, LinearUp, LinearDown, Cosine, Interval };

struct GuidanceSchedule {
  GuidanceShape shape = GuidanceShape::Constant;
  double lo = 0, hi = 0;  // Interval: guided where lo < sigma_t <= hi (sigma_t: noise_level(t))

  std::string name() const;  // "constant", "linear-up", "linear-down", "cosine", "interval:LO:HI"
};

// Reads that name back; throws std::invalid_argument naming the text when it is none of those or
// the interval is empty or not a pair of finite noise levels 0 <= LO < HI.
GuidanceSchedule parse_guidance_schedule(const std::string& text);

// The noise level of x_t in units of the image: sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t)
// (x_t / sqrt(alpha_bar_t) = x0 + sigma_t eps), the axis of the interval.
double noise_level(const NoiseSchedule& schedule, int t);

// w at each timestep of a run whose step grid is `grid` (sampling_timesteps of its step count).
// Ramps rise or fall with the step's place p in the grid (0 at its first timestep, 1 at its last):
// linear-up w ~ p, linear-down w ~ 1 - p, cosine w ~ (1 - cos(pi p)) / 2, scaled so the grid's
// mean is w. Interval: 1 (no guidance: the conditional prediction) outside, and inside the value
// that makes the mean w. A timestep off the grid (a branch's first) gets the same curve's value.
class GuidanceCurve {
 public:
  // Throws std::invalid_argument when an interval holds none of the grid's timesteps.
  GuidanceCurve(const GuidanceSchedule& schedule, double w, const std::vector<int>& grid, const NoiseSchedule& noise);
  double at(int t) const;
  double operator()(int t) const { return at(t); }  // a w-by-t function for the guided denoiser
  double inside_w() const { return inside_; }  // Interval: w inside it

 private:
  double shape_at(int t) const;  // the unscaled shape

  GuidanceSchedule schedule_;
  const NoiseSchedule* noise_;
  double w_, scale_ = 1, inside_ = 1;
  int first_ = 0, last_ = 0;  // the grid's first (highest) and last timestep
};

// The curve of a run of `steps` steps with guidance w on schedule `schedule` (a name), over that
// run's grid. Throws as parse_guidance_schedule and GuidanceCurve do.
GuidanceCurve run_guidance(const std::string& schedule, double w, int steps, const NoiseSchedule& noise);

}  // namespace genlab
