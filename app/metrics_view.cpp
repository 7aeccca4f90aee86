#include "app/metrics_view.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "app/plot.h"
#include "app/widgets.h"

namespace genlab::app {

namespace {

const ImVec4 kError(1.f, .45f, .35f, 1.f);
const ImU32 kFid = IM_COL32(90, 170, 255, 255), kFloor = IM_COL32(230, 230, 230, 110),
            kAccuracy = IM_COL32(120, 230, 120, 255), kPrecision = IM_COL32(255, 150, 60, 255),
            kRecall = IM_COL32(220, 120, 220, 255), kBars = IM_COL32(120, 200, 120, 255);

bool is_measure_job(const std::string& job) { return job.rfind("measure", 0) == 0; }

// A bar label cut to what fits under a bar `width` pixels wide.
std::string fitted(std::string label, float width) {
  while (label.size() > 1 && ImGui::CalcTextSize(label.c_str()).x > width - 2) {
    // Drop one whole UTF-8 character: its continuation bytes, then its lead byte.
    while (label.size() > 1 && (label.back() & 0xC0) == 0x80) label.pop_back();
    label.pop_back();
  }
  return label;
}

void floor_cell(const char* label, double value, int samples) {
  ImGui::BeginGroup();
  ImGui::TextDisabled("%s", label);
  ImGui::SameLine(0, 4);
  ImGui::Text("%.2f", value);
  ImGui::EndGroup();
  char text[640];
  snprintf(text, sizeof text,
           "FID-LeNet of a finite sample is biased upward: even real images do not score 0, and fewer\n"
           "samples score higher. Compare a model's figure with the floors of the same count (%d).\n\n"
           "floor: train vs test — %d training images against the whole test set, scored exactly like\n"
           "the samples: a perfect generator of %d samples scores about this.\n"
           "floor: test vs test — %d test images against %d other test images: the same distribution,\n"
           "with both sides finite (so it can lie above the other floor).",
           samples, samples, samples, samples, samples);
  hint(text);
}

void row(const char* name, const char* what) {
  ImGui::TableNextRow();
  ImGui::TableSetColumnIndex(0);
  ImGui::TextUnformatted(name);
  hint(what);
  ImGui::TableSetColumnIndex(1);
}

void draw_table(const QualityReport& r, size_t classes) {
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit |
                               ImGuiTableFlags_NoHostExtendX;
  if (!ImGui::BeginTable("quality-table", 3, flags)) return;
  ImGui::TableSetupColumn("measure");
  ImGui::TableSetupColumn("value");
  ImGui::TableSetupColumn("reference");
  ImGui::TableHeadersRow();

  row("FID-LeNet ↓", "Fréchet distance between Gaussians fitted to the classifier's features of the samples and of "
                     "the test images. Lower is better.");
  ImGui::Text("%.2f", r.fid);
  ImGui::TableSetColumnIndex(2);
  floor_cell("floor: train vs test", r.floor_train_vs_test, r.samples);
  ImGui::SameLine(0, 16);
  floor_cell("floor: test vs test", r.floor_test_vs_test, r.samples);

  row("precision ↑", "Fidelity: the share of samples that fall inside the real images' feature manifold "
                     "(k nearest neighbours).");
  ImGui::Text("%.3f", r.precision);
  ImGui::TableSetColumnIndex(2);
  ImGui::TextDisabled("samples that look like real images");

  row("recall ↑", "Coverage: the share of real images that fall inside the samples' feature manifold "
                  "(k nearest neighbours).");
  ImGui::Text("%.3f", r.recall);
  ImGui::TableSetColumnIndex(2);
  ImGui::TextDisabled("real images the samples cover");

  row("label entropy", "Entropy of the classifier's predicted labels over the samples. A model that piles onto a "
                       "few classes (mode collapse) scores well below log(classes).");
  ImGui::Text("%.3f nats", r.label_entropy);
  ImGui::TableSetColumnIndex(2);
  if (classes > 0) ImGui::TextDisabled("uniform over %zu classes: log %zu = %.3f", classes, classes, std::log(double(classes)));

  row("sharpness", "Variance of the samples' Laplacian over that of as many real test images: the high-frequency "
                   "detail blur removes. 1 is as sharp as real images; a VAE's averaged decodes sit well below.");
  ImGui::Text("%.2f", r.sharpness);
  ImGui::TableSetColumnIndex(2);
  ImGui::TextDisabled("1 = as sharp as real images");

  if (r.accuracy >= 0) {
    row("class accuracy", "Conditional samples: the share the classifier puts in the class they were asked for.");
    ImGui::Text("%.1f %%", 100 * r.accuracy);
    ImGui::TableSetColumnIndex(2);
    ImGui::TextDisabled("classified as the class asked for");
  }
  ImGui::EndTable();
}

void draw_class_bars(const QualityReport& r, const std::vector<std::string>& class_names, float width) {
  std::vector<float> values;
  std::vector<std::string> labels;
  const float slot = (width - 8) / float(std::max<size_t>(1, r.class_accuracy.size()));
  float best = 0, worst = 1;
  int worst_class = -1;
  for (size_t c = 0; c < r.class_accuracy.size(); ++c) {
    const double a = r.class_accuracy[c];
    values.push_back(a < 0 ? 0.f : float(a));
    labels.push_back(fitted(c < class_names.size() ? class_names[c] : std::to_string(c), slot));
    if (a < 0) continue;
    best = std::max(best, float(a));
    if (float(a) < worst) worst = float(a), worst_class = int(c);
  }
  ImGui::Text("accuracy per class asked for");
  ImGui::SameLine();
  if (worst_class >= 0)
    ImGui::TextDisabled("(bars scaled to the best, %.0f %%; worst: %s, %.0f %%)", 100 * best,
                        size_t(worst_class) < class_names.size() ? class_names[size_t(worst_class)].c_str()
                                                                 : std::to_string(worst_class).c_str(),
                        100 * worst);
  bar_plot("class-accuracy", values, labels, ImVec2(width, 80), kBars);
}

void draw_curve(const QualityView& v, float width) {
  PlotSeries fid{"FID-LeNet", kFid, {}, {}, true}, floor{"floor: train vs test", kFloor, {}, {}};
  PlotSeries accuracy{"accuracy", kAccuracy, {}, {}, true}, precision{"precision", kPrecision, {}, {}, true},
      recall{"recall", kRecall, {}, {}, true}, real{"test images", kFloor, {}, {}};
  for (size_t i = 0; i < v.curve.size() && i < v.curve_cfg.size(); ++i) {
    const float w = float(v.curve_cfg[i]);
    const QualityReport& r = v.curve[i];
    fid.x.push_back(w), fid.y.push_back(float(r.fid));
    if (r.accuracy >= 0) accuracy.x.push_back(w), accuracy.y.push_back(float(r.accuracy));
    precision.x.push_back(w), precision.y.push_back(float(r.precision));
    recall.x.push_back(w), recall.y.push_back(float(r.recall));
  }
  if (!v.curve.empty()) {
    // The reference lines reach a little past the largest scale, so its points clear the plot's edge
    // (not below the smallest: the axis caption would read "-0" for w = 0).
    const auto [lo, hi] = std::minmax_element(v.curve_cfg.begin(), v.curve_cfg.end());
    floor.x = real.x = {float(*lo), float(*hi) + std::max(0.1f, 0.04f * float(*hi - *lo))};
    floor.y = {float(v.curve.front().floor_train_vs_test), float(v.curve.front().floor_train_vs_test)};
    // The classifier on real test images: as high as class accuracy can sensibly go.
    if (v.classifier_accuracy > 0) real.y = {float(v.classifier_accuracy), float(v.classifier_accuracy)};
    else real.x.clear();
  }
  ImGui::Text("guidance trade-off: %zu scale%s", v.curve.size(), v.curve.size() == 1 ? "" : "s");
  ImGui::SameLine();
  ImGui::TextDisabled("(%d samples per scale, the rest as above)  (?)", v.curve.empty() ? 0 : v.curve.front().samples);
  hint("Raising w pushes samples toward their class: accuracy and precision climb while recall (variety)\n"
       "falls, and FID-LeNet is lowest in between. The flat lines: the floor of as many real images, and\n"
       "the classifier's accuracy on the real test images.");
  const float half = (width - 8) / 2;
  line_plot("cfg-fid", {fid, floor}, ImVec2(half, 150), "w");
  ImGui::SameLine();
  line_plot("cfg-accuracy", {accuracy, precision, recall, real}, ImVec2(half, 150), "w");
  const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit |
                                ImGuiTableFlags_NoHostExtendX;
  if (!ImGui::BeginTable("curve-table", 6, flags)) return;
  for (const char* name : {"w", "FID-LeNet", "accuracy", "precision", "recall", "label entropy"})
    ImGui::TableSetupColumn(name);
  ImGui::TableHeadersRow();
  for (size_t i = 0; i < v.curve.size() && i < v.curve_cfg.size(); ++i) {
    const QualityReport& r = v.curve[i];
    ImGui::TableNextRow();
    ImGui::TableSetColumnIndex(0);
    ImGui::Text("%.2g", v.curve_cfg[i]);
    ImGui::TableSetColumnIndex(1);
    ImGui::Text("%.2f", r.fid);
    ImGui::TableSetColumnIndex(2);
    if (r.accuracy >= 0) ImGui::Text("%.1f %%", 100 * r.accuracy);
    ImGui::TableSetColumnIndex(3);
    ImGui::Text("%.3f", r.precision);
    ImGui::TableSetColumnIndex(4);
    ImGui::Text("%.3f", r.recall);
    ImGui::TableSetColumnIndex(5);
    ImGui::Text("%.3f", r.label_entropy);
  }
  ImGui::EndTable();
}

}  // namespace

QualityOptions QualityControls::options(std::vector<double> cfg_curve) const {
  QualityOptions o;
  o.samples = samples;
  o.curve_samples = curve_samples;
  o.cfg_curve = std::move(cfg_curve);
  return o;
}

bool draw_quality_controls(QualityControls& c, Worker& worker, bool curve, const char* unavailable) {
  const WorkerStatus status = worker.status()->value;
  const bool measuring = is_measure_job(status.job);
  ImGui::BeginDisabled(measuring);
  ImGui::SetNextItemWidth(110);
  ImGui::InputInt("samples", &c.samples, 100, 1000);
  c.samples = std::clamp(c.samples, 10, 50000);
  hint("Samples drawn from the model for the figures. FID-LeNet falls as the count grows: compare runs of the "
       "same count, against the floors of that count.");
  if (curve) {
    ImGui::SetNextItemWidth(110);
    ImGui::InputInt("samples per scale w", &c.curve_samples, 100, 1000);
    c.curve_samples = std::clamp(c.curve_samples, 10, 50000);
    hint("Samples at each guidance scale of the trade-off curve.");
  }
  ImGui::EndDisabled();
  bool pressed = false;
  ImGui::BeginDisabled(measuring || unavailable != nullptr);
  pressed = ImGui::Button("Measure");
  ImGui::EndDisabled();
  if (measuring) {
    ImGui::SameLine();
    if (ImGui::Button("Stop")) worker.cancel();
  }
  // Wrapped narrow: beside these controls may come the results (the GAN tab).
  ImGui::PushTextWrapPos(std::min(ImGui::GetCursorPosX() + 300.f, ImGui::GetWindowContentRegionMax().x));
  if (measuring) ImGui::TextDisabled("measuring: the status bar shows how far");
  else if (unavailable) ImGui::TextDisabled("%s", unavailable);
  else if (status.state != WorkerState::Idle) ImGui::TextDisabled("Measure waits for \"%s\" to end", status.job.c_str());
  ImGui::PopTextWrapPos();
  return pressed;
}

void draw_quality(const QualityView* view, const std::vector<std::string>& class_names) {
  if (!view) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextDisabled("Not measured yet. Measure draws samples from the model and scores them in the feature space of a "
                        "small classifier (LeNet) trained on the data set: FID-LeNet, precision and recall against the "
                        "test images, and for conditional samples how often they land in the class asked for.");
    ImGui::PopTextWrapPos();
    return;
  }
  const QualityView& v = *view;
  const float width = ImGui::GetContentRegionAvail().x;
  ImGui::Text("%s", v.what.c_str());
  ImGui::SameLine();
  if (v.has_main) ImGui::TextDisabled("· model step %" PRId64 " · %d samples", v.model_step, v.main.samples);
  else ImGui::TextDisabled("· model step %" PRId64, v.model_step);
  if (!v.classifier.empty()) {
    ImGui::TextDisabled("features: %s", file_name(v.classifier).c_str());
    hint(v.classifier.c_str());
    if (v.classifier_accuracy > 0) {
      ImGui::SameLine();
      ImGui::TextDisabled("· LeNet, test accuracy %.1f %%", 100 * v.classifier_accuracy);
    }
  }
  if (!v.error.empty()) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kError, "%s", v.error.c_str());
    ImGui::PopTextWrapPos();
  }
  if (v.running && !v.has_main) ImGui::TextUnformatted("measuring…");
  if (!v.running && !v.has_main && v.error.empty()) ImGui::TextDisabled("stopped before the first figure");
  if (!v.has_main) return;

  ImGui::Spacing();
  const size_t classes = !v.main.class_accuracy.empty() ? v.main.class_accuracy.size() : class_names.size();
  draw_table(v.main, classes);
  if (!v.main.class_accuracy.empty()) {
    ImGui::Spacing();
    draw_class_bars(v.main, class_names, width);
  }
  if (!v.curve.empty()) {
    ImGui::Spacing();
    ImGui::Separator();
    draw_curve(v, width);
  }
  if (v.running) ImGui::TextUnformatted("measuring…");
}

}  // namespace genlab::app
