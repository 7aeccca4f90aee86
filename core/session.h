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
#include "core/image.h"

namespace genlab {

class VaeLab;
class GanLab;
class DiffusionLab;

using DatasetPtr = std::shared_ptr<const Dataset>;

// A loaded data set with what the views derive from it once, off the UI thread.
struct OpenDataset {
  DatasetPtr data;
  ImageBuffer train_mean;
};

class Session {
 public:
  // threads: torch intra-op threads for the worker (<= 0: all cores).
  explicit Session(int threads);
  ~Session();

  void open_dataset(const std::string& spec, const LoadOptions& options = {});
  void probe_machine();
  void set_threads(int threads);
  void start_cpu_load(double seconds);  // a dummy long job: matmuls until done or cancelled

  // Training jobs keep a copy of their model in `dir`, one file a model ("vae", "gan", ...), every
  // `every_s` seconds of training and when they end: finished, stopped, or cancelled as the app
  // closes. An empty dir turns it off (the default).
  void set_autosave(const std::string& dir, double every_s);
  std::string autosave_path(const std::string& model) const;  // "" when off
  double autosave_every_s() const;

  // Models trained past their last save or load, as the labs last published them: what closing
  // the app would leave unsaved (an autosave copy aside).
  struct UnsavedTraining {
    std::string model;  // "VAE", "autoencoder", "GAN", "diffusion model"
    int64_t steps = 0;  // steps since the last save or load
  };
  std::vector<UnsavedTraining> unsaved_training() const;

  const Latest<OpenDataset>& dataset() const { return dataset_; }
  const Latest<MachineInfo>& machine() const { return machine_; }
  Worker& worker() { return worker_; }
  VaeLab& vae() { return *vae_; }
  GanLab& gan() { return *gan_; }
  DiffusionLab& diffusion() { return *diffusion_; }

 private:
  // Declared before the worker so they outlive it: jobs publish into them until the worker joins.
  Latest<OpenDataset> dataset_;
  Latest<MachineInfo> machine_;
  mutable std::mutex autosave_mutex_;
  std::string autosave_dir_;
  double autosave_every_s_ = 0;
  // Labs hold worker-side state that jobs use until the worker joins, so they are declared first.
  std::unique_ptr<VaeLab> vae_;
  std::unique_ptr<GanLab> gan_;
  std::unique_ptr<DiffusionLab> diffusion_;
  Worker worker_;
};

}  // namespace genlab
