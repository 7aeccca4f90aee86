// Loss histories: the labs publish them halved in resolution whenever they pass a size, keeping
// their whole span, so plots stay cheap however long a run goes; checkpoints keep them as curves,
// so a loaded model shows how it was trained. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
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

constexpr size_t kSavedHistory = 500;  // points per curve a checkpoint keeps

// A history as a checkpoint keeps it: {"columns": [...], "rows": [[numbers], ...]}, evenly thinned
// to at most about kSavedHistory rows, the newest point always kept. row(point) gives the numbers.
template <class T, class Row>
nlohmann::json curve_json(const std::vector<T>& points, const std::vector<std::string>& columns, Row row) {
  nlohmann::json rows = nlohmann::json::array();
  const size_t stride = points.size() / kSavedHistory + 1;
  for (size_t i = 0; i < points.size(); i += stride) rows.push_back(row(points[i]));
  if (!points.empty() && (points.size() - 1) % stride != 0) rows.push_back(row(points.back()));
  return {{"columns", columns}, {"rows", rows}};
}

// The points of such a curve, point(numbers) making each; none when the curve is absent or any row
// is not `width` numbers (checkpoint metadata comes from outside).
template <class T, class Point>
std::vector<T> curve_points(const nlohmann::json& curve, size_t width, Point point) {
  std::vector<T> out;
  if (!curve.is_object() || !curve.contains("rows") || !curve["rows"].is_array()) return out;
  for (const nlohmann::json& r : curve["rows"]) {
    if (!r.is_array() || r.size() != width) return {};
    std::vector<double> numbers;
    for (const nlohmann::json& x : r) {
      if (!x.is_number()) return {};
      numbers.push_back(x.get<double>());
    }
    out.push_back(point(numbers));
  }
  return out;
}

// The "history" entry of a checkpoint's metadata (JSON text), or null.
inline nlohmann::json saved_history(const std::string& metadata_json) {
  auto meta = nlohmann::json::parse(metadata_json, nullptr, false);
  return meta.is_object() && meta.contains("history") ? meta["history"] : nlohmann::json();
}

}  // namespace genlab
