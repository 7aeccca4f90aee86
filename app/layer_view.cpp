#include "app/layer_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "app/image_view.h"

namespace genlab::app {

namespace {

constexpr float kColumn = 250;    // the enlarged channel's column beside the grid
constexpr float kEnlarged = 192;  // its image's side
constexpr float kStrip = 70;      // the statistics strip's height
const ImU32 kBar = IM_COL32(90, 170, 255, 200), kLit = IM_COL32(255, 200, 80, 255),
            kWhisker = IM_COL32(230, 230, 230, 150), kOutline = IM_COL32(255, 200, 80, 255);

// Every channel's statistics in one strip: a bar from 0 to the mean, a line over mean ± std.
// Returns the channel under the mouse, or -1.
int channel_strip(const LayerView& v, int lit, ImVec2 size) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("channel-stats", size);
  const bool hovered = ImGui::IsItemHovered();
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(25, 25, 30, 255), 3.f);
  const size_t n = std::min(v.mean.size(), v.std.size());
  float lo = 0, hi = 0;
  for (size_t i = 0; i < n; ++i) lo = std::min(lo, v.mean[i] - v.std[i]), hi = std::max(hi, v.mean[i] + v.std[i]);
  if (hi - lo < 1e-6f) hi = lo + 1;
  const float pad = 4, plot_h = size.y - 2 * pad;
  auto y_of = [&](float value) { return origin.y + pad + (hi - value) / (hi - lo) * plot_h; };
  const float zero = y_of(0.f), slot = (size.x - 2 * pad) / float(std::max<size_t>(1, n));
  draw->AddLine(ImVec2(origin.x + pad, zero), ImVec2(origin.x + size.x - pad, zero), IM_COL32(255, 255, 255, 50));
  const float mouse_x = ImGui::GetIO().MousePos.x, inset = slot >= 3 ? 0.5f : 0.f;
  int under = -1;
  for (size_t i = 0; i < n; ++i) {
    const float x = origin.x + pad + slot * float(i), mean_y = y_of(v.mean[i]);
    draw->AddRectFilled(ImVec2(x + inset, std::min(zero, mean_y)), ImVec2(x + slot - inset, std::max(zero, mean_y)),
                        int(i) == lit ? kLit : kBar);
    draw->AddLine(ImVec2(x + slot / 2, y_of(v.mean[i] + v.std[i])), ImVec2(x + slot / 2, y_of(v.mean[i] - v.std[i])),
                  kWhisker);
    if (hovered && mouse_x >= x && mouse_x < x + slot) under = int(i);
  }
  char text[64];
  snprintf(text, sizeof text, "%.3g", hi);
  draw->AddText(ImVec2(origin.x + pad, origin.y + 1), IM_COL32(170, 170, 170, 255), text);
  snprintf(text, sizeof text, "%.3g", lo);
  draw->AddText(ImVec2(origin.x + pad, origin.y + size.y - ImGui::GetTextLineHeight() - 1), IM_COL32(170, 170, 170, 255),
                text);
  if (under >= 0)
    ImGui::SetTooltip("channel %d: mean %.4g, std %.4g", under, v.mean[size_t(under)], v.std[size_t(under)]);
  return under;
}

}  // namespace

