// Editing with a diffusion model, each piece against its definition: guidance schedules keep their
// mean w, SDEdit at strength 0 is the identity, inpainting's known region is the forward-noised
// original at every step, ILVR's low-pass constraint holds at the end, RePaint's redo retraces a
// deterministic step; and the settings' checks and their PNG text.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/data/dataset.h"
#include "core/diffusion/guidance_schedule.h"
#include "core/diffusion/image_editing.h"
#include "core/diffusion/sampling_params.h"

using namespace genlab;

namespace {

const NoiseSchedule kLinear = NoiseSchedule::make(BetaSchedule::Linear);

// Data that is one image, x*: the exact noise prediction is (x_t - sqrt(ab) x*) / sqrt(1 - ab).
Denoiser point_oracle(const torch::Tensor& target) {
  return [target](const torch::Tensor& x, int t) {
    const double ab = kLinear.alpha_bar_at(t);
    return (x - std::sqrt(ab) * target) / std::sqrt(1 - ab);
  };
}

// Data x0 ~ N(m, s^2) per pixel: E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) m) / (ab s^2 + 1 - ab).
Denoiser gaussian_oracle(double m, double s) {
  return [m, s](const torch::Tensor& x, int t) {
    const double ab = kLinear.alpha_bar_at(t);
    return std::sqrt(1 - ab) * (x - std::sqrt(ab) * m) / (ab * s * s + 1 - ab);
  };
}

double mean_w(const GuidanceCurve& curve, const std::vector<int>& grid) {
  double sum = 0;
  for (int t : grid) sum += curve.at(t);
  return sum / double(grid.size());
}

}  // namespace

