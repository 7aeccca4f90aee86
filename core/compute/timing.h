// The median of repeated timings, for every speed figure genlab reports (genlab-cli bench, the
// Prompt view's cost table, the Compare table). Torch-free, header-only.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace genlab {

// Median seconds per call over `repeats` timings of `calls` calls each, after `warmups` untimed calls.
inline double median_seconds(int repeats, int calls, int warmups, const std::function<void()>& work) {
  for (int w = 0; w < warmups; ++w) work();
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) work();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / calls);
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace genlab
