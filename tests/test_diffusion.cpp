// The diffusion math: schedules, the forward jump against the Markov chain, classifier-free
// guidance, and every sampler against exact denoisers whose answers are known.
#include <gtest/gtest.h>

#include <cmath>

#include "core/diffusion/samplers.h"

using namespace genlab;

namespace {

const NoiseSchedule kLinear = NoiseSchedule::make(BetaSchedule::Linear);

// For data x0 ~ N(m, s^2) the best noise prediction is known in closed form:
// E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) m) / (ab s^2 + 1 - ab).
Denoiser gaussian_oracle(const NoiseSchedule& sch, double m, double s) {
  return [&sch, m, s](const torch::Tensor& x, int t) {
    const double ab = sch.alpha_bar_at(t);
    return std::sqrt(1 - ab) * (x - std::sqrt(ab) * m) / (ab * s * s + 1 - ab);
  };
}

}  // namespace

TEST(Schedule, LinearMatchesTheDdpmPaper) {
  EXPECT_EQ(kLinear.T, 1000);
  EXPECT_DOUBLE_EQ(kLinear.beta.front(), 1e-4);
  EXPECT_DOUBLE_EQ(kLinear.beta.back(), 0.02);
  for (int t = 2; t <= 1000; ++t) ASSERT_LT(kLinear.alpha_bar_at(t), kLinear.alpha_bar_at(t - 1));
  EXPECT_NEAR(kLinear.alpha_bar_at(1000), 4.04e-5, 0.05e-5);  // essentially pure noise at T
  EXPECT_DOUBLE_EQ(kLinear.alpha_bar_at(0), 1.0);
  // The worked example: where alpha_bar ~ 0.3, x_t ~ 0.55 x0 + 0.84 eps.
  const int t = kLinear.t_for_alpha_bar(0.3);
  EXPECT_NEAR(kLinear.alpha_bar_at(t), 0.3, 0.003);
  EXPECT_NEAR(kLinear.signal(t), 0.55, 0.005);
  EXPECT_NEAR(kLinear.noise(t), 0.84, 0.005);
  EXPECT_GT(kLinear.snr(10), kLinear.snr(500));
}

TEST(Schedule, CosineIsGentlerEarlyAndEndsInNoise) {
  const NoiseSchedule cosine = NoiseSchedule::make(BetaSchedule::Cosine);
  EXPECT_GT(cosine.alpha_bar_at(500), kLinear.alpha_bar_at(500));  // keeps more signal mid-way
  EXPECT_LT(cosine.alpha_bar_at(1000), 1e-3);
  for (double b : cosine.beta) ASSERT_LE(b, 0.999);
  EXPECT_THROW(NoiseSchedule::make(BetaSchedule::Linear, 0), std::invalid_argument);
  EXPECT_EQ(parse_schedule("cosine"), BetaSchedule::Cosine);
  EXPECT_THROW(parse_schedule("quadratic"), std::invalid_argument);
}

TEST(ForwardProcess, TheJumpMatchesTheMarkovChainInMeanAndVariance) {
  torch::manual_seed(0);
  const int n = 40000, t = 300;
  auto x0 = torch::full({n}, 0.7, torch::kDouble);
  auto chain = x0.clone();
  for (int u = 1; u <= t; ++u) {
    const double beta = kLinear.beta[size_t(u - 1)];
    chain = std::sqrt(1 - beta) * chain + std::sqrt(beta) * torch::randn({n}, torch::kDouble);
  }
  auto jump = forward_jump(kLinear, x0, t, torch::randn({n}, torch::kDouble));
  const double mean = kLinear.signal(t) * 0.7, variance = 1 - kLinear.alpha_bar_at(t);
  const double se_mean = std::sqrt(variance / n), se_var = variance * std::sqrt(2.0 / n);
  for (const auto& x : {chain, jump}) {
    EXPECT_NEAR(x.mean().item<double>(), mean, 4 * se_mean);
    EXPECT_NEAR(x.var().item<double>(), variance, 4 * se_var);
  }
}

