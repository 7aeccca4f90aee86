// What the app holds open: the worker, the data set, the machine figures. GUI-free, so tests and
// the CLI can drive exactly what the UI drives. Every method only enqueues; none waits.
#pragma once

#include <memory>
#include <string>

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
  // Labs hold worker-side state that jobs use until the worker joins, so they are declared first.
  std::unique_ptr<VaeLab> vae_;
  std::unique_ptr<GanLab> gan_;
  std::unique_ptr<DiffusionLab> diffusion_;
  Worker worker_;
};

}  // namespace genlab
