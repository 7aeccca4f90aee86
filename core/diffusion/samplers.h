// Diffusion samplers: stateless functions over a denoise callback, apart from the network and the
// schedule. Each takes x_T and walks a descending list of timesteps, reporting every step (for
// streaming and playback) and stopping when the callback says so. Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/diffusion/schedule.h"

namespace genlab {

enum class SamplerKind { DDPM, DDIM, DPMSolverPP2M };
const char* sampler_name(SamplerKind kind);  // "ddpm", "ddim", "dpmpp2m"
SamplerKind parse_sampler(const std::string& name);

// The noise the network predicts in x_t at timestep t (1..T), guidance already applied.
using Denoiser = std::function<torch::Tensor(const torch::Tensor& x_t, int t)>;

struct SamplerStep {
  int index = 0;           // 0-based step number
  int t = 0, t_next = 0;   // the step goes from t to t_next (0: clean)
  torch::Tensor x_t;       // the input of this step
  torch::Tensor eps;       // the denoiser's (guided) noise prediction at t, before any clipping
  torch::Tensor x0;        // the predicted clean image at t
  torch::Tensor x_next;    // the output of this step
};
// Return false to stop sampling (a newer request, a cancel).
using StepCallback = std::function<bool(const SamplerStep&)>;

struct SampleResult {
  torch::Tensor x;  // the final sample, or the latest x when stopped early
  int steps_done = 0;
  bool stopped = false;
};

// x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps: the forward jump.
torch::Tensor forward_jump(const NoiseSchedule& schedule, const torch::Tensor& x0, int t, const torch::Tensor& eps);
// x0 predicted from x_t and the noise prediction (the jump solved for x0).
torch::Tensor predict_x0(const NoiseSchedule& schedule, const torch::Tensor& x_t, int t, const torch::Tensor& eps);
// The noise prediction whose deterministic DDIM step (eta 0, no clipping) from x_t at t lands on
// x_next at s < t (s = 0: x_next is the clean image): what a distilled student learns to predict.
torch::Tensor ddim_eps_towards(const NoiseSchedule& schedule, const torch::Tensor& x_t, int t, int s,
                               const torch::Tensor& x_next);
// eps~ = eps(x, none) + w (eps(x, c) - eps(x, none)): w = 0 unconditional, w = 1 conditional.
torch::Tensor classifier_free_guidance(const torch::Tensor& eps_uncond, const torch::Tensor& eps_cond, double w);

// One walk down a descending list of timesteps, a step at a time: the caller calls the network on
// x() at t() and hands the prediction to advance(). Guided samplers change x between steps
// (inpainting's known region, super-resolution's low-pass) and RePaint steps back to redo a step;
// sample_timesteps is the plain loop. Validates the list (1..T, descending).
class SamplerWalk {
 public:
  SamplerWalk(SamplerKind kind, const NoiseSchedule& schedule, torch::Tensor x, std::vector<int> timesteps, double eta,
              uint64_t noise_seed, double clip_x0 = 0);
  bool done() const { return index_ >= timesteps_.size(); }
  int index() const { return int(index_); }     // the next step's number
  int t() const { return timesteps_[index_]; }  // the timestep of the next network call
  int t_next() const { return index_ + 1 < timesteps_.size() ? timesteps_[index_ + 1] : 0; }
  const torch::Tensor& x() const { return x_; }
  void set_x(torch::Tensor x) { x_ = std::move(x); }
  // The step from x() at t() with the network's (guided) noise prediction; x() becomes its output.
  SamplerStep advance(const torch::Tensor& eps);
  // Back to the start of the step just taken, from `x_t` (its output noised back up to its t): the
  // step is redone with the multistep memory it had, and with fresh ancestral noise.
  void redo_last(torch::Tensor x_t);

 private:
  SamplerKind kind_;
  const NoiseSchedule& schedule_;
  torch::Tensor x_;
  std::vector<int> timesteps_;
  double eta_, clip_x0_;
  uint64_t noise_seed_;
  size_t index_ = 0;
  int repeat_ = 0, last_repeat_ = 0;  // redos of the current and the last step: each draws other noise
  // DPM-Solver++(2M) keeps the last data prediction and log-SNR step, and the pair before the step
  // just taken (for redo_last).
  torch::Tensor previous_x0_, before_x0_;
  double previous_h_ = 0, before_h_ = 0;
};

// Counts a finished step in `result` and hands it to `on_step`; false (result.stopped set when steps
// remain) when on_step asks to stop. The loops over a walk share it.
bool report_step(const SamplerStep& step, const SamplerWalk& walk, const StepCallback& on_step, SampleResult& result);

// eta: DDIM's stochasticity (0 deterministic, 1 ~ DDPM); ignored by the other samplers. The fresh
// noise of DDPM and DDIM with eta > 0 at timestep t comes from a generator seeded by (noise_seed, t),
// so a run continued from any step with the same parameters retraces the original path (branching
// relies on it). clip_x0 > 0 clamps each predicted x0 to
// [-clip_x0, clip_x0] (images in [-1, 1]: at large t, x0 = (x_t - sqrt(1 - ab) eps) / sqrt(ab)
// multiplies the net's error by up to 1 / sqrt(ab_T) ~ 160); the noise direction then follows it.
SampleResult sample(SamplerKind kind, const NoiseSchedule& schedule, const Denoiser& denoise, torch::Tensor x_T,
                    int steps, double eta, uint64_t noise_seed, const StepCallback& on_step = {}, double clip_x0 = 0);
// The same walk over an explicit descending list of timesteps, starting from x at timesteps[0]
// (a branch continues a run from its step k this way; a multistep sampler starts first order).
SampleResult sample_timesteps(SamplerKind kind, const NoiseSchedule& schedule, const Denoiser& denoise,
                              torch::Tensor x, const std::vector<int>& timesteps, double eta, uint64_t noise_seed,
                              const StepCallback& on_step = {}, double clip_x0 = 0);

}  // namespace genlab
