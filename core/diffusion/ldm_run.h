// genlab-cli's entry points for latent text-to-image diffusion, reached through the diffusion
// family's (diffusion_run.cpp dispatches by checkpoint kind): train --model klae (the first stage)
// and --model ldm --autoencoder KLAE; sample --prompt/--negative; eval with FID-LeNet,
// precision/recall and prompt adherence for seen and held-out attribute-class pairs. Torch-free.
#pragma once

#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

bool is_latent_kind(const std::string& kind);  // "klae" or "ldm"

std::string train_latent(const TrainArgs& args, const LogLine& log);
std::string sample_latent(const SampleArgs& args);
std::string eval_latent(const EvalArgs& args, const LogLine& log);

// The held-out pairs --hold-out defaults to on Fashion-MNIST (none elsewhere).
extern const char* const kDefaultHeldOut;

}  // namespace genlab
