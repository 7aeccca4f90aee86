// The GAN jobs behind genlab-cli's train, sample and eval, torch-free so the CLI stays cheap to
// compile. Results are JSON text.
#pragma once

#include <memory>
#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

struct ComparableModel;

// The family's genlab-cli entry points (see core/families.cpp): train --model gan, sample (G's
// images), eval (FID-LeNet and the rest on G's images).
std::string train_gan(const TrainArgs& args, const LogLine& log);
std::string sample_gan(const SampleArgs& args);
std::string eval_gan(const EvalArgs& args, const LogLine& log);
// The Compare table's view of a checkpoint: G's samples along the truncation psi.
std::shared_ptr<ComparableModel> comparable_gan(const std::string& path);

}  // namespace genlab
