// The classifier behind FID-LeNet as a family of genlab-cli: `train --model classifier` trains the
// LeNet (3 epochs unless told) and `eval` reports its test accuracy; it draws no samples.
// Torch-free header.
#pragma once

#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

// Trains the LeNet, writes `out` with its test accuracy; JSON with steps, seconds, images/s, accuracy.
std::string train_classifier(const TrainArgs& args, const LogLine& log);
// Its accuracy on the test split of its data set (or args.dataset); JSON.
std::string eval_classifier(const EvalArgs& args, const LogLine& log);

}  // namespace genlab
