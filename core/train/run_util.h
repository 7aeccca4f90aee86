// Small helpers shared by the CLI jobs (train, eval, sample).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace genlab {

using LogLine = std::function<void(const std::string&)>;

// Set by genlab-cli's SIGINT/SIGTERM handler (lock-free, so a handler may set it): a training run
// then stops after its current step and saves, so an interrupted run loses nothing.
inline std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace genlab
