// genlab-cli's entry points for latent text-to-image diffusion, reached through the diffusion
// family's (diffusion_run.cpp dispatches by checkpoint kind): train --model klae (the first stage)
// and --model ldm --autoencoder KLAE; sample --prompt/--negative; eval with FID-LeNet,
// precision/recall and prompt adherence for seen and held-out attribute-class pairs. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

struct ComparableModel;

class Trainer;
struct DiffusionTrainingPoint;

bool is_latent_kind(const std::string& kind);  // "klae" or "ldm"

std::string train_latent(const TrainArgs& args, const LogLine& log);
std::string sample_latent(const SampleArgs& args);
std::string eval_latent(const EvalArgs& args, const LogLine& log);
// An ldm's samples for the prompts 'a <class>' along steps and the CFG scale; its autoencoder alone
// draws none.
std::shared_ptr<ComparableModel> comparable_latent(const std::string& path);

// The CLI loop of the diffusion family's trainers (ddpm, klae, ldm): the shared run with the loss
// curve `history` growing from `last_loss()` after each step and "loss <smoothed>" in the progress
// line; `save` writes the checkpoint with the metrics JSON it is given. Returns the seconds spent.
double train_with_curve(Trainer& trainer, const TrainArgs& request, int64_t per_epoch,
                        std::vector<DiffusionTrainingPoint>& history, const std::function<float()>& last_loss,
                        const std::function<void(const std::string& metrics)>& save, const LogLine& log);

// The held-out pairs --hold-out defaults to on Fashion-MNIST (none elsewhere).
extern const char* const kDefaultHeldOut;

}  // namespace genlab
