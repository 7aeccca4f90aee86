#include "core/train/cli_training.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/train/data_parallel.h"

namespace genlab {

torch::Device training_device(const TrainArgs& args) {
  if (args.device == "cpu") return torch::kCPU;
  if (args.device != "cuda") throw std::invalid_argument("--device " + args.device + ": expected cpu or cuda");
  if (!torch::cuda::is_available())
    throw std::invalid_argument("--device cuda: no CUDA device here (this LibTorch is a CPU build, or no GPU is visible)");
  return torch::Device(torch::kCUDA, int8_t(args.parallel.rank % int(torch::cuda::device_count())));
}

int64_t target_step(const TrainArgs& args, int64_t steps_per_epoch) {
  return args.steps > 0 ? args.steps : int64_t(std::ceil(args.epochs * double(steps_per_epoch)));
}

double run_cli_training(Trainer& trainer, const CliTraining& run, const LogLine& log) {
  if (run.target <= trainer.step())
    throw std::invalid_argument("nothing to train: the run is already at step " + std::to_string(trainer.step()));
  auto save = [&] { run.save ? run.save() : trainer.save(run.out); };
  std::shared_ptr<DataParallel> ranks;
  if (run.parallel.world_size > 1) {
    nlohmann::json setup = nlohmann::json::parse(trainer.setup_json());
    setup["target_step"] = run.target;
    ranks = std::make_shared<DataParallel>(run.parallel, setup.dump());
    trainer.join(ranks);
  }
  const bool writes = !ranks || ranks->rank() == 0;
  auto stopping = [&] { return ranks ? trainer.stop_agreed() : stop_requested().load(); };
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0, last_save = t0;
  const int64_t first = trainer.step();
  while (trainer.step() < run.target && !stopping()) {
    try {
      trainer.train_once();
    } catch (const NonFiniteError& e) {
      save();
      throw std::runtime_error(std::string(e.what()) + "; saved those weights to " + run.out);
    } catch (const RankError& e) {
      if (!writes) throw;
      save();  // the failed step changed no weights: what is saved is the last step all ranks took
      throw RankError(std::string(e.what()) + "; saved step " + std::to_string(trainer.step()) + " to " + run.out);
    }
    if (ranks) ranks->finished_step(trainer.step());
    if (run.after_step) run.after_step();
    if (!writes) continue;
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
  const double seconds = seconds_since(t0);
  if (ranks && writes && trainer.step() > first) {
    const DataParallel::Traffic traffic = ranks->traffic();
    const double steps = double(trainer.step() - first);
    char line[256];
    snprintf(line, sizeof line, "data-parallel: %d ranks; all-reduce %.2f ms a step (%.0f%% of the step), %.2f MB a step in %.1f buckets",
             ranks->world_size(), 1000 * traffic.seconds / steps, 100 * traffic.seconds / seconds,
             traffic.bytes / steps / 1e6, double(traffic.buckets) / steps);
    log(line);
  }
  return seconds;
}

}  // namespace genlab
