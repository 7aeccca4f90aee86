#include "core/diffusion/samplers.h"

#include <cmath>
#include <stdexcept>

namespace genlab {

const char* sampler_name(SamplerKind kind) {
  return kind == SamplerKind::DDPM ? "ddpm" : kind == SamplerKind::DDIM ? "ddim" : "dpmpp2m";
}

SamplerKind parse_sampler(const std::string& name) {
  if (name == "ddpm") return SamplerKind::DDPM;
  if (name == "ddim") return SamplerKind::DDIM;
  if (name == "dpmpp2m") return SamplerKind::DPMSolverPP2M;
  throw std::invalid_argument("sampler '" + name + "' is not ddpm, ddim or dpmpp2m");
}

torch::Tensor forward_jump(const NoiseSchedule& s, const torch::Tensor& x0, int t, const torch::Tensor& eps) {
  return s.signal(t) * x0 + s.noise(t) * eps;
}

torch::Tensor predict_x0(const NoiseSchedule& s, const torch::Tensor& x_t, int t, const torch::Tensor& eps) {
  return (x_t - s.noise(t) * eps) / s.signal(t);
}

torch::Tensor ddim_eps_towards(const NoiseSchedule& sch, const torch::Tensor& x_t, int t, int s,
                               const torch::Tensor& x_next) {
  if (s == 0) return (x_t - sch.signal(t) * x_next) / sch.noise(t);
  // x_next = signal(s) (x_t - noise(t) eps) / signal(t) + noise(s) eps, solved for eps.
  const double ratio = sch.signal(s) / sch.signal(t);
  return (x_next - ratio * x_t) / (sch.noise(s) - ratio * sch.noise(t));
}

torch::Tensor classifier_free_guidance(const torch::Tensor& eps_uncond, const torch::Tensor& eps_cond, double w) {
  return eps_uncond + w * (eps_cond - eps_uncond);
}

namespace {

// One step from t to s < t. DDPM: the posterior q(x_s | x_t, x0) with the beta of the skipped span
// (exactly Ho et al.'s step when s = t - 1). DDIM: Song et al.'s update with sigma scaled by eta.
// The fresh noise comes from (noise_seed, t, repeat): a step redone draws other noise.
torch::Tensor ancestral_step(const NoiseSchedule& sch, SamplerKind kind, const torch::Tensor& x_t, int t, int s,
                             const torch::Tensor& eps, const torch::Tensor& x0, double eta, uint64_t noise_seed,
                             int repeat) {
  const double ab_t = sch.alpha_bar_at(t), ab_s = sch.alpha_bar_at(s);
  if (s == 0) return x0;
  auto fresh_noise = [&] {
    auto gen = at::detail::createCPUGenerator(noise_seed * 1000003ull + uint64_t(t) + uint64_t(repeat) * uint64_t(sch.T + 1));
    return at::randn(x_t.sizes(), gen);
  };
  const double beta_span = 1 - ab_t / ab_s;
  if (kind == SamplerKind::DDPM) {
    const double c0 = std::sqrt(ab_s) * beta_span / (1 - ab_t);
    const double ct = std::sqrt(ab_t / ab_s) * (1 - ab_s) / (1 - ab_t);
    const double sigma = std::sqrt((1 - ab_s) / (1 - ab_t) * beta_span);
    return c0 * x0 + ct * x_t + sigma * fresh_noise();
  }
  const double sigma = eta * std::sqrt((1 - ab_s) / (1 - ab_t) * beta_span);
  auto x = std::sqrt(ab_s) * x0 + std::sqrt(std::max(0.0, 1 - ab_s - sigma * sigma)) * eps;
  return sigma > 0 ? x + sigma * fresh_noise() : x;
}

}  // namespace

SamplerWalk::SamplerWalk(SamplerKind kind, const NoiseSchedule& schedule, torch::Tensor x, std::vector<int> timesteps,
                         double eta, uint64_t noise_seed, double clip_x0)
    : kind_(kind), schedule_(schedule), x_(std::move(x)), timesteps_(std::move(timesteps)), eta_(eta),
      clip_x0_(clip_x0), noise_seed_(noise_seed) {
  for (size_t i = 0; i < timesteps_.size(); ++i)
    if (timesteps_[i] < 1 || timesteps_[i] > schedule.T || (i > 0 && timesteps_[i] >= timesteps_[i - 1]))
      throw std::invalid_argument("timesteps must descend within 1.." + std::to_string(schedule.T));
}

SamplerStep SamplerWalk::advance(const torch::Tensor& prediction) {
  const NoiseSchedule& sch = schedule_;
  const int t = this->t(), s = t_next();
  SamplerStep step;
  step.index = int(index_);
  step.t = t;
  step.t_next = s;
  step.x_t = x_;
  step.eps = prediction;
  step.x0 = predict_x0(sch, x_, t, prediction);
  torch::Tensor eps = prediction;  // the noise direction the update follows
  if (clip_x0_ > 0) {
    step.x0 = step.x0.clamp(-clip_x0_, clip_x0_);
    eps = (x_ - sch.signal(t) * step.x0) / sch.noise(t);
  }
  before_x0_ = previous_x0_, before_h_ = previous_h_;
  if (kind_ == SamplerKind::DPMSolverPP2M) {
    if (s == 0) {
      step.x_next = step.x0;  // the last step lands on the data prediction (sigma = 0)
    } else {
      auto lambda = [&](int u) { return std::log(sch.signal(u) / sch.noise(u)); };
      const double h = lambda(s) - lambda(t);
      torch::Tensor d = step.x0;
      if (previous_x0_.defined()) {  // second order: extrapolate the data prediction
        const double r = previous_h_ / h;
        d = (1 + 1 / (2 * r)) * step.x0 - (1 / (2 * r)) * previous_x0_;
      }
      step.x_next = (sch.noise(s) / sch.noise(t)) * x_ - sch.signal(s) * std::expm1(-h) * d;
      previous_h_ = h;
    }
    previous_x0_ = step.x0;
  } else {
    step.x_next = ancestral_step(sch, kind_, x_, t, s, eps, step.x0, eta_, noise_seed_, repeat_);
  }
  x_ = step.x_next;
  ++index_;
  last_repeat_ = repeat_;
  repeat_ = 0;
  return step;
}

void SamplerWalk::redo_last(torch::Tensor x_t) {
  if (index_ == 0) throw std::logic_error("redo_last before any step");
  --index_;
  x_ = std::move(x_t);
  previous_x0_ = before_x0_, previous_h_ = before_h_;
  repeat_ = last_repeat_ + 1;
}

SampleResult sample(SamplerKind kind, const NoiseSchedule& sch, const Denoiser& denoise, torch::Tensor x_T, int steps,
                    double eta, uint64_t noise_seed, const StepCallback& on_step, double clip_x0) {
  return sample_timesteps(kind, sch, denoise, std::move(x_T), sampling_timesteps(sch.T, steps), eta, noise_seed,
                          on_step, clip_x0);
}

SampleResult sample_timesteps(SamplerKind kind, const NoiseSchedule& sch, const Denoiser& denoise, torch::Tensor x,
                              const std::vector<int>& ts, double eta, uint64_t noise_seed, const StepCallback& on_step,
                              double clip_x0) {
  SamplerWalk walk(kind, sch, std::move(x), ts, eta, noise_seed, clip_x0);
  SampleResult result;
  while (!walk.done())
    if (!report_step(walk.advance(denoise(walk.x(), walk.t())), walk, on_step, result)) break;
  result.x = walk.x();
  return result;
}

bool report_step(const SamplerStep& step, const SamplerWalk& walk, const StepCallback& on_step, SampleResult& result) {
  result.steps_done = step.index + 1;
  if (!on_step || on_step(step)) return true;
  result.stopped = !walk.done();
  return false;
}

}  // namespace genlab
