// genlab-cli's training loop, the same for every family: train to a step count, a progress line
// about every 2 s, the checkpoint written every so many seconds, Ctrl-C (stop_requested()) ending
// the run after its step, and on a NaN or inf the good weights saved before the error ends the run.
// With --world-size > 1 the loop first joins the other ranks (core/train/data_parallel.h); rank 0
// logs and writes. Torch header.
#pragma once

#include <functional>
#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"
#include "core/train/trainer.h"

namespace genlab {

struct CliTraining {
  // To `target`, writing args.out every args.checkpoint_every_s seconds.
  CliTraining(const TrainArgs& args, int64_t target)
      : target(target), out(args.out), checkpoint_every_s(args.checkpoint_every_s), parallel(args.parallel) {}

  int64_t target;             // the step to train to
  std::string out;            // the checkpoint
  double checkpoint_every_s;  // also write `out` this often, so a long run loses little
  ParallelOptions parallel;   // world_size > 1: train with the other ranks
  // The family's figures for the progress line (after "step N/M  epoch E  ").
  std::function<std::string()> describe;
  // After each good step: the family's bookkeeping (its curves).
  std::function<void()> after_step;
  // Writes `out` (default: the weights with no metrics).
  std::function<void()> save;
};

// Returns the seconds spent training. Throws std::invalid_argument ("nothing to train") when a
// resumed run is already at or past run.target, or the ranks were started unlike each other;
// std::runtime_error ("...; saved those weights to OUT") on a NaN or inf, after saving; RankError
// when another rank is lost (rank 0 saves the last step all ranks took first).
double run_cli_training(Trainer& trainer, const CliTraining& run, const LogLine& log);

// The device a run trains on (--device): the CPU, or a CUDA GPU (a rank of a data-parallel run takes
// GPU rank mod the GPUs here). Throws std::invalid_argument when CUDA is asked for and none is usable.
torch::Device training_device(const TrainArgs& args);

// The step a run trains to: --steps, else --epochs of `steps_per_epoch`.
int64_t target_step(const TrainArgs& args, int64_t steps_per_epoch);

}  // namespace genlab
