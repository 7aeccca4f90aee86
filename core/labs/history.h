// Loss histories the labs publish: halved in resolution whenever they pass a size, keeping their
// whole span, so plots stay cheap however long a run goes. Torch-free.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace genlab {

constexpr size_t kMaxHistory = 2000;

// Keeps every other point once `history` holds more than `max_points`; true when it did.
template <class T>
bool thin_history(std::vector<T>& history, size_t max_points = kMaxHistory) {
  if (history.size() <= max_points) return false;
  std::vector<T> kept;
  kept.reserve(history.size() / 2 + 1);
  for (size_t i = 0; i < history.size(); i += 2) kept.push_back(std::move(history[i]));
  history = std::move(kept);
  return true;
}

}  // namespace genlab
