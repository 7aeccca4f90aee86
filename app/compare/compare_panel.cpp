#include "app/compare/compare_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "app/widgets.h"
#include "core/compare/compare_lab.h"
#include "core/compare/compare_run.h"

namespace genlab::app {

namespace {

// One colour per family; the models of a family differ by marker.
ImU32 family_color(const std::string& family, int alpha = 255) {
  if (family == "vae") return IM_COL32(90, 160, 255, alpha);
  if (family == "gan") return IM_COL32(255, 150, 50, alpha);
  if (family == "diffusion") return IM_COL32(110, 210, 110, alpha);
  return IM_COL32(200, 200, 200, alpha);
}

void draw_marker(ImDrawList* draw, ImVec2 p, int shape, float r, ImU32 color) {
  switch (shape % 5) {
    case 0: draw->AddCircleFilled(p, r, color); break;
    case 1: draw->AddRectFilled(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), color); break;
    case 2: draw->AddTriangleFilled(ImVec2(p.x, p.y - r * 1.2f), ImVec2(p.x - r * 1.1f, p.y + r * 0.8f),
                                    ImVec2(p.x + r * 1.1f, p.y + r * 0.8f), color); break;
    case 3: draw->AddQuadFilled(ImVec2(p.x, p.y - r * 1.3f), ImVec2(p.x + r * 1.3f, p.y), ImVec2(p.x, p.y + r * 1.3f),
                                ImVec2(p.x - r * 1.3f, p.y), color); break;
    default:
      draw->AddLine(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), color, 2.5f);
      draw->AddLine(ImVec2(p.x - r, p.y + r), ImVec2(p.x + r, p.y - r), color, 2.5f);
  }
}

// A model's marker: its place among the models of its family in the table, in order of appearance.
std::map<std::string, int> marker_of_models(const CompareTable& table) {
  std::map<std::string, int> shape, per_family;
  for (const CompareRow& r : table.rows)
    if (!shape.count(r.model)) shape[r.model] = per_family[r.family]++;
  return shape;
}

struct Axis {
  bool log = false;
  float lo = 0, hi = 1;  // in axis units (log10 of the value when log)
  float of(double v) const { return log ? std::log10(float(std::max(v, 1e-9))) : float(v); }
};

Axis fit_axis(const std::vector<double>& values, bool log, float pad_share) {
  Axis a;
  a.log = log;
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (double v : values) lo = std::min(lo, a.of(v)), hi = std::max(hi, a.of(v));
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-3f) lo -= 0.5f, hi += 0.5f;
  const float pad = (hi - lo) * pad_share;
  a.lo = lo - pad, a.hi = hi + pad;
  return a;
}

// Tick values for an axis: 1-2-5 steps on a log axis, four even steps on a linear one.
std::vector<double> ticks_of(const Axis& a) {
  std::vector<double> out;
  if (!a.log) {
    // About four steps of 1, 2, 2.5 or 5 times a power of ten.
    const double raw = (a.hi - a.lo) / 4.0, scale = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 5 * scale;
    for (double m : {1.0, 2.0, 2.5})
      if (m * scale >= raw) {
        step = m * scale;
        break;
      }
    for (double v = std::ceil(a.lo / step) * step; v <= a.hi + 1e-9; v += step) out.push_back(std::fabs(v) < 1e-9 ? 0.0 : v);
    return out;
  }
  for (int e = int(std::floor(a.lo)); e <= int(std::ceil(a.hi)); ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      if (a.of(v) >= a.lo && a.of(v) <= a.hi) out.push_back(v);
    }
  return out;
}

std::string tick_text(double v) {
  char text[32];
  snprintf(text, sizeof text, v >= 100 ? "%.0f" : v >= 1 ? "%.3g" : "%.2g", v);
  return text;
}

