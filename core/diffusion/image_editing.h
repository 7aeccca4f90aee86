// Editing with a trained diffusion model, no retraining: SDEdit (noise an image to t = s T by the
// forward jump and denoise it: a sketch becomes an image), denoising (an image that already holds
// noise of level sigma is x_t / sqrt(alpha_bar_t) at the t whose noise level is sigma), inpainting
// (RePaint: the known region replaced at every step by the forward-noised original, each step redone
// r times from its output noised back up) and super-resolution (ILVR: after every step the low-pass
// of x is swapped for the low-pass of the forward-noised low-res image). Every sampler works; the
// settings and their checks are in edit_settings.h. Torch header.
#pragma once

#include <torch/torch.h>

#include "core/diffusion/edit_settings.h"
#include "core/diffusion/samplers.h"

namespace genlab {

// The timesteps of an SDEdit run of strength s: t0 = round(s T) first, then the `steps`-step grid
// below it. Empty at s = 0 (nothing to undo: the input is the output).
std::vector<int> sdedit_timesteps(int T, int steps, double strength);
// The timestep whose noise level is nearest to sigma (denoising starts there).
int t_for_noise_level(const NoiseSchedule& schedule, double sigma);
// The timesteps an edit walks: SDEdit's above, denoising's from sigma's t down the grid, the whole
// grid for inpainting and super-resolution.
std::vector<int> edit_timesteps(const EditSettings& settings, const NoiseSchedule& schedule, int steps);

// The forward noise an edit draws at timestep t (its known region, its low-res reference, its
// start), N(0, I) of `like`'s shape from (seed, t, repeat): a run is reproducible from its seed.
torch::Tensor edit_noise(const torch::Tensor& like, uint64_t seed, int t, int repeat = 0);

// The mean of each factor x factor block spread back over the block: a projection
// (low_pass(low_pass(x)) = low_pass(x)), so ILVR's constraint holds exactly at the end.
torch::Tensor low_pass(const torch::Tensor& x, int factor);

// Runs the edit from x_T (noise; SDEdit and denoising start from the image instead) down the
// `steps` grid. `image`: B x C x H x W in [-1, 1] (or 1 x ...): the drawing (SDEdit), the noisy
// image (denoise), the original whose unknown part is ignored (inpaint), the low-res image blown up
// by nearest (super-res). `known`: inpainting's 1 x 1 x H x W (or B x ...) mask, 1 where the image
// is kept. Reports each step once (an inpainting step after its last redo) with x_next already
// constrained.
// What the model gets from an image (1 x C x H x W in [0, 1]) and a mask (1 x 1 x H x W, above 0.5
// where the model fills in; Inpaint only): the reference in [-1, 1] that run_edit takes, the known
// mask, and in [0, 1] what to show as the input (the hole grey; the low-res copy blown up by
// nearest), super-resolution's low-res image and its bicubic blow-up. Throws std::invalid_argument
// for an inpainting mask with nothing to fill in.
struct PreparedEdit {
  torch::Tensor reference, known, shown, low_res, bicubic;
};
PreparedEdit prepare_edit(const EditSettings& settings, const torch::Tensor& image, const torch::Tensor& mask);

// The results (B x C x H x W in [0, 1]) and the baselines against the original: super-resolution's
// nearest, bicubic and "superres"; otherwise the input as the model got it and the edit's result.
std::vector<EditScore> edit_scores(const EditSettings& settings, const PreparedEdit& prepared,
                                   const torch::Tensor& results, const torch::Tensor& truth);

SampleResult run_edit(SamplerKind kind, const NoiseSchedule& schedule, const Denoiser& denoise,
                      const EditSettings& settings, const torch::Tensor& image, const torch::Tensor& known,
                      torch::Tensor x_T, int steps, double eta, uint64_t seed, const StepCallback& on_step = {},
                      double clip_x0 = 1.0);

}  // namespace genlab
