#include "core/lab/session.h"

#include <algorithm>

namespace genlab {

Session::Session(int threads, int preview_threads) {
  set_threads(threads, preview_threads);
  keep_freed_memory();
}

Session::~Session() = default;  // the worker (declared last) joins first, then the labs go

void Session::set_autosave(const std::string& dir, double every_s) {
  std::lock_guard<std::mutex> lock(autosave_mutex_);
  autosave_dir_ = dir;
  autosave_every_s_ = every_s;
}

std::string Session::autosave_path(const std::string& model) const {
  std::lock_guard<std::mutex> lock(autosave_mutex_);
  return autosave_dir_.empty() ? std::string() : autosave_dir_ + "/" + model + ".safetensors";
}

double Session::autosave_every_s() const {
  std::lock_guard<std::mutex> lock(autosave_mutex_);
  return autosave_every_s_;
}

std::vector<UnsavedTraining> Session::unsaved_training() const {
  std::vector<UnsavedTraining> out;
  for (const auto& lab : labs_)
    for (UnsavedTraining& u : lab->unsaved_training()) out.push_back(std::move(u));
  return out;
}

std::vector<std::string> Session::open_checkpoints() const {
  std::vector<std::string> out;
  for (const auto& lab : labs_)
    for (std::string& path : lab->open_checkpoints())
      if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(std::move(path));
  return out;
}

void Session::open_dataset(const std::string& spec, const LoadOptions& options) {
  worker_.submit("load " + spec, [this, spec, options](JobContext& ctx) {
    auto report = [&ctx](int64_t done, int64_t total) { ctx.progress(done, total); };
    // A failed load throws: the worker turns it into the error line, the old data set stays.
    auto data = std::make_shared<const Dataset>(load_dataset(spec, options, report));
    dataset_.publish({data, mean_image(*data, Split::Train)});
  });
}

void Session::probe_machine() {
  worker_.submit("measure machine", [this](JobContext&) { machine_.publish(genlab::probe_machine()); });
}

void Session::set_threads(int threads, int preview_threads) {
  const int with_job = threads > 0 ? threads : hardware_cores();
  worker_.set_compute_threads(with_job, preview_threads > 0 ? preview_threads : with_job);
}

void Session::start_cpu_load(double seconds) {
  worker_.submit("cpu load", [seconds](JobContext& ctx) { run_cpu_load(ctx, seconds); });
}

}  // namespace genlab
