// The VAE/AE jobs behind genlab-cli's train, sample and eval, torch-free so the CLI stays cheap
// to compile. Results are JSON text.
#pragma once

#include <memory>
#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

struct ComparableModel;

// The family's genlab-cli entry points (see core/families.cpp): train --model vae|ae|vaegan, sample
// (the prior's samples: decoded z ~ N(0, I)), eval (the bounds; the prior samples' quality too when
// a classifier is given). VQ-VAE and prior checkpoints (--model vqvae|vqprior) go on to vq_run.h.
std::string train_vae(const TrainArgs& args, const LogLine& log);
std::string sample_vae(const SampleArgs& args);
std::string eval_vae(const EvalArgs& args, const LogLine& log);
// The Compare table's view of a checkpoint: decoded prior samples along the temperature (a VQ
// checkpoint goes to comparable_vq).
std::shared_ptr<ComparableModel> comparable_vae(const std::string& path);

}  // namespace genlab
