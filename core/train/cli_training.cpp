#include "core/train/cli_training.h"

#include <chrono>
#include <cmath>

namespace genlab {

int64_t target_step(const TrainArgs& args, int64_t steps_per_epoch) {
  return args.steps > 0 ? args.steps : int64_t(std::ceil(args.epochs * double(steps_per_epoch)));
}

double run_cli_training(Trainer& trainer, const CliTraining& run, const LogLine& log) {
  if (run.target <= trainer.step())
    throw std::invalid_argument("nothing to train: the run is already at step " + std::to_string(trainer.step()));
  auto save = [&] { run.save ? run.save() : trainer.save(run.out); };
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0, last_save = t0;
  const int64_t first = trainer.step();
  while (trainer.step() < run.target && !stop_requested()) {
    try {
      trainer.train_once();
    } catch (const NonFiniteError& e) {
      save();
      throw std::runtime_error(std::string(e.what()) + "; saved those weights to " + run.out);
    }
    if (run.after_step) run.after_step();
    if (seconds_since(last_log) > 2.0 || trainer.step() == run.target) {
      last_log = std::chrono::steady_clock::now();
      const double rate = double(trainer.step() - first) / seconds_since(t0);
      char line[384];
      snprintf(line, sizeof line, "step %lld/%lld  epoch %.2f  %s  %.0f img/s  ETA %.0f s", (long long)trainer.step(),
               (long long)run.target, trainer.epoch(), run.describe ? run.describe().c_str() : "",
               rate * double(trainer.batch_images()), double(run.target - trainer.step()) / std::max(rate, 1e-9));
      log(line);
    }
    if (seconds_since(last_save) > run.checkpoint_every_s) {
      save();
      last_save = std::chrono::steady_clock::now();
    }
  }
  return seconds_since(t0);
}

}  // namespace genlab