// Every curve of every model as a polyline with markers, the default points ringed and named,
// a dashed horizontal reference where `reference` >= 0. Returns the row under the mouse (-1: none);
// `clicked` is set on the frame that row is clicked.
int trade_off_chart(const char* id, const CompareTable& table, const std::function<double(const CompareRow&)>& x_of,
                    const std::function<double(const CompareRow&)>& y_of, Axis ax, Axis ay, const char* x_label,
                    const char* y_label, ImVec2 size, double reference, int highlighted, bool& clicked) {
  ImGui::PushID(id);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("chart", size);
  const bool hovered = ImGui::IsItemHovered();
  clicked = false;
  const float left = 46, bottom = 34, top = 22, right = 10;
  const ImVec2 lo(origin.x + left, origin.y + top), hi(origin.x + size.x - right, origin.y + size.y - bottom);
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(25, 25, 30, 255), 3.f);
  draw->AddText(ImVec2(origin.x + 6, origin.y + 3), IM_COL32(220, 220, 220, 255), y_label);
  const ImVec2 x_size = ImGui::CalcTextSize(x_label);
  draw->AddText(ImVec2(hi.x - x_size.x, hi.y + 16), IM_COL32(190, 190, 190, 255), x_label);
  auto sx = [&](double v) { return lo.x + (ax.of(v) - ax.lo) / (ax.hi - ax.lo) * (hi.x - lo.x); };
  auto sy = [&](double v) { return hi.y - (ay.of(v) - ay.lo) / (ay.hi - ay.lo) * (hi.y - lo.y); };
  for (double t : ticks_of(ax)) {
    const float x = sx(t);
    draw->AddLine(ImVec2(x, lo.y), ImVec2(x, hi.y), IM_COL32(255, 255, 255, 22));
    draw->AddText(ImVec2(x - 8, hi.y + 2), IM_COL32(160, 160, 160, 255), tick_text(t).c_str());
  }
  for (double t : ticks_of(ay)) {
    const float y = sy(t);
    draw->AddLine(ImVec2(lo.x, y), ImVec2(hi.x, y), IM_COL32(255, 255, 255, 22));
    draw->AddText(ImVec2(origin.x + 4, y - 7), IM_COL32(160, 160, 160, 255), tick_text(t).c_str());
  }
  draw->PushClipRect(lo, hi, true);
  if (reference >= 0) {
    const float y = sy(reference);
    for (float x = lo.x; x < hi.x; x += 10) draw->AddLine(ImVec2(x, y), ImVec2(std::min(x + 5, hi.x), y), IM_COL32(220, 220, 220, 120));
    draw->AddText(ImVec2(lo.x + 4, y - 15), IM_COL32(200, 200, 200, 160), "floor: training images");
  }
  const std::map<std::string, int> markers = marker_of_models(table);
  // Lines first, along each model's curves in the order they were measured.
  std::map<std::string, std::vector<ImVec2>> lines;
  std::vector<std::string> order;
  for (const CompareRow& r : table.rows) {
    const std::string key = r.model + "|" + r.point.curve();
    if (!lines.count(key)) order.push_back(key);
    lines[key].push_back(ImVec2(sx(x_of(r)), sy(y_of(r))));
  }
  for (const std::string& key : order) {
    const CompareRow* first = nullptr;
    for (const CompareRow& r : table.rows)
      if (r.model + "|" + r.point.curve() == key) first = &r;
    const auto& pts = lines[key];
    if (first && pts.size() > 1) draw->AddPolyline(pts.data(), int(pts.size()), family_color(first->family, 150), 0, 1.5f);
  }
  int near = -1;
  float best = 10.f * 10.f;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const CompareRow& r = table.rows[i];
    const ImVec2 p(sx(x_of(r)), sy(y_of(r)));
    draw_marker(draw, p, markers.at(r.model), r.point.is_default ? 5.f : 3.5f, family_color(r.family));
    if (r.point.is_default) draw->AddCircle(p, 8.f, IM_COL32(255, 255, 255, 200), 0, 1.5f);
    if (int(i) == highlighted) draw->AddCircle(p, 11.f, IM_COL32(255, 255, 0, 255), 0, 2.f);
    const float d = (p.x - mouse.x) * (p.x - mouse.x) + (p.y - mouse.y) * (p.y - mouse.y);
    if (hovered && d < best) best = d, near = int(i);
  }
  // Each model's name beside its default point, where it overlaps neither another name nor a point.
  std::vector<ImVec4> taken;  // x0, y0, x1, y1
  for (const CompareRow& r : table.rows) taken.push_back(ImVec4(sx(x_of(r)) - 4, sy(y_of(r)) - 4, sx(x_of(r)) + 4, sy(y_of(r)) + 4));
  auto overlaps = [&](const ImVec4& box) {
    if (box.x < lo.x || box.z > hi.x || box.y < lo.y || box.w > hi.y) return true;
    for (const ImVec4& t : taken)
      if (box.x < t.z && t.x < box.z && box.y < t.w && t.y < box.w) return true;
    return false;
  };
  for (const CompareRow& r : table.rows) {
    if (!r.point.is_default || r.point.knob == "cfg") continue;
    const ImVec2 p(sx(x_of(r)), sy(y_of(r))), text = ImGui::CalcTextSize(r.model.c_str());
    const ImVec2 places[] = {{p.x + 10, p.y - text.y / 2}, {p.x - 10 - text.x, p.y - text.y / 2},
                             {p.x - text.x / 2, p.y - 10 - text.y}, {p.x - text.x / 2, p.y + 10}};
    for (const ImVec2& at : places) {
      const ImVec4 box(at.x, at.y, at.x + text.x, at.y + text.y);
      if (overlaps(box)) continue;
      draw->AddText(at, family_color(r.family, 230), r.model.c_str());
      taken.push_back(box);
      break;
    }
  }
  draw->PopClipRect();
  if (near >= 0 && ImGui::IsItemClicked()) clicked = true;
  ImGui::PopID();
  return near;
}

