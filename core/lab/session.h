// What the app holds open: the worker, the data set, the machine figures. GUI-free, so tests and
// the CLI can drive exactly what the UI drives. Every method only enqueues; none waits.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/compute/machine.h"
#include "core/compute/worker.h"
#include "core/data/dataset.h"
#include "core/data/image.h"

namespace genlab {

using DatasetPtr = std::shared_ptr<const Dataset>;

// A loaded data set with what the views derive from it once, off the UI thread.
struct OpenDataset {
  DatasetPtr data;
  ImageBuffer train_mean;
};

// A model trained past its last save or load: what closing the app would leave unsaved (an
// autosave copy aside).
struct UnsavedTraining {
  std::string model;  // "VAE", "autoencoder", "GAN", "diffusion model"
  int64_t steps = 0;  // steps since the last save or load
};

// Where a lab's model stands with its files: shown under each lab's Save button, and what closing
// the app asks about.
struct SaveState {
  std::string checkpoint;  // where it was last saved or loaded ("" for a new model)
  int64_t saved_step = 0;  // the step saved or loaded last: training past it is unsaved
  std::string autosaved;   // the newest autosave copy ("" when none)

  void saved_at(const std::string& path, int64_t step) {
    checkpoint = path;
    saved_step = step;
  }
  // `model` at `step`, as closing the app would leave it: none when nothing past the last save.
  std::vector<UnsavedTraining> unsaved(const std::string& model, int64_t step) const {
    if (step <= saved_step) return {};
    return {{model, step - saved_step}};
  }
};

class Session;

// What the session asks of every family's lab. A lab is made once per session, on the UI thread,
// the first time it is asked for (Session::lab<L>()); its jobs run on the session's worker.
class Lab {
 public:
  virtual ~Lab() = default;
  // From the views the lab last published.
  virtual std::vector<UnsavedTraining> unsaved_training() const = 0;
  // The files its models were loaded from or saved to last (the Compare tab measures those).
  virtual std::vector<std::string> open_checkpoints() const { return {}; }
};

class Session {
 public:
  // threads: the worker's compute threads while a long job (training, evaluation) runs, and for
  // the previews beside it (<= 0: all cores); preview_threads: for previews while no long job runs
  // (<= 0: the same as threads). The app gives training cores - 1, so the UI keeps a core, and a
  // preview alone all of them.
  explicit Session(int threads, int preview_threads = 0);
  ~Session();

  void open_dataset(const std::string& spec, const LoadOptions& options = {});
  void probe_machine();
  void set_threads(int threads, int preview_threads);
  void start_cpu_load(double seconds);  // a dummy long job: matmuls until done or cancelled

  // Training jobs keep a copy of their model in `dir`, one file a model ("vae", "gan", ...), every
  // `every_s` seconds of training and when they end: finished, stopped, or cancelled as the app
  // closes. An empty dir turns it off (the default).
  void set_autosave(const std::string& dir, double every_s);
  std::string autosave_path(const std::string& model) const;  // "" when off
  double autosave_every_s() const;

  // Models trained past their last save or load, in every lab made so far.
  std::vector<UnsavedTraining> unsaved_training() const;
  // The checkpoint files the labs made so far have open, each once.
  std::vector<std::string> open_checkpoints() const;

  // The lab of type L (VaeLab, GanLab, ...), made on first use. UI thread only.
  template <class L>
  L& lab() {
    for (const auto& made : labs_)
      if (auto* found = dynamic_cast<L*>(made.get())) return *found;
    labs_.push_back(std::make_unique<L>(*this));
    return static_cast<L&>(*labs_.back());
  }

  const Latest<OpenDataset>& dataset() const { return dataset_; }
  const Latest<MachineInfo>& machine() const { return machine_; }
  Worker& worker() { return worker_; }

 private:
  // Declared before the worker so they outlive it: jobs publish into them until the worker joins.
  Latest<OpenDataset> dataset_;
  Latest<MachineInfo> machine_;
  mutable std::mutex autosave_mutex_;
  std::string autosave_dir_;
  double autosave_every_s_ = 0;
  // Labs hold worker-side state that jobs use until the worker joins, so they are declared first.
  std::vector<std::unique_ptr<Lab>> labs_;
  Worker worker_;
};

}  // namespace genlab
