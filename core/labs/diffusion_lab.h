// The diffusion lab's model side. So far: the forward process — a data image noised to step t by
// the closed-form jump and, beside it, by running the Markov chain step by step. Torch-free header.
#pragma once

#include <cstdint>

#include "core/compute/latest.h"
#include "core/diffusion/schedule.h"
#include "core/image.h"
#include "core/session.h"

namespace genlab {

struct ForwardProcessView {
  int64_t index = 0;  // test image
  int t = 0;
  BetaSchedule schedule = BetaSchedule::Linear;
  ImageBuffer x0, noise, jump, chain;  // x0, jump and chain in [-1, 1]; noise ~ N(0, 1)
  double alpha_bar = 1, signal = 1, noise_scale = 0;
};

class DiffusionLab {
 public:
  explicit DiffusionLab(Session& session) : session_(session) {}

  // x_t of test image `index` at step t (0..T) by the jump sqrt(ab) x0 + sqrt(1 - ab) eps and by t
  // chain steps x_u = sqrt(1 - beta_u) x_{u-1} + sqrt(beta_u) eps_u, with noise from `seed`.
  void forward_process(int64_t index, int t, BetaSchedule schedule, uint64_t seed);
  const Latest<ForwardProcessView>& forward_view() const { return forward_; }

 private:
  Session& session_;
  Latest<ForwardProcessView> forward_;
};

}  // namespace genlab
