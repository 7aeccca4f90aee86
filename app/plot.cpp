#include "app/plot.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>

namespace genlab::app {

namespace {

void range_of(const std::vector<PlotSeries>& series, float& x0, float& x1, float& y0, float& y1) {
  x0 = y0 = FLT_MAX;
  x1 = y1 = -FLT_MAX;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 - x0 < 1e-9f) x1 = x0 + 1;
  float pad = (y1 - y0) * 0.05f + 1e-6f;
  y0 -= pad, y1 += pad;
}

}  // namespace

void line_plot(const char* id, const std::vector<PlotSeries>& series, ImVec2 size, const char* x_label) {
  ImGui::PushID(id);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("plot", size);
  const bool hovered = ImGui::IsItemHovered();
  const float left = 52, bottom = 18, top = 6, right = 8;
  const ImVec2 lo(origin.x + left, origin.y + top), hi(origin.x + size.x - right, origin.y + size.y - bottom);
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(25, 25, 30, 255), 3.f);
  float x0, x1, y0, y1;
  range_of(series, x0, x1, y0, y1);
  auto to_screen = [&](float x, float y) {
    return ImVec2(lo.x + (x - x0) / (x1 - x0) * (hi.x - lo.x), hi.y - (y - y0) / (y1 - y0) * (hi.y - lo.y));
  };
  char text[64];
  for (int i = 0; i <= 3; ++i) {  // horizontal grid with values
    float v = y0 + (y1 - y0) * float(i) / 3.f;
    float sy = hi.y - (hi.y - lo.y) * float(i) / 3.f;
    draw->AddLine(ImVec2(lo.x, sy), ImVec2(hi.x, sy), IM_COL32(255, 255, 255, 25));
    snprintf(text, sizeof text, "%.4g", v);
    draw->AddText(ImVec2(origin.x + 4, sy - 7), IM_COL32(170, 170, 170, 255), text);
  }
  snprintf(text, sizeof text, "%s %.0f … %.0f", x_label, x0, x1);
  draw->AddText(ImVec2(lo.x, hi.y + 2), IM_COL32(150, 150, 150, 255), text);
  draw->PushClipRect(lo, hi, true);
  for (const auto& s : series) {
    std::vector<ImVec2> points;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) points.push_back(to_screen(s.x[i], s.y[i]));
    if (s.markers || points.size() == 1)
      for (const ImVec2& p : points) draw->AddCircleFilled(p, 3.f, s.color);
    if (!s.markers && points.size() > 1) draw->AddPolyline(points.data(), int(points.size()), s.color, 0, 1.5f);
  }
  draw->PopClipRect();
  float legend_x = hi.x;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {  // legend, right-aligned
    legend_x -= ImGui::CalcTextSize(it->name.c_str()).x + 18;
    draw->AddRectFilled(ImVec2(legend_x, lo.y + 5), ImVec2(legend_x + 10, lo.y + 13), it->color);
    draw->AddText(ImVec2(legend_x + 13, lo.y + 1), IM_COL32(220, 220, 220, 255), it->name.c_str());
  }
  if (hovered) {
    float mx = x0 + (ImGui::GetIO().MousePos.x - lo.x) / (hi.x - lo.x) * (x1 - x0);
    draw->AddLine(ImVec2(ImGui::GetIO().MousePos.x, lo.y), ImVec2(ImGui::GetIO().MousePos.x, hi.y), IM_COL32(255, 255, 255, 60));
    ImGui::BeginTooltip();
    for (const auto& s : series) {
      if (s.x.empty()) continue;
      auto nearest = std::min_element(s.x.begin(), s.x.end(), [&](float a, float b) { return std::fabs(a - mx) < std::fabs(b - mx); });
      size_t i = size_t(nearest - s.x.begin());
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(s.color), "%s: %.4g (%s %.0f)", s.name.c_str(), s.y[i], x_label, s.x[i]);
    }
    ImGui::EndTooltip();
  }
  ImGui::PopID();
}

void bar_plot(const char* id, const std::vector<float>& values, const std::vector<std::string>& labels, ImVec2 size,
              ImU32 color) {
  ImGui::PushID(id);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("bars", size);
  const bool hovered = ImGui::IsItemHovered();
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(25, 25, 30, 255), 3.f);
  const float bottom = 16, top = 4;
  float peak = 1e-6f;
  for (float v : values) peak = std::max(peak, v);
  const float slot = (size.x - 8) / float(std::max<size_t>(1, values.size()));
  int hovered_bar = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    float x = origin.x + 4 + slot * float(i);
    float h = (size.y - bottom - top) * std::max(0.f, values[i]) / peak;
    draw->AddRectFilled(ImVec2(x + 1, origin.y + size.y - bottom - h), ImVec2(x + slot - 1, origin.y + size.y - bottom), color);
    if (i < labels.size() && slot >= ImGui::CalcTextSize(labels[i].c_str()).x)
      draw->AddText(ImVec2(x + 1, origin.y + size.y - bottom + 1), IM_COL32(170, 170, 170, 255), labels[i].c_str());
    if (hovered && ImGui::GetIO().MousePos.x >= x && ImGui::GetIO().MousePos.x < x + slot) hovered_bar = int(i);
  }
  if (hovered_bar >= 0)
    ImGui::SetTooltip("%s: %.4g", size_t(hovered_bar) < labels.size() ? labels[size_t(hovered_bar)].c_str() : "",
                      values[size_t(hovered_bar)]);
  ImGui::PopID();
}

ImU32 class_color(int label, int alpha) {
  static const ImU32 palette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                  0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  if (label < 0) return IM_COL32(200, 200, 200, alpha);
  ImU32 rgb = palette[label % 10];
  return IM_COL32((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, alpha);
}

}  // namespace genlab::app
