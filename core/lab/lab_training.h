// What every lab's training job does around its steps, written once for all families: the autosave
// (every few minutes and when the job ends, however it ends), saving while training (the training
// job writes a save asked for at its next step), and the pause on a NaN or inf with one line saying
// which weights were kept. Torch header.
#pragma once

#include <functional>
#include <string>

#include "core/compute/worker.h"
#include "core/lab/save_mailbox.h"
#include "core/lab/session.h"
#include "core/train/trainer.h"

namespace genlab {

struct LabTraining {
  std::string file;   // the autosave file and mailbox key: "vae", "ae", "gan", "ddpm"
  int64_t steps = 0;  // steps to train; 0: until stopped
  // One step with the lab's bookkeeping and publishing (throws NonFiniteError as the trainer does).
  std::function<void()> step;
  // Writes the model with its metrics and curves (the autosave, and the user's save while training).
  std::function<void(const std::string&)> write;
  SaveState* saved = nullptr;  // the lab's view of its files, updated by both
  // A save asked for after the last step: the lab submits it as an ordinary save job.
  std::function<void(const std::string&)> save_later;
  // Publishes the view after a save or a NaN pause.
  std::function<void()> publish;
};

void run_lab_training(JobContext& ctx, Session& session, SaveMailbox& saves, Trainer& trainer, const LabTraining& run);

// The user's save: to their path (never into the shipped models' folder), which becomes the
// model's checkpoint.
void save_as(SaveState& saved, const Trainer& trainer, const std::function<void(const std::string&)>& write,
             const std::string& path);

}  // namespace genlab