TEST(GuidanceSchedule, NamesReadBackAndBadOnesAreOneLine) {
  for (const char* name : {"constant", "linear-up", "linear-down", "cosine", "interval:0.28:5.42"})
    EXPECT_EQ(parse_guidance_schedule(name).name(), name);
  for (const char* bad : {"", "linear", "interval", "interval:1", "interval:2:1", "interval:1:1", "interval:-1:2",
                          "interval:a:2", "interval:0:inf"}) {
    try {
      parse_guidance_schedule(bad);
      ADD_FAILURE() << bad << " was taken";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("guidance schedule"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
}

TEST(GuidanceSchedule, EveryShapeHasTheMeanItIsAskedFor) {
  for (int steps : {5, 20, 50}) {
    const auto grid = sampling_timesteps(1000, steps);
    for (const char* name : {"constant", "linear-up", "linear-down", "cosine", "interval:0.28:5.42"}) {
      const GuidanceCurve curve(parse_guidance_schedule(name), 3.0, grid, kLinear);
      EXPECT_NEAR(mean_w(curve, grid), 3.0, 1e-9) << name << ", " << steps << " steps";
    }
  }
  const auto grid = sampling_timesteps(1000, 20);
  const GuidanceCurve up(parse_guidance_schedule("linear-up"), 2.0, grid, kLinear);
  const GuidanceCurve down(parse_guidance_schedule("linear-down"), 2.0, grid, kLinear);
  const GuidanceCurve cosine(parse_guidance_schedule("cosine"), 2.0, grid, kLinear);
  EXPECT_DOUBLE_EQ(up.at(grid.front()), 0.0);  // no guidance while the noise is thickest
  EXPECT_DOUBLE_EQ(down.at(grid.back()), 0.0);
  EXPECT_DOUBLE_EQ(cosine.at(grid.front()), 0.0);
  for (size_t i = 1; i < grid.size(); ++i) {
    EXPECT_GT(up.at(grid[i]), up.at(grid[i - 1]));
    EXPECT_LT(down.at(grid[i]), down.at(grid[i - 1]));
    EXPECT_GT(cosine.at(grid[i]), cosine.at(grid[i - 1]));
  }
  EXPECT_EQ(GuidanceCurve(GuidanceSchedule{}, 4.5, grid, kLinear).at(321), 4.5);
}

TEST(GuidanceSchedule, AnIntervalGuidesOnlyItsNoiseLevels) {
  const auto grid = sampling_timesteps(1000, 20);
  const GuidanceSchedule s = parse_guidance_schedule("interval:0.28:5.42");
  const GuidanceCurve curve(s, 3.0, grid, kLinear);
  int inside = 0;
  for (int t : grid) {
    const double sigma = noise_level(kLinear, t);
    EXPECT_NEAR(sigma, std::sqrt(1 / kLinear.alpha_bar_at(t) - 1), 1e-12);
    if (sigma > 0.28 && sigma <= 5.42) {
      ++inside;
      EXPECT_DOUBLE_EQ(curve.at(t), curve.inside_w());
    } else {
      EXPECT_DOUBLE_EQ(curve.at(t), 1.0);  // the conditional prediction: no guidance
    }
  }
  ASSERT_GT(inside, 0);
  ASSERT_LT(inside, 20);
  EXPECT_NEAR(curve.inside_w(), 1 + 2.0 * 20 / inside, 1e-9);
  // An interval between the grid's noise levels holds no step: a clear error, not w = 1 silently.
  try {
    GuidanceCurve(parse_guidance_schedule("interval:200:300"), 3.0, sampling_timesteps(1000, 5), kLinear);
    ADD_FAILURE() << "an interval with no step was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("holds none of the 5 sampling steps"), std::string::npos) << e.what();
  }
}

TEST(SDEdit, StrengthZeroReturnsTheInputAndOneStartsFromNoise) {
  EXPECT_TRUE(sdedit_timesteps(1000, 20, 0.0).empty());
  EXPECT_EQ(sdedit_timesteps(1000, 20, 1.0), sampling_timesteps(1000, 20));
  const std::vector<int> half = sdedit_timesteps(1000, 20, 0.52);
  EXPECT_EQ(half.front(), 520);
  EXPECT_EQ(half[1], 500);
  EXPECT_EQ(half.back(), 50);

  torch::manual_seed(3);
  const auto image = torch::rand({1, 1, 8, 8}) * 2 - 1;
  const auto target = torch::full({1, 1, 8, 8}, 0.5);
  EditSettings e;
  e.strength = 0;
  int calls = 0;
  const Denoiser counting = [&](const torch::Tensor& x, int t) { return ++calls, point_oracle(target)(x, t); };
  auto same = run_edit(SamplerKind::DDIM, kLinear, counting, e, image, {}, torch::zeros({3, 1, 8, 8}), 20, 0, 1);
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(same.x.size(0), 3);
  EXPECT_TRUE(torch::equal(same.x, image.expand({3, 1, 8, 8})));
  // Low strength stays near the drawing; full strength forgets it and draws from the model's data,
  // here N(0.5, 0.2^2) per pixel.
  const Denoiser data = gaussian_oracle(0.5, 0.2);
  auto distance = [&](double strength) {
    e.strength = strength;
    auto x = run_edit(SamplerKind::DDIM, kLinear, data, e, image, {}, torch::zeros({16, 1, 8, 8}), 20, 0, 1).x;
    return (x - image).abs().mean().item<double>();
  };
  const double far = (torch::randn({4096}) * 0.2 + 0.5 - image.flatten().repeat(64)).abs().mean().item<double>();
  EXPECT_LT(distance(0.02), 0.2 * far);
  EXPECT_LT(distance(0.02), distance(0.2));
  EXPECT_LT(distance(0.2), distance(0.6));
  e.strength = 1.0;
  auto high = run_edit(SamplerKind::DPMSolverPP2M, kLinear, data, e, image, {}, torch::randn({64, 1, 8, 8}), 100, 0, 1).x;
  EXPECT_NEAR(high.mean().item<double>(), 0.5, 0.02);
  EXPECT_NEAR(high.std().item<double>(), 0.2, 0.03);  // at 100 steps: fewer shrink the spread
}

TEST(Denoise, StartsAtTheStepWhoseNoiseLevelTheImageHas) {
  const int t = t_for_noise_level(kLinear, 0.3);
  EXPECT_NEAR(noise_level(kLinear, t), 0.3, 0.01);
  const auto target = torch::full({1, 1, 8, 8}, -0.2);
  EditSettings e;
  e.mode = EditMode::Denoise;
  e.sigma = 0.3;
  torch::manual_seed(4);
  const auto noisy = target + 0.3 * torch::randn({1, 1, 8, 8});
  std::vector<int> seen;
  auto out = run_edit(SamplerKind::DDIM, kLinear, point_oracle(target), e, noisy, {}, torch::zeros({1, 1, 8, 8}), 20, 0, 1,
                      [&](const SamplerStep& step) { return seen.push_back(step.t), true; })
                 .x;
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), t);
  EXPECT_LT((out - target).abs().max().item<double>(), 1e-3);
}

TEST(Inpainting, TheKnownRegionIsTheForwardNoisedOriginalAtEveryStep) {
  torch::manual_seed(5);
  const auto original = torch::rand({1, 1, 8, 8}) * 2 - 1;
  auto known = torch::ones({1, 1, 8, 8});
  known.slice(2, 2, 6).slice(3, 2, 6).zero_();  // a 4 x 4 hole
  const auto target = torch::full({1, 1, 8, 8}, 0.7);
  for (SamplerKind kind : {SamplerKind::DDPM, SamplerKind::DDIM, SamplerKind::DPMSolverPP2M})
    for (int r : {1, 3}) {
      EditSettings e;
      e.mode = EditMode::Inpaint;
      e.resample = r;
      const uint64_t seed = 11;
      int calls = 0, steps_seen = 0;
      const Denoiser counting = [&](const torch::Tensor& x, int t) { return ++calls, point_oracle(target)(x, t); };
      auto out = run_edit(kind, kLinear, counting, e, original, known, torch::randn({2, 1, 8, 8}), 10, 0, seed,
                          [&](const SamplerStep& step) {
                            ++steps_seen;
                            auto expected = step.t_next == 0
                                                ? original.expand_as(step.x_next)
                                                : forward_jump(kLinear, original.expand_as(step.x_next), step.t_next,
                                                               edit_noise(step.x_next, seed, step.t_next, r - 1));
                            EXPECT_TRUE(torch::allclose(step.x_next * known, expected * known, 0, 1e-6))
                                << sampler_name(kind) << " r " << r << " t " << step.t_next;
                            return true;
                          })
                      .x;
      EXPECT_EQ(steps_seen, 10);
      EXPECT_EQ(calls, r * 9 + 1);  // every step but the last is redone r - 1 times
      EXPECT_TRUE(torch::equal(out * known, original.expand_as(out) * known));
      // The hole is the model's: the point oracle fills it with its image.
      EXPECT_LT(((out - target) * (1 - known)).abs().max().item<double>(), 1e-3) << sampler_name(kind);
    }
}

TEST(SuperResolution, TheLowPassOfTheResultIsTheLowResImage) {
  torch::manual_seed(6);
  const auto x = torch::randn({2, 1, 8, 8});
  EXPECT_TRUE(torch::allclose(low_pass(low_pass(x, 4), 4), low_pass(x, 4), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(low_pass(x, 4).sum({2, 3}), x.sum({2, 3}), 0, 1e-4));
  const auto high = torch::rand({1, 1, 8, 8}) * 2 - 1;
  const auto reference = low_pass(high, 4);  // the low-res image blown up by nearest
  const auto target = torch::full({1, 1, 8, 8}, 0.3) + 0.2 * torch::randn({1, 1, 8, 8});
  EditSettings e;
  e.mode = EditMode::SuperRes;
  e.factor = 4;
  for (SamplerKind kind : {SamplerKind::DDPM, SamplerKind::DPMSolverPP2M}) {
    const uint64_t seed = 2;
    auto out = run_edit(kind, kLinear, point_oracle(target), e, reference, {}, torch::randn({1, 1, 8, 8}), 20, 0, seed,
                        [&](const SamplerStep& step) {
                          if (step.t_next == 0) return true;
                          auto noised = forward_jump(kLinear, reference, step.t_next,
                                                     edit_noise(step.x_next, seed, step.t_next));
                          EXPECT_TRUE(torch::allclose(low_pass(step.x_next, 4), low_pass(noised, 4), 0, 1e-5));
                          return true;
                        })
                   .x;
    EXPECT_TRUE(torch::allclose(low_pass(out, 4), reference, 0, 1e-5)) << sampler_name(kind);
    // The detail inside each block is the model's: the target's, shifted to the block's mean.
    auto detail = out - low_pass(out, 4), target_detail = target - low_pass(target, 4);
    EXPECT_LT((detail - target_detail).abs().max().item<double>(), 1e-3) << sampler_name(kind);
  }
}

TEST(SamplerWalk, RedoingADeterministicStepRetracesItAndAnAncestralOneDrawsNewNoise) {
  const auto target = torch::full({1, 1, 4, 4}, 0.1);
  const auto grid = sampling_timesteps(1000, 10);
  for (SamplerKind kind : {SamplerKind::DDIM, SamplerKind::DPMSolverPP2M, SamplerKind::DDPM}) {
    SamplerWalk walk(kind, kLinear, torch::ones({1, 1, 4, 4}), grid, 0.0, 3);
    const Denoiser oracle = point_oracle(target * 0.5);  // wrong on purpose: x0 moves between steps
    for (int k = 0; k < 3; ++k) walk.advance(oracle(walk.x(), walk.t()));
    const auto before = walk.x();
    const int t = walk.t();
    const auto first = walk.advance(oracle(walk.x(), walk.t())).x_next;
    walk.redo_last(before);
    EXPECT_EQ(walk.t(), t);
    const auto again = walk.advance(oracle(walk.x(), walk.t())).x_next;
    if (kind == SamplerKind::DDPM) EXPECT_FALSE(torch::allclose(first, again)) << "the redo drew the same noise";
    else EXPECT_TRUE(torch::allclose(first, again, 0, 1e-6)) << sampler_name(kind);
  }
}

TEST(EditSettings, BadValuesAreOneLineNamingThem) {
  auto message = [](EditSettings s) {
    try {
      check_edit_settings(s, 28, "--");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EditSettings s;
  EXPECT_EQ(message(s), "");
  s.strength = 1.5;
  EXPECT_EQ(message(s), "--strength 1.5 is not in 0..1");
  s = {};
  s.strength = std::nan("");
  EXPECT_NE(message(s), "");
  s = {};
  s.mode = EditMode::SuperRes;
  s.factor = 3;
  EXPECT_EQ(message(s), "--superres 3 does not divide the image size 28 (2 or more)");
  s.factor = 7;
  EXPECT_EQ(message(s), "");
  s = {};
  s.resample = 0;
  EXPECT_EQ(message(s), "--resample 0 is not in 1..20");
  s = {};
  s.mode = EditMode::Denoise;
  s.sigma = 0;
  EXPECT_EQ(message(s), "--denoise 0 is not a noise level in (0, 10]");
  EXPECT_THROW(parse_edit_mode("outpaint"), std::invalid_argument);
}

TEST(EditSettings, APngsTextCarriesTheScheduleAndTheEdit) {
  SamplingRecord record;
  record.params.cfg_schedule = "interval:0.28:5.42";
  record.edited = true;
  record.edit.mode = EditMode::Inpaint;
  record.edit.resample = 5;
  const SamplingRecord back = parse_sampling_record(sampling_record_json(record), "x.png");
  EXPECT_EQ(back.params.cfg_schedule, "interval:0.28:5.42");
  ASSERT_TRUE(back.edited);
  EXPECT_EQ(back.edit.mode, EditMode::Inpaint);
  EXPECT_EQ(back.edit.resample, 5);
  EXPECT_FALSE(parse_sampling_record(R"({"sampler": "ddim"})", "y.png").edited);
  EXPECT_THROW(parse_sampling_record(R"({"sampler": "ddim", "cfg_schedule": "zigzag"})", "z.png"), DataError);
  EXPECT_THROW(parse_sampling_record(R"({"sampler": "ddim", "edit": {"mode": "outpaint"}})", "z.png"), DataError);
  EXPECT_THROW(parse_sampling_record(R"({"sampler": "ddim", "edit": 3})", "z.png"), DataError);
  SamplingParams p;
  p.cfg_schedule = "interval:3:1";
  EXPECT_THROW(check_sampling_params(p, 1000, 10, "--"), std::invalid_argument);
}
