// Saving while training: the UI's save request goes to the running training job of that model,
// which writes it at its next step (a save job would wait in the queue until training stops).
// Torch-free.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "core/compute/worker.h"

namespace genlab {

// A save asked for while a training job of that model runs: the job writes it at its next step,
// instead of the save job waiting in the queue until training stops.
class SaveMailbox {
 public:
  // UI thread: true when a running training job of `model` took the request (else submit a job).
  bool post(const std::string& model, const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (model != running_) return false;
    pending_ = path;
    return true;
  }
  // Training job, once a step: writes a waiting request with `save`. Returns true when there was one;
  // a failed write is reported and training goes on.
  bool serve(JobContext& ctx, const std::function<void(const std::string&)>& save) {
    std::optional<std::string> path;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      path = std::exchange(pending_, std::nullopt);
    }
    if (!path) return false;
    try {
      save(*path);
    } catch (const std::exception& e) {
      ctx.report_error(e.what());
    }
    return true;
  }

  // Open for a training job's lifetime, however it ends; a request that came in after the last
  // take() is handed to `late` (which submits it as an ordinary save job).
  class Open {
   public:
    Open(SaveMailbox& box, const std::string& model, std::function<void(const std::string&)> late)
        : box_(box), late_(std::move(late)) {
      std::lock_guard<std::mutex> lock(box_.mutex_);
      box_.running_ = model;
      box_.pending_.reset();
    }
    ~Open() {
      std::optional<std::string> pending;
      {
        std::lock_guard<std::mutex> lock(box_.mutex_);
        box_.running_.clear();
        pending = std::exchange(box_.pending_, std::nullopt);
      }
      if (pending) late_(*pending);
    }
    Open(const Open&) = delete;
    Open& operator=(const Open&) = delete;

   private:
    SaveMailbox& box_;
    std::function<void(const std::string&)> late_;
  };

 private:
  std::mutex mutex_;
  std::string running_;
  std::optional<std::string> pending_;
};

}  // namespace genlab
