#include "core/diffusion/guidance_schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace genlab {

namespace {

constexpr double kPi = 3.14159265358979323846;

const char* const kShapes = "constant, linear-up, linear-down, cosine or interval:LO:HI";

double number(const std::string& text, const std::string& whole) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
    throw std::invalid_argument("guidance schedule '" + whole + "': '" + text + "' is not a number");
  return v;
}

std::string short_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace

std::string GuidanceSchedule::name() const {
  switch (shape) {
    case GuidanceShape::Constant: return "constant";
    case GuidanceShape::LinearUp: return "linear-up";
    case GuidanceShape::LinearDown: return "linear-down";
    case GuidanceShape::Cosine: return "cosine";
    case GuidanceShape::Interval: return "interval:" + short_number(lo) + ":" + short_number(hi);
  }
  return "constant";
}

GuidanceSchedule parse_guidance_schedule(const std::string& text) {
  GuidanceSchedule s;
  if (text == "constant") return s;
  if (text == "linear-up") return s.shape = GuidanceShape::LinearUp, s;
  if (text == "linear-down") return s.shape = GuidanceShape::LinearDown, s;
  if (text == "cosine") return s.shape = GuidanceShape::Cosine, s;
  const std::string prefix = "interval:";
  if (text.compare(0, prefix.size(), prefix) != 0)
    throw std::invalid_argument("guidance schedule '" + text + "' is not " + kShapes);
  const std::string rest = text.substr(prefix.size());
  const size_t colon = rest.find(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("guidance schedule '" + text + "': an interval is interval:LO:HI (noise levels)");
  s.shape = GuidanceShape::Interval;
  s.lo = number(rest.substr(0, colon), text);
  s.hi = number(rest.substr(colon + 1), text);
  if (s.lo < 0 || s.hi <= s.lo)
    throw std::invalid_argument("guidance schedule '" + text + "': the interval is empty (needs 0 <= LO < HI)");
  return s;
}

double noise_level(const NoiseSchedule& schedule, int t) {
  const double ab = schedule.alpha_bar_at(t);
  return std::sqrt((1 - ab) / ab);
}

GuidanceCurve::GuidanceCurve(const GuidanceSchedule& schedule, double w, const std::vector<int>& grid,
                             const NoiseSchedule& noise)
    : schedule_(schedule), noise_(&noise), w_(w) {
  if (grid.empty()) return;
  first_ = grid.front(), last_ = grid.back();
  double sum = 0;
  for (int t : grid) sum += shape_at(t);
  const double n = double(grid.size());
  if (schedule.shape == GuidanceShape::Interval) {
    if (sum == 0)
      throw std::invalid_argument("guidance schedule " + schedule.name() + " holds none of the " +
                                  std::to_string(grid.size()) + " sampling steps (their noise levels run from " +
                                  short_number(noise_level(noise, last_)) + " to " +
                                  short_number(noise_level(noise, first_)) + ")");
    inside_ = 1 + (w - 1) * n / sum;  // (n - m) * 1 + m * inside = n * w
  } else if (sum > 0) {
    scale_ = w * n / sum;
  } else {
    schedule_.shape = GuidanceShape::Constant;  // a one-step run of a ramp that is 0 there: w itself
  }
}

double GuidanceCurve::shape_at(int t) const {
  const double p = first_ == last_ ? 1.0 : std::clamp(double(first_ - t) / double(first_ - last_), 0.0, 1.0);
  switch (schedule_.shape) {
    case GuidanceShape::Constant: return 1;
    case GuidanceShape::LinearUp: return p;
    case GuidanceShape::LinearDown: return 1 - p;
    case GuidanceShape::Cosine: return (1 - std::cos(kPi * p)) / 2;
    case GuidanceShape::Interval: {
      const double sigma = noise_level(*noise_, t);
      return sigma > schedule_.lo && sigma <= schedule_.hi ? 1 : 0;
    }
  }
  return 1;
}

double GuidanceCurve::at(int t) const {
  if (schedule_.shape == GuidanceShape::Constant) return w_;
  if (schedule_.shape == GuidanceShape::Interval) return shape_at(t) > 0 ? inside_ : 1.0;
  return scale_ * shape_at(t);
}

GuidanceCurve run_guidance(const std::string& schedule, double w, int steps, const NoiseSchedule& noise) {
  return GuidanceCurve(parse_guidance_schedule(schedule), w, sampling_timesteps(noise.T, steps), noise);
}

}  // namespace genlab