// One line naming the checkpoints left off the table; hovered, why each was.
void draw_skipped(const CompareTable& table) {
  if (table.skipped.empty()) return;
  std::string names;
  for (const CompareSkipped& s : table.skipped) names += (names.empty() ? "" : ", ") + s.model;
  ImGui::TextDisabled("Not on the table (hover for why): %s", names.c_str());
  if (!ImGui::IsItemHovered()) return;
  ImGui::BeginTooltip();
  for (const CompareSkipped& s : table.skipped) ImGui::Text("%s: %s", s.model.c_str(), s.reason.c_str());
  ImGui::EndTooltip();
}

// "12 min", "45 s": training times at a glance.
std::string duration_text(double seconds) {
  if (seconds < 0) return "-";
  char text[32];
  if (seconds >= 3600) snprintf(text, sizeof text, "%.1f h", seconds / 3600);
  else if (seconds >= 90) snprintf(text, sizeof text, "%.0f min", seconds / 60);
  else snprintf(text, sizeof text, "%.0f s", seconds);
  return text;
}

}  // namespace

void ComparePanel::apply_settings(const std::string& settings) {
  std::stringstream items(settings);
  std::string item;
  while (std::getline(items, item, ',')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "run") {
      run_at_start_ = true;
    } else if (key == "samples") {
      samples_ = std::atoi(value.c_str());
      if (samples_ < 10 || samples_ > 100000) throw std::invalid_argument("--compare samples=" + value + " is not in 10..100000");
    } else if (key == "models") {
      models_.clear();
      std::stringstream paths(value);
      std::string path;
      while (std::getline(paths, path, ';'))
        if (!path.empty()) models_.push_back({path});
      listed_shipped_ = true;
    } else if (key == "view" && (value == "samples" || value == "table")) {
      view_ = value;
    } else {
      throw std::invalid_argument("--compare: '" + item + "' is not run, samples=N, models=A;B or view=samples|table");
    }
  }
}

void ComparePanel::refresh_models(Session& session) {
  if (!listed_shipped_) {
    for (const std::string& path : shipped_models()) models_.push_back({path});
    listed_shipped_ = true;
  }
  // Each frame asks the labs; only a path not seen before is looked up on disk.
  for (const std::string& path : session.open_checkpoints()) {
    if (!lab_paths_seen_.insert(path).second) continue;
    auto same = [&](const Entry& e) {
      std::error_code error;
      return std::filesystem::equivalent(e.path, path, error);
    };
    if (std::none_of(models_.begin(), models_.end(), same)) models_.push_back({path, true, true});
  }
}

