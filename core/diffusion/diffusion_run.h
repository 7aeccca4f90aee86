// The diffusion jobs behind genlab-cli's train, sample and eval; torch-free so the CLI stays cheap
// to compile. Results are JSON text.
#pragma once

#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

// The family's genlab-cli entry points (see core/families.cpp): train --model ddpm, sample (with
// the sampler, steps, CFG scale and eta given), eval (FID-LeNet and the rest, the CFG curve across
// w = 0, 1, 1.5, 2, 3, 5 for a conditional model, and on request FID against steps per sampler).
std::string train_ddpm(const TrainArgs& args, const LogLine& log);
std::string sample_ddpm(const SampleArgs& args);
std::string eval_ddpm(const EvalArgs& args, const LogLine& log);

}  // namespace genlab