bool draw_layer_view(LayerViewState& state, ImageRenderer& renderer, const Snapshot<LayerView>* snapshot) {
  if (!snapshot || snapshot->value.layers.empty()) {
    ImGui::TextDisabled("waiting for the first forward pass…");
    return false;
  }
  const LayerView& v = snapshot->value;
  const int count = int(v.layers.size());
  const int current = state.layer >= 0 ? state.layer : v.layer;
  auto name_of = [&](int i) { return std::to_string(i) + ": " + v.layers[size_t(i)]; };
  bool picked = false;
  ImGui::SetNextItemWidth(260);
  if (ImGui::BeginCombo("layer", current >= 0 && current < count ? name_of(current).c_str() : "?")) {
    for (int i = 0; i < count; ++i)
      if (ImGui::Selectable(name_of(i).c_str(), i == current) && i != current) state.layer = i, picked = true;
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::TextDisabled("%d × %d × %d (C × H × W) · %.0f ms in the worker%s", v.channels, v.height, v.width, v.ms,
                      state.layer >= 0 && state.layer != v.layer ? " · updating…" : "");
  if (v.channels <= 0 || v.channel.empty()) return picked;

  state.maps.update(renderer, snapshot->stamp, v.maps.image);
  state.pinned = std::clamp(state.pinned, 0, int(v.channel.size()) - 1);
  // Left: the grid over the statistics strip; right: the enlarged channel.
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float room_x = std::max(120.f, avail.x - kColumn - 16);
  ImGui::BeginGroup();
  int hovered = -1;
  ImVec2 origin = ImGui::GetCursorScreenPos();
  float zoom = 1;
  if (state.maps.ready()) {
    // Fitted: half-pixel steps above 1x, shrunk below it when a wide layer has many channels.
    const float room_y = std::max(kEnlarged - kStrip, avail.y - kStrip - 2 * ImGui::GetTextLineHeightWithSpacing());
    zoom = std::clamp(std::min(room_x / float(state.maps.width()), room_y / float(state.maps.height())), 0.25f, 8.f);
    if (zoom > 1) zoom = std::floor(2 * zoom) / 2;
    const ImageHover hover = image_view(state.maps, zoom, zoom, zoom);
    if (hover.hovered) hovered = v.maps.cell_at(hover.x, hover.y);
    if (hover.clicked && hovered >= 0) state.pinned = hovered;
  }
  if (hovered < 0) hovered = state.strip_hovered;  // last frame's: the strip comes below
  const int shown = std::clamp(hovered >= 0 ? hovered : state.pinned, 0, int(v.channel.size()) - 1);
  if (state.maps.ready()) {
    const float x = float(v.maps.pad + (shown % v.maps.cols) * (v.maps.cell_w + v.maps.pad));
    const float y = float(v.maps.pad + (shown / v.maps.cols) * (v.maps.cell_h + v.maps.pad));
    ImGui::GetWindowDrawList()->AddRect(
        ImVec2(origin.x + x * zoom - 1, origin.y + y * zoom - 1),
        ImVec2(origin.x + (x + float(v.maps.cell_w)) * zoom + 1, origin.y + (y + float(v.maps.cell_h)) * zoom + 1), kOutline);
  }
  ImGui::TextDisabled("per channel: mean (bar) ± std (line)");
  // As wide as the grid, and wide enough for a bar per channel to be seen.
  const float strip_w = std::min(room_x, std::max(float(state.maps.width()) * zoom, 480.f));
  state.strip_hovered = channel_strip(v, shown, ImVec2(strip_w, kStrip));
  if (state.strip_hovered >= 0 && ImGui::IsItemClicked()) state.pinned = state.strip_hovered;
  ImGui::EndGroup();

  ImGui::SameLine(0, 16);
  ImGui::BeginGroup();
  // A new texture only when another channel or a new snapshot is shown, not every frame of a hover.
  if (snapshot->stamp != state.enlarged_stamp || shown != state.enlarged_channel)
    state.enlarged_key = next_stamp(), state.enlarged_stamp = snapshot->stamp, state.enlarged_channel = shown;
  state.enlarged.update(renderer, state.enlarged_key, v.channel[size_t(shown)]);
  if (state.enlarged.ready()) {
    float enlarged_zoom = kEnlarged / float(std::max(1, std::max(state.enlarged.width(), state.enlarged.height())));
    image_view(state.enlarged, enlarged_zoom, enlarged_zoom, enlarged_zoom);
  }
  if (size_t(shown) < v.mean.size() && size_t(shown) < v.std.size())
    ImGui::Text("channel %d: mean %.3g, std %.3g", shown, v.mean[size_t(shown)], v.std[size_t(shown)]);
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + kColumn);
  ImGui::TextDisabled("%s", hovered >= 0 ? "click to pin it" : "pinned; hover a cell or a bar to see another");
  ImGui::TextDisabled("each map is scaled to its own min…max; the statistics are of the raw values");
  ImGui::PopTextWrapPos();
  ImGui::EndGroup();
  return picked;
}

}  // namespace genlab::app