void ComparePanel::measure(Session& session, bool cached_only) {
  std::vector<std::string> paths;
  for (const Entry& e : models_)
    if (e.selected) paths.push_back(e.path);
  CompareOptions options;
  options.samples = samples_;
  options.cached_only = cached_only;
  ++run_stamp_;
  session.lab<CompareLab>().run(paths, "", options);
}

void ComparePanel::draw_controls(Session& session) {
  const auto v = session.lab<CompareLab>().view().get();
  const bool running = v && v->value.running;
  int selected = 0;
  for (const Entry& e : models_) selected += e.selected;
  char label[64];
  snprintf(label, sizeof label, "Models (%d of %zu)", selected, models_.size());
  if (ImGui::Button(label)) ImGui::OpenPopup("compare-models");
  if (ImGui::BeginPopup("compare-models")) {
    if (ImGui::SmallButton("all")) for (Entry& e : models_) e.selected = true;
    ImGui::SameLine();
    if (ImGui::SmallButton("none")) for (Entry& e : models_) e.selected = false;
    for (Entry& e : models_) {
      const std::string name = model_name(e.path) + (e.from_lab ? "  (open in a lab)" : "");
      ImGui::Checkbox(name.c_str(), &e.selected);
      hint(e.path.c_str());
    }
    ImGui::EndPopup();
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(110);
  if (ImGui::InputInt("samples per point", &samples_, 100, 500)) samples_ = std::clamp(samples_, 10, 100000);
  hint("Every point is scored on this many samples; FID's floor depends on the count, so compare at one count.");
  ImGui::SameLine();
  ImGui::BeginDisabled(running || selected == 0);
  if (ImGui::Button("Measure")) measure(session, false);
  ImGui::EndDisabled();
  hint("Scores the points not yet in the cache (~/.cache/genlab/compare) on the worker; cached ones show at once.");
  if (running) {
    ImGui::SameLine();
    if (ImGui::Button("Stop")) session.worker().cancel();
  }
  ImGui::SameLine();
  if (!v) {
    ImGui::TextDisabled("nothing measured yet");
  } else if (running) {
    ImGui::Text("model %d of %d · %s", v->value.models_done + 1, v->value.models, v->value.current.c_str());
  } else {
    const CompareTable& t = v->value.table;
    int cached = 0;
    for (const CompareRow& r : t.rows) cached += r.cached;
    ImGui::TextDisabled("%zu points (%d from the cache) · %d samples each · %s, LeNet test accuracy %.3f · %d thread%s",
                        t.rows.size(), cached, t.samples, t.dataset.c_str(), t.classifier_accuracy, t.threads,
                        t.threads == 1 ? "" : "s");
  }
  if (v && !v->value.error.empty()) ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", v->value.error.c_str());
  for (const UnsavedTraining& u : session.unsaved_training())
    ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "The %s trained %lld steps past its file: save it in its tab to compare those.",
                       u.model.c_str(), static_cast<long long>(u.steps));
}

DisplayImage& ComparePanel::row_image(const CompareTable& table, size_t i, ImageRenderer& renderer) {
  const CompareRow& r = table.rows[i];
  DisplayImage& image = images_[r.model + "|" + r.point.key()];
  if (!r.sample_row.empty()) image.update(renderer, run_stamp_, r.sample_row);
  return image;
}