TEST(ForwardProcess, PredictX0InvertsTheJump) {
  auto x0 = torch::rand({4, 1, 5, 5}), eps = torch::randn({4, 1, 5, 5});
  for (int t : {1, 250, 999}) EXPECT_TRUE(torch::allclose(predict_x0(kLinear, forward_jump(kLinear, x0, t, eps), t, eps), x0, 1e-3, 1e-3));
}

TEST(Guidance, ReducesToConditionalAndUnconditional) {
  auto u = torch::randn({3, 4}), c = torch::randn({3, 4});
  EXPECT_TRUE(torch::allclose(classifier_free_guidance(u, c, 1.0), c));
  EXPECT_TRUE(torch::allclose(classifier_free_guidance(u, c, 0.0), u));
  EXPECT_TRUE(torch::allclose(classifier_free_guidance(u, c, 3.0), u + 3 * (c - u)));
}

TEST(Samplers, TimestepsAreTrailingAndChecked) {
  EXPECT_EQ(sampling_timesteps(1000, 4), (std::vector<int>{1000, 750, 500, 250}));
  auto all = sampling_timesteps(1000, 1000);
  EXPECT_EQ(all.front(), 1000);
  EXPECT_EQ(all.back(), 1);
  EXPECT_THROW(sampling_timesteps(1000, 0), std::invalid_argument);
  EXPECT_THROW(sampling_timesteps(1000, 1001), std::invalid_argument);
  EXPECT_EQ(parse_sampler("dpmpp2m"), SamplerKind::DPMSolverPP2M);
  EXPECT_THROW(parse_sampler("euler"), std::invalid_argument);
}

TEST(Samplers, EveryOneRecoversAGaussianDataDistribution) {
  // With the exact noise prediction for N(m, s^2) data, samples must come out with that mean and spread.
  const double m = 0.5, s = 0.3;
  const Denoiser oracle = gaussian_oracle(kLinear, m, s);
  struct Case {
    SamplerKind kind;
    int steps;
    double eta;
  };
  // Step counts where the discretisation error is small (checked against an independent NumPy version:
  // deterministic samplers shrink the spread at few steps, e.g. DDIM-50 gives 0.274).
  for (Case c : {Case{SamplerKind::DDPM, 1000, 0}, Case{SamplerKind::DDPM, 100, 0}, Case{SamplerKind::DDIM, 1000, 0},
                 Case{SamplerKind::DDIM, 1000, 1}, Case{SamplerKind::DPMSolverPP2M, 100, 0}}) {
    torch::manual_seed(1);
    auto x_T = torch::randn({20000}, torch::kDouble);
    SampleResult r = sample(c.kind, kLinear, oracle, x_T, c.steps, c.eta, 2);
    EXPECT_EQ(r.steps_done, c.steps);
    EXPECT_NEAR(r.x.mean().item<double>(), m, 0.02) << sampler_name(c.kind) << " " << c.steps;
    EXPECT_NEAR(r.x.std().item<double>(), s, 0.03) << sampler_name(c.kind) << " " << c.steps;
  }
}

TEST(Samplers, DpmSolverIsSecondOrderAndBeatsDdimAtFewSteps) {
  const double m = 0.5, s = 0.3;
  const Denoiser oracle = gaussian_oracle(kLinear, m, s);
  torch::manual_seed(3);
  auto x_T = torch::randn({20000}, torch::kDouble);
  auto spread_error = [&](SamplerKind kind, int steps) {
    return std::fabs(sample(kind, kLinear, oracle, x_T, steps, 0.0, 1).x.std().item<double>() - s);
  };
  EXPECT_LT(spread_error(SamplerKind::DPMSolverPP2M, 50), 0.5 * spread_error(SamplerKind::DDIM, 50));
  EXPECT_LT(spread_error(SamplerKind::DDIM, 200), spread_error(SamplerKind::DDIM, 50));  // converges with steps
}

