// A training job's autosave: a copy of the model in the session's autosave folder every so many
// seconds of training and once more when the job ends, whatever ends it. A failed write is
// reported and training goes on.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "core/compute/worker.h"
#include "core/lab/session.h"

namespace genlab {

class Autosave {
 public:
  // save(path) writes the model; `model` names the file ("vae", "ae", "gan", "ddpm").
  Autosave(Session& session, const std::string& model, std::function<void(const std::string&)> save)
      : path_(session.autosave_path(model)), every_s_(session.autosave_every_s()), save_(std::move(save)) {}

  // Call once a step; writes when the interval has passed. Returns true when it wrote.
  bool tick(JobContext& ctx) {
    if (path_.empty() || every_s_ <= 0 || std::chrono::steady_clock::now() - last_ < std::chrono::duration<double>(every_s_))
      return false;
    return write(ctx);
  }
  // Call when the job ends, after its last step.
  bool finish(JobContext& ctx) { return !path_.empty() && write(ctx); }

 private:
  bool write(JobContext& ctx) {
    last_ = std::chrono::steady_clock::now();
    try {
      std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
      save_(path_);
      return true;
    } catch (const std::exception& e) {
      ctx.report_error(std::string("autosave: ") + e.what());
      return false;
    }
  }

  std::string path_;
  double every_s_;
  std::function<void(const std::string&)> save_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace genlab
