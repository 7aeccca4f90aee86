#include "app/diffusion/guidance_curve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "core/diffusion/guidance_schedule.h"

namespace genlab::app {

void guidance_curve(const char* id, const SamplingParams& params, const NoiseSchedule& schedule, int shown_t,
                    ImVec2 size) {
  std::vector<int> grid;
  std::vector<double> w;
  GuidanceSchedule shape;
  try {
    shape = parse_guidance_schedule(params.cfg_schedule);
    grid = sampling_timesteps(schedule.T, params.steps);
    const GuidanceCurve curve(shape, params.cfg, grid, schedule);
    for (int t : grid) w.push_back(curve.at(t));
  } catch (const std::invalid_argument& e) {
    ImGui::TextDisabled("%s", e.what());
    return;
  }
  ImGui::PushID(id);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("curve", size);
  const bool hovered = ImGui::IsItemHovered();
  const float left = 40, bottom = 16, top = 4;
  const ImVec2 lo(origin.x + left, origin.y + top), hi(origin.x + size.x - 4, origin.y + size.y - bottom);
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(25, 25, 30, 255), 3.f);
  const double top_w = std::max(1.0, *std::max_element(w.begin(), w.end()));
  const float bar = (hi.x - lo.x) / float(w.size());
  auto y_of = [&](double v) { return hi.y - float(v / top_w) * (hi.y - lo.y); };
  char text[96];
  // The mean, which every schedule keeps at the w asked for, w = 1 (no guidance) and the top.
  for (double v : {params.cfg, 1.0, top_w}) {
    draw->AddLine(ImVec2(lo.x, y_of(v)), ImVec2(hi.x, y_of(v)), IM_COL32(255, 255, 255, v == params.cfg ? 70 : 30));
    std::snprintf(text, sizeof text, "%.3g", v);
    if (v == params.cfg || std::fabs(y_of(v) - y_of(params.cfg)) > 12)  // labels that would overlap the mean's are left out
      draw->AddText(ImVec2(origin.x + 4, y_of(v) - 7), IM_COL32(170, 170, 170, 255), text);
  }
  int hovered_step = -1;
  for (size_t k = 0; k < w.size(); ++k) {
    const float x0 = lo.x + bar * float(k), x1 = x0 + std::max(1.f, bar - 1);
    const bool inside = shape.shape == GuidanceShape::Interval && w[k] != 1.0;
    const bool lit = grid[k] == shown_t;
    if (inside) draw->AddRectFilled(ImVec2(x0, lo.y), ImVec2(x1, hi.y), IM_COL32(90, 140, 255, 35));
    draw->AddRectFilled(ImVec2(x0, y_of(w[k])), ImVec2(x1, hi.y),
                        lit ? IM_COL32(255, 200, 80, 255) : IM_COL32(120, 170, 255, 200));
    if (hovered && ImGui::GetIO().MousePos.x >= x0 && ImGui::GetIO().MousePos.x < x0 + bar) hovered_step = int(k);
  }
  std::snprintf(text, sizeof text, "w by step (%s): t %d … %d", shape.name().c_str(), grid.front(), grid.back());
  draw->AddText(ImVec2(lo.x, hi.y + 1), IM_COL32(150, 150, 150, 255), text);
  if (hovered_step >= 0) {
    const int t = grid[size_t(hovered_step)];
    ImGui::SetTooltip("step %d: t = %d, noise level σ_t = %.3g, w = %.3g", hovered_step + 1, t, noise_level(schedule, t),
                      w[size_t(hovered_step)]);
  }
  ImGui::PopID();
}

}  // namespace genlab::app
