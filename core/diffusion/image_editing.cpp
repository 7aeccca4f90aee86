#include "core/diffusion/image_editing.h"

#include <cmath>

#include "core/diffusion/guidance_schedule.h"
#include "core/metrics/image_similarity.h"

namespace genlab {

namespace F = torch::nn::functional;

std::vector<int> sdedit_timesteps(int T, int steps, double strength) {
  const int t0 = int(std::lround(strength * T));
  std::vector<int> out;
  if (t0 < 1) return out;
  out.push_back(t0);
  for (int t : sampling_timesteps(T, steps))
    if (t < t0) out.push_back(t);
  return out;
}

int t_for_noise_level(const NoiseSchedule& schedule, double sigma) {
  int best = 1;
  for (int t = 1; t <= schedule.T; ++t)
    if (std::fabs(noise_level(schedule, t) - sigma) < std::fabs(noise_level(schedule, best) - sigma)) best = t;
  return best;
}

std::vector<int> edit_timesteps(const EditSettings& settings, const NoiseSchedule& schedule, int steps) {
  switch (settings.mode) {
    case EditMode::SDEdit: return sdedit_timesteps(schedule.T, steps, settings.strength);
    case EditMode::Denoise: {
      const int t0 = t_for_noise_level(schedule, settings.sigma);
      std::vector<int> out{t0};
      for (int t : sampling_timesteps(schedule.T, steps))
        if (t < t0) out.push_back(t);
      return out;
    }
    case EditMode::Inpaint:
    case EditMode::SuperRes: break;
  }
  return sampling_timesteps(schedule.T, steps);
}

torch::Tensor edit_noise(const torch::Tensor& like, uint64_t seed, int t, int repeat) {
  auto gen = at::detail::createCPUGenerator(seed * 2654435761ull + uint64_t(t) * 64 + uint64_t(repeat));
  return at::randn(like.sizes(), gen);
}

torch::Tensor low_pass(const torch::Tensor& x, int factor) {
  auto low = F::avg_pool2d(x, F::AvgPool2dFuncOptions(factor));
  return low.repeat_interleave(factor, 2).repeat_interleave(factor, 3);
}

PreparedEdit prepare_edit(const EditSettings& e, const torch::Tensor& image, const torch::Tensor& mask) {
  PreparedEdit p;
  p.shown = image;
  if (e.mode == EditMode::Inpaint) {
    p.known = (mask <= 0.5).to(torch::kFloat);
    if (p.known.min().item<float>() > 0) throw std::invalid_argument("the mask is empty: paint the part to fill in");
    p.shown = image * p.known + 0.5 * (1 - p.known);
  } else if (e.mode == EditMode::SuperRes) {
    p.low_res = F::avg_pool2d(image, F::AvgPool2dFuncOptions(e.factor));
    p.shown = upsample(p.low_res, image.size(2), false);
    p.bicubic = upsample(p.low_res, image.size(2), true);
  }
  p.reference = (e.mode == EditMode::SuperRes ? p.shown : image) * 2 - 1;
  return p;
}

std::vector<EditScore> edit_scores(const EditSettings& e, const PreparedEdit& p, const torch::Tensor& results,
                                   const torch::Tensor& truth) {
  auto score = [&truth](const std::string& name, const torch::Tensor& images) {
    const auto target = truth.expand_as(images);
    return EditScore{name, psnr(images, target), ssim(images, target)};
  };
  if (e.mode == EditMode::SuperRes)
    return {score("nearest", p.shown), score("bicubic", p.bicubic), score("superres", results)};
  return {score("input", p.shown), score(edit_mode_name(e.mode), results)};
}

SampleResult run_edit(SamplerKind kind, const NoiseSchedule& sch, const Denoiser& denoise, const EditSettings& settings,
                      const torch::Tensor& image, const torch::Tensor& known, torch::Tensor x_T, int steps, double eta,
                      uint64_t seed, const StepCallback& on_step, double clip_x0) {
  torch::NoGradGuard no_grad;
  const std::vector<int> timesteps = edit_timesteps(settings, sch, steps);
  torch::Tensor x;
  switch (settings.mode) {
    case EditMode::SDEdit:
      if (timesteps.empty()) return SampleResult{image.expand_as(x_T).clone(), 0, false};
      x = forward_jump(sch, image.expand_as(x_T), timesteps.front(), edit_noise(x_T, seed, timesteps.front()));
      break;
    case EditMode::Denoise:
      // The image is x0 + sigma eps: scaled by sqrt(alpha_bar_t) it is x_t where sigma_t = sigma.
      x = sch.signal(timesteps.front()) * image.expand_as(x_T);
      break;
    case EditMode::Inpaint:
    case EditMode::SuperRes:
      x = std::move(x_T);
      break;
  }
  const torch::Tensor reference = image.expand_as(x);
  // x after a step to t_next, made to agree with the image where the edit says it must.
  auto constrain = [&](const torch::Tensor& x_next, int t_next, int repeat) -> torch::Tensor {
    if (settings.mode != EditMode::Inpaint && settings.mode != EditMode::SuperRes) return x_next;
    // The reference at t_next by the forward jump (itself at t = 0).
    auto noised = t_next == 0 ? reference : forward_jump(sch, reference, t_next, edit_noise(x_next, seed, t_next, repeat));
    if (settings.mode == EditMode::Inpaint) return known * noised + (1 - known) * x_next;
    return x_next - low_pass(x_next, settings.factor) + low_pass(noised, settings.factor);
  };
  const int redos = settings.mode == EditMode::Inpaint ? settings.resample - 1 : 0;
  SamplerWalk walk(kind, sch, std::move(x), timesteps, eta, seed + 1, clip_x0);
  SampleResult result;
  int repeat = 0;
  while (!walk.done()) {
    SamplerStep step = walk.advance(denoise(walk.x(), walk.t()));
    step.x_next = constrain(step.x_next, step.t_next, repeat);
    walk.set_x(step.x_next);
    if (repeat < redos && step.t_next > 0) {
      // RePaint's resampling: x_t ~ q(x_t | x_{t_next}), then the step again, so the generated part
      // gets another look at the known part it must join.
      const double keep = sch.alpha_bar_at(step.t) / sch.alpha_bar_at(step.t_next);
      auto noise = edit_noise(step.x_next, seed + 7, step.t, repeat);
      walk.redo_last(std::sqrt(keep) * step.x_next + std::sqrt(1 - keep) * noise);
      ++repeat;
      continue;
    }
    repeat = 0;
    if (!report_step(step, walk, on_step, result)) break;
  }
  result.x = walk.x();
  return result;
}

}  // namespace genlab
