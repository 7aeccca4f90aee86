// The VQ-VAE and its prior behind genlab-cli's train, sample and eval (reached through the VAE
// family's entries). Torch-free; results are JSON text.
#pragma once

#include <memory>
#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

struct ComparableModel;

bool is_vq_kind(const std::string& kind);  // "vqvae" or "vqprior"
std::string train_vq(const TrainArgs& args, const LogLine& log);
// A prior's samples: code maps drawn position by position, decoded by its VQ-VAE.
std::string sample_vq(const SampleArgs& args);
// vqvae: test reconstruction and code usage; vqprior: test nats per position and, with a
// classifier, the decoded samples' quality.
std::string eval_vq(const EvalArgs& args, const LogLine& log);
// A prior's samples along its temperature; a VQ-VAE alone draws none.
std::shared_ptr<ComparableModel> comparable_vq(const std::string& path);

}  // namespace genlab