void ComparePanel::draw_charts(const CompareTable& table, ImageRenderer& renderer) {
  const float width = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) / 2;
  const ImVec2 size(width, 300);
  std::vector<double> fid, ms, floors;
  for (const CompareRow& r : table.rows) fid.push_back(r.quality.fid), ms.push_back(r.ms_batch64), floors.push_back(r.quality.floor_train_vs_test);
  const double floor = floors.empty() ? -1 : *std::min_element(floors.begin(), floors.end());
  if (floor > 0) fid.push_back(floor);
  Axis unit;
  unit.lo = -0.02f, unit.hi = 1.02f;
  bool clicked_a = false, clicked_b = false;
  const int a = trade_off_chart("fid-time", table, [](const CompareRow& r) { return r.ms_batch64; },
                                [](const CompareRow& r) { return r.quality.fid; }, fit_axis(ms, true, 0.06f),
                                fit_axis(fid, true, 0.06f), "ms per image, batch of 64 (log)", "FID-LeNet, lower is better (log)",
                                size, floor, hovered_row_, clicked_a);
  ImGui::SameLine();
  const int b = trade_off_chart("precision-recall", table, [](const CompareRow& r) { return r.quality.recall; },
                                [](const CompareRow& r) { return r.quality.precision; }, unit, unit,
                                "recall: the test set's share the samples cover", "precision: samples that look real", size,
                                -1, hovered_row_, clicked_b);
  const int hovered = a >= 0 ? a : b;
  hovered_row_ = hovered;
  if (hovered >= 0) {
    const CompareRow& r = table.rows[size_t(hovered)];
    if (clicked_a || clicked_b) chosen_point_[r.model] = r.point.key();
    ImGui::BeginTooltip();
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(family_color(r.family)), "%s (%s, step %lld)", r.model.c_str(),
                       r.kind.c_str(), static_cast<long long>(r.step));
    ImGui::Text("%s%s", r.point.label().c_str(), r.point.is_default ? "  (its usual setting)" : "");
    ImGui::Text("FID %.1f (floor %.1f) · precision %.3f · recall %.3f · sharpness %.2f", r.quality.fid,
                r.quality.floor_train_vs_test, r.quality.precision, r.quality.recall, r.quality.sharpness);
    if (r.quality.accuracy >= 0) ImGui::Text("classified as the class asked for: %.1f %%", 100 * r.quality.accuracy);
    ImGui::Text("%.2f ms per image alone · %.3f ms in a batch of 64", r.ms_batch1, r.ms_batch64);
    DisplayImage& image = row_image(table, size_t(hovered), renderer);
    if (image.ready()) ImGui::Image(image.texture_id(), ImVec2(image.width() * 2.f, image.height() * 2.f));
    ImGui::TextDisabled("click: show this point in its sample row");
    ImGui::EndTooltip();
  }
  // Legend: the families' colours, then each model's marker.
  const std::map<std::string, int> markers = marker_of_models(table);
  std::vector<std::string> seen;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  for (const CompareRow& r : table.rows) {
    if (std::find(seen.begin(), seen.end(), r.model) != seen.end()) continue;
    seen.push_back(r.model);
    const float width = 16 + ImGui::CalcTextSize(r.model.c_str()).x;
    if (seen.size() > 1) {
      ImGui::SameLine(0, 14);
      if (ImGui::GetContentRegionAvail().x < width) ImGui::NewLine();
    }
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::Dummy(ImVec2(12, ImGui::GetTextLineHeight()));
    draw_marker(draw, ImVec2(p.x + 6, p.y + ImGui::GetTextLineHeight() / 2), markers.at(r.model), 4.5f, family_color(r.family));
    ImGui::SameLine(0, 4);
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(family_color(r.family)), "%s", r.model.c_str());
  }
  ImGui::TextDisabled("Ringed: each model's usual setting. Lines: temperature (VAE, VQ prior), truncation psi (GAN), "
                      "steps per sampler and the CFG scale (diffusion). Hover a point for its samples; click to show it below.");
}

void ComparePanel::draw_sample_rows(const CompareTable& table, ImageRenderer& renderer) {
  note("One row per model at its usual setting (or the point clicked on a chart): the first ten samples scored. "
       "For a conditional model (cGAN, DDPM, LDM, VQ prior) column k is class k, T-shirt/top to Ankle boot.");
  std::vector<std::string> seen;
  ImGui::BeginChild("sample-rows", ImVec2(0, 0), false);
  int column = 0;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const CompareRow& r = table.rows[i];
    if (std::find(seen.begin(), seen.end(), r.model) != seen.end()) continue;
    // The chosen point of this model, else its default, else its first.
    size_t shown = i;
    for (size_t k = i; k < table.rows.size(); ++k) {
      if (table.rows[k].model != r.model) continue;
      auto chosen = chosen_point_.find(r.model);
      if (chosen != chosen_point_.end() ? table.rows[k].point.key() == chosen->second : table.rows[k].point.is_default) {
        shown = k;
        break;
      }
    }
    seen.push_back(r.model);
    const CompareRow& s = table.rows[shown];
    if (column++ % 2) ImGui::SameLine(ImGui::GetContentRegionAvail().x / 2 + 8);
    ImGui::BeginGroup();
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(family_color(s.family)), "%s", s.model.c_str());
    ImGui::SameLine();
    ImGui::TextDisabled("%s · FID %.1f", s.point.label().c_str(), s.quality.fid);
    DisplayImage& image = row_image(table, shown, renderer);
    if (image.ready()) ImGui::Image(image.texture_id(), ImVec2(image.width() * 2.f, image.height() * 2.f));
    ImGui::EndGroup();
  }
  ImGui::EndChild();
}

