#include "core/lab/lab_training.h"

#include "core/io/shipped.h"
#include "core/lab/autosave.h"

namespace genlab {

void run_lab_training(JobContext& ctx, Session& session, SaveMailbox& saves, Trainer& trainer, const LabTraining& run) {
  torch::AutoGradMode grad(true);  // grad mode is per thread: set it on the thread that trains
  Autosave autosave(session, run.file, [&run](const std::string& path) {
    run.write(path);
    run.saved->autosaved = path;
  });
  SaveMailbox::Open saving(saves, run.file, run.save_later);
  const int64_t start = trainer.step();
  while ((run.steps == 0 || trainer.step() < start + run.steps) && ctx.step()) {
    try {
      run.step();
    } catch (const NonFiniteError& e) {
      // The weights are the last good ones: pause with the message, so the user can change a
      // setting (a lower learning rate) and resume, or save them.
      ctx.report_error(e.what());
      session.worker().set_paused(true);
      run.publish();
      continue;
    }
    ctx.progress(trainer.step() - start, run.steps);  // steps == 0 (play): elapsed time, no ETA
    autosave.tick(ctx);
    if (saves.serve(ctx, [&](const std::string& path) { save_as(*run.saved, trainer, run.write, path); })) run.publish();
  }
  autosave.finish(ctx);
}

void save_as(SaveState& saved, const Trainer& trainer, const std::function<void(const std::string&)>& write,
             const std::string& path) {
  refuse_shipped_path(path);  // the shipped models stay as they came
  write(path);
  saved.saved_at(path, trainer.step());
}

}  // namespace genlab