TEST(Samplers, DdimWithEtaZeroIsDeterministic) {
  const Denoiser oracle = gaussian_oracle(kLinear, 0.0, 1.0);
  auto x_T = torch::randn({64});
  auto a = sample(SamplerKind::DDIM, kLinear, oracle, x_T, 20, 0.0, 1).x;
  auto b = sample(SamplerKind::DDIM, kLinear, oracle, x_T, 20, 0.0, 99).x;
  EXPECT_TRUE(torch::equal(a, b));
  auto c = sample(SamplerKind::DDIM, kLinear, oracle, x_T, 20, 1.0, 1).x;
  auto d = sample(SamplerKind::DDIM, kLinear, oracle, x_T, 20, 1.0, 99).x;
  EXPECT_FALSE(torch::equal(c, d));  // eta = 1 draws fresh noise
}

TEST(Samplers, StepsAreReportedAndSamplingStopsWhenAsked) {
  const Denoiser oracle = gaussian_oracle(kLinear, 0.0, 1.0);
  std::vector<int> seen;
  SampleResult r = sample(SamplerKind::DDPM, kLinear, oracle, torch::randn({8}), 10, 0.0, 1,
                          [&](const SamplerStep& step) {
                            seen.push_back(step.t);
                            EXPECT_EQ(step.x0.sizes(), step.x_t.sizes());
                            return step.index < 2;
                          });
  EXPECT_EQ(seen, (std::vector<int>{1000, 900, 800}));
  EXPECT_EQ(r.steps_done, 3);
  EXPECT_TRUE(r.stopped);
}

TEST(Samplers, ClippingKeepsPredictedImagesInRange) {
  // A denoiser that is badly wrong at large t: without clipping x0 explodes, with clipping it stays in [-1, 1].
  const Denoiser wrong = [](const torch::Tensor& x, int) { return torch::zeros_like(x); };
  auto x_T = torch::randn({256});
  double worst_unclipped = 0;
  sample(SamplerKind::DDIM, kLinear, wrong, x_T, 10, 0.0, 1, [&](const SamplerStep& step) {
    worst_unclipped = std::max(worst_unclipped, step.x0.abs().max().item<double>());
    return true;
  });
  EXPECT_GT(worst_unclipped, 10.0);
  SampleResult clipped = sample(SamplerKind::DDIM, kLinear, wrong, x_T, 10, 0.0, 1, [&](const SamplerStep& step) {
    EXPECT_LE(step.x0.abs().max().item<double>(), 1.0);
    return true;
  }, 1.0);
  EXPECT_LE(clipped.x.abs().max().item<double>(), 1.0 + 1e-6);
}

TEST(Samplers, ContinuingFromAStepRetracesTheRunAndOtherParametersLeaveIt) {
  // Branching: x after step k, walked down the remaining timesteps with the same parameters (and
  // the same noise seed), lands exactly where the whole run did; another guidance scale does not.
  const Denoiser oracle = gaussian_oracle(kLinear, 0.5, 0.3);
  auto x_T = torch::randn({32});
  std::vector<torch::Tensor> path;
  auto whole = sample(SamplerKind::DDPM, kLinear, oracle, x_T, 10, 0.0, 7, [&](const SamplerStep& step) {
    path.push_back(step.x_next);
    return true;
  });
  const std::vector<int> ts = sampling_timesteps(1000, 10);
  const int k = 3;  // continue after the 4th step, from x at ts[4]
  const std::vector<int> rest(ts.begin() + k + 1, ts.end());
  auto again = sample_timesteps(SamplerKind::DDPM, kLinear, oracle, path[k], rest, 0.0, 7);
  EXPECT_TRUE(torch::allclose(again.x, whole.x, 1e-6, 1e-6));
  auto other_seed = sample_timesteps(SamplerKind::DDPM, kLinear, oracle, path[k], rest, 0.0, 8);
  EXPECT_FALSE(torch::allclose(other_seed.x, whole.x, 1e-3, 1e-3));
  EXPECT_THROW(sample_timesteps(SamplerKind::DDPM, kLinear, oracle, path[k], {500, 600}, 0.0, 7), std::invalid_argument);
}