void ComparePanel::draw_table(const CompareTable& table) {
  ImGui::Checkbox("usual settings only", &defaults_only_);
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY |
                                ImGuiTableFlags_SizingFixedFit;
  const float skipped_lines = table.skipped.empty() ? 0.f : ImGui::GetTextLineHeightWithSpacing();
  if (!ImGui::BeginTable("compare-table", 12, flags, ImVec2(0, ImGui::GetContentRegionAvail().y - skipped_lines))) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  for (const char* name : {"model", "point", "FID", "floor", "precision", "recall", "class acc", "sharpness", "ms alone", "ms in 64",
                           "train img/s", "train time"})
    ImGui::TableSetupColumn(name);
  ImGui::TableHeadersRow();
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const CompareRow& r = table.rows[i];
    if (defaults_only_ && !r.point.is_default) continue;
    ImGui::TableNextRow();
    if (int(i) == hovered_row_) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, IM_COL32(90, 90, 30, 255));
    ImGui::TableNextColumn();
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(family_color(r.family)), "%s", r.model.c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%s%s", r.point.label().c_str(), r.point.is_default ? " *" : "");
    ImGui::TableNextColumn();
    ImGui::Text("%.1f", r.quality.fid);
    ImGui::TableNextColumn();
    ImGui::Text("%.1f", r.quality.floor_train_vs_test);
    ImGui::TableNextColumn();
    ImGui::Text("%.3f", r.quality.precision);
    ImGui::TableNextColumn();
    ImGui::Text("%.3f", r.quality.recall);
    ImGui::TableNextColumn();
    if (r.quality.accuracy >= 0) ImGui::Text("%.3f", r.quality.accuracy);
    else ImGui::TextDisabled("-");
    ImGui::TableNextColumn();
    ImGui::Text("%.2f", r.quality.sharpness);
    ImGui::TableNextColumn();
    ImGui::Text("%.2f", r.ms_batch1);
    ImGui::TableNextColumn();
    ImGui::Text("%.3f", r.ms_batch64);
    ImGui::TableNextColumn();
    if (r.train_images_per_s >= 0) ImGui::Text("%.0f", r.train_images_per_s);
    else ImGui::TextDisabled("-");
    ImGui::TableNextColumn();
    ImGui::Text("%s", duration_text(r.train_seconds).c_str());
  }
  ImGui::EndTable();
  draw_skipped(table);
}

void ComparePanel::draw(Session& session, ImageRenderer& renderer) {
  refresh_models(session);
  if (!shown_) {
    shown_ = true;
    measure(session, !run_at_start_);  // what the cache holds at once; Measure fills in the rest
  }
  draw_controls(session);
  const auto v = session.lab<CompareLab>().view().get();
  if (!v || v->value.table.rows.empty()) {
    if (v && v->value.running) return;  // the line above says what it is doing
    note("Nothing measured for these models at this sample count yet. Measure scores every model at each point of "
         "its own knob — minutes for the diffusion models on a laptop CPU; the results are cached, so it happens once.");
    if (v) draw_skipped(v->value.table);
    return;
  }
  const CompareTable& table = v->value.table;
  draw_charts(table, renderer);
  if (ImGui::BeginTabBar("compare-views")) {
    auto select = [&](const char* view) { return !view_selected_ && view_ == view ? ImGuiTabItemFlags_SetSelected : 0; };
    if (ImGui::BeginTabItem("Sample rows", nullptr, select("samples"))) {
      draw_sample_rows(table, renderer);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Table", nullptr, select("table"))) {
      draw_table(table);
      ImGui::EndTabItem();
    }
    view_selected_ = true;
    ImGui::EndTabBar();
  }
}

}  // namespace genlab::app
