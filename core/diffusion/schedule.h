// The forward process of a diffusion model: beta_t, alpha_t = 1 - beta_t, alpha_bar_t = prod alpha,
// for t = 1..T (stored at index t - 1). Plain numbers, torch-free: the UI plots them, the samplers
// and the trainer read them.
#pragma once

#include <string>
#include <vector>

namespace genlab {

enum class BetaSchedule { Linear, Cosine };
const char* schedule_name(BetaSchedule schedule);  // "linear", "cosine"
BetaSchedule parse_schedule(const std::string& name);

struct NoiseSchedule {
  BetaSchedule kind = BetaSchedule::Linear;
  int T = 1000;
  std::vector<double> beta, alpha_bar;  // index t - 1 for t = 1..T

  // Linear: beta from 1e-4 to 0.02 (Ho et al. 2020). Cosine: alpha_bar = cos^2 of a shifted ramp
  // (Nichol & Dhariwal 2021), betas clipped at 0.999.
  static NoiseSchedule make(BetaSchedule kind, int T = 1000);

  double alpha_bar_at(int t) const { return t <= 0 ? 1.0 : alpha_bar[size_t(t - 1)]; }  // t = 0: clean
  double signal(int t) const;  // sqrt(alpha_bar_t): how much of x0 is left in x_t
  double noise(int t) const;   // sqrt(1 - alpha_bar_t): how much noise is in x_t
  double snr(int t) const;     // alpha_bar_t / (1 - alpha_bar_t)
  // The t whose alpha_bar is nearest to `target` (for the worked example at alpha_bar ~ 0.3).
  int t_for_alpha_bar(double target) const;
};

// `steps` timesteps from T down, evenly spaced and ending at the lowest ("trailing"): T=1000,
// steps=4 gives 1000, 750, 500, 250. 1 <= steps <= T, else std::invalid_argument.
std::vector<int> sampling_timesteps(int T, int steps);

}  // namespace genlab
