#include "core/diffusion/schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace genlab {

const char* schedule_name(BetaSchedule schedule) { return schedule == BetaSchedule::Linear ? "linear" : "cosine"; }

BetaSchedule parse_schedule(const std::string& name) {
  if (name == "linear") return BetaSchedule::Linear;
  if (name == "cosine") return BetaSchedule::Cosine;
  throw std::invalid_argument("schedule '" + name + "' is not linear or cosine");
}

NoiseSchedule NoiseSchedule::make(BetaSchedule kind, int T) {
  if (T < 1 || T > 100000) throw std::invalid_argument("T " + std::to_string(T) + " is not in 1..100000");
  NoiseSchedule s;
  s.kind = kind;
  s.T = T;
  s.beta.resize(size_t(T));
  if (kind == BetaSchedule::Linear) {
    for (int i = 0; i < T; ++i) s.beta[size_t(i)] = 1e-4 + (0.02 - 1e-4) * (T == 1 ? 0.0 : double(i) / double(T - 1));
  } else {
    const double offset = 0.008;
    auto f = [&](double t) { return std::pow(std::cos((t / T + offset) / (1 + offset) * M_PI / 2), 2); };
    for (int i = 0; i < T; ++i) s.beta[size_t(i)] = std::min(0.999, 1 - f(i + 1) / f(i));
  }
  s.alpha_bar.resize(size_t(T));
  double product = 1;
  for (int i = 0; i < T; ++i) s.alpha_bar[size_t(i)] = product *= 1 - s.beta[size_t(i)];
  return s;
}

double NoiseSchedule::signal(int t) const { return std::sqrt(alpha_bar_at(t)); }
double NoiseSchedule::noise(int t) const { return std::sqrt(1 - alpha_bar_at(t)); }
double NoiseSchedule::snr(int t) const { return alpha_bar_at(t) / std::max(1e-20, 1 - alpha_bar_at(t)); }

int NoiseSchedule::t_for_alpha_bar(double target) const {
  int best = 1;
  for (int t = 1; t <= T; ++t)
    if (std::fabs(alpha_bar_at(t) - target) < std::fabs(alpha_bar_at(best) - target)) best = t;
  return best;
}

std::vector<int> sampling_timesteps(int T, int steps) {
  if (steps < 1 || steps > T)
    throw std::invalid_argument("steps " + std::to_string(steps) + " is not in 1.." + std::to_string(T));
  std::vector<int> out;
  for (int k = 0; k < steps; ++k) out.push_back(int(std::lround(T - double(k) * T / steps)));
  return out;
}

}  // namespace genlab
