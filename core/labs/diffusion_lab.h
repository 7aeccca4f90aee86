// The diffusion lab's model side: the forward process (a data image noised to step t by the
// closed-form jump and, beside it, by the Markov chain), and live sampling from a trained model —
// every step streamed as it is computed and kept for playback; a newer request cancels the running
// one within a step. Torch-free header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

struct DiffusionModelView {
  bool exists = false;
  std::string checkpoint;
  int64_t step = 0;
  int classes = 0, T = 1000;
  std::vector<std::string> class_names;
};

struct SamplingParams {
  std::string sampler = "dpmpp2m";
  int steps = 20;
  double cfg = 3.0, eta = 0.0;
  int label = -1;  // -1: one sample of each class (conditional models)
  uint64_t seed = 1;
  int n = 10;
};

struct SamplingStepFrame {
  int t = 0, t_next = 0;  // the step went from t to t_next (0: clean)
  ImageGrid x_t, x0;  // in [0, 1] for display
};

struct SamplingView {
  SamplingParams params;
  int total = 0;                          // steps this run takes
  // One per finished step, in order; shared, so publishing a step does not copy the earlier ones.
  std::vector<std::shared_ptr<const SamplingStepFrame>> frames;
  double seconds_first = 0, seconds_last = 0;  // from the request to the first and the last step
  bool done = false;
};

class DiffusionLab {
 public:
  explicit DiffusionLab(Session& session);
  ~DiffusionLab();

  void load(const std::string& path);  // a checkpoint of `genlab-cli train --model ddpm`
  void sample(const SamplingParams& params);
  const Latest<DiffusionModelView>& model() const { return model_; }
  const Latest<SamplingView>& sampling() const { return sampling_; }

  struct State;

  // x_t of test image `index` at step t (0..T) by the jump sqrt(ab) x0 + sqrt(1 - ab) eps and by t
  // chain steps x_u = sqrt(1 - beta_u) x_{u-1} + sqrt(beta_u) eps_u, with noise from `seed`.
  void forward_process(int64_t index, int t, BetaSchedule schedule, uint64_t seed);
  const Latest<ForwardProcessView>& forward_view() const { return forward_; }

 private:
  Session& session_;
  Latest<ForwardProcessView> forward_;
  Latest<DiffusionModelView> model_;
  Latest<SamplingView> sampling_;
  std::unique_ptr<State> state_;  // the model, touched only on the worker thread
};

}  // namespace genlab
