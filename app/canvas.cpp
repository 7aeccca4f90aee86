#include "app/canvas.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "app/widgets.h"

namespace genlab::app {

namespace {

constexpr size_t kUndoDepth = 32;  // states kept: for a 64 x 64 colour image and its mask, 2 MB

}  // namespace

void Canvas::set_image(ImageBuffer image) {
  if (image.channels == image_.channels && image.height == image_.height && image.width == image_.width) push_undo(state());
  else undo_.clear(), stroke_saved_ = false;
  if (mask_.height != image.height || mask_.width != image.width)
    mask_ = {1, image.height, image.width, std::vector<float>(size_t(image.height) * size_t(image.width), 0.f)};
  image_ = std::move(image);
  origin_ = stamp_ = next_stamp();
}

bool Canvas::has_mask() const {
  return std::any_of(mask_.pixels.begin(), mask_.pixels.end(), [](float m) { return m > .5f; });
}

void Canvas::clear_mask() {
  push_undo(state());
  std::fill(mask_.pixels.begin(), mask_.pixels.end(), 0.f);
  stamp_ = next_stamp();
}

void Canvas::set_mask(ImageBuffer mask) {
  if (mask.channels != 1 || mask.height != image_.height || mask.width != image_.width) return;
  push_undo(state());
  mask_ = std::move(mask);
  stamp_ = next_stamp();
}

void Canvas::clear() {
  push_undo(state());
  std::fill(image_.pixels.begin(), image_.pixels.end(), 0.f);
  std::fill(mask_.pixels.begin(), mask_.pixels.end(), 0.f);
  origin_ = stamp_ = next_stamp();
}

void Canvas::undo() {
  if (undo_.empty()) return;
  State& last = undo_.back();
  image_ = std::move(last.image), mask_ = std::move(last.mask), origin_ = last.origin;
  undo_.pop_back();
  stamp_ = next_stamp();
  stroke_saved_ = false;  // a stroke still under way goes on as a step of its own
}

void Canvas::push_undo(State before) {
  undo_.push_back(std::move(before));
  if (undo_.size() > kUndoDepth) undo_.pop_front();
  stroke_saved_ = false;  // the same: the rest of a stroke under way is a new step
}

bool Canvas::paint(float x0, float y0, float x1, float y1, float value) { return stroke(x0, y0, x1, y1, value, true); }

bool Canvas::stroke(float x0, float y0, float x1, float y1, float value, bool new_step) {
  State before;
  if (new_step) before = state();
  ImageBuffer& layer = mask_mode_ ? mask_ : image_;
  const int c_count = layer.channels, h = layer.height, w = layer.width;
  const float reach = brush + 0.5f;
  const int xa = std::max(0, int(std::floor(std::min(x0, x1) - reach))), xb = std::min(w - 1, int(std::ceil(std::max(x0, x1) + reach)));
  const int ya = std::max(0, int(std::floor(std::min(y0, y1) - reach))), yb = std::min(h - 1, int(std::ceil(std::max(y0, y1) + reach)));
  const float dx = x1 - x0, dy = y1 - y0, length2 = dx * dx + dy * dy;
  bool changed = false;
  for (int y = ya; y <= yb; ++y)
    for (int x = xa; x <= xb; ++x) {
      // Distance from the pixel's centre to the stroke's segment; full strength within the radius
      // less half a pixel, fading to nothing a pixel further out (a soft, round edge).
      const float px = float(x) + .5f, py = float(y) + .5f;
      const float t = length2 > 0 ? std::clamp(((px - x0) * dx + (py - y0) * dy) / length2, 0.f, 1.f) : 0.f;
      const float weight = std::clamp(reach - std::hypot(px - x0 - t * dx, py - y0 - t * dy), 0.f, 1.f);
      if (weight <= 0) continue;
      for (int c = 0; c < c_count; ++c) {
        float& p = layer.pixels[(size_t(c) * h + y) * w + x];
        const float next = p + (value - p) * weight;
        if (std::fabs(next - p) > 1e-4f) p = next, changed = true;
      }
    }
  if (!changed) return false;
  if (new_step) push_undo(std::move(before));
  stamp_ = next_stamp();
  return true;
}

bool Canvas::draw(ImageRenderer& renderer, float side, const char* id) {
  const float scale = side / float(std::max(1, image_.width));
  display_.update(renderer, stamp_, image_);
  const ImVec2 origin = ImGui::GetCursorScreenPos(), end(origin.x + side, origin.y + side);
  ImGui::InvisibleButton(id, ImVec2(side, side), ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const ImGuiIO& io = ImGui::GetIO();
  const float mx = (io.MousePos.x - origin.x) / scale, my = (io.MousePos.y - origin.y) / scale;
  bool changed = false;
  if (ImGui::IsItemActivated()) last_x_ = mx, last_y_ = my, stroke_saved_ = false;
  if (ImGui::IsItemActive()) {
    // The stroke's first change saves the state before it: one undo step per stroke.
    const float value = ImGui::IsMouseDown(ImGuiMouseButton_Right) ? 0.f : mask_mode_ ? 1.f : ink;
    if (stroke(last_x_, last_y_, mx, my, value, !stroke_saved_)) stroke_saved_ = true, changed = true;
    last_x_ = mx, last_y_ = my;
  }
  const bool hovered = ImGui::IsItemHovered() || ImGui::IsItemActive();
  // Ctrl+Z, unless a text field has the keyboard (its own undo).
  if (hovered && io.KeyCtrl && !io.WantTextInput && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Z), false) && can_undo())
    undo(), changed = true;

  ImDrawList* draw = ImGui::GetWindowDrawList();
  if (display_.ready()) draw->AddImage(display_.texture_id(), origin, end);
  // The mask in translucent red, a rectangle per pixel: no texture to keep for it.
  for (int y = 0; y < mask_.height; ++y)
    for (int x = 0; x < mask_.width; ++x)
      if (const float m = mask_.pixels[size_t(y) * size_t(mask_.width) + size_t(x)]; m > 0)
        draw->AddRectFilled(ImVec2(origin.x + float(x) * scale, origin.y + float(y) * scale),
                            ImVec2(origin.x + float(x + 1) * scale, origin.y + float(y + 1) * scale), IM_COL32(255, 40, 40, int(150 * m)));
  draw->AddRect(origin, end, IM_COL32(255, 255, 255, 60));
  if (hovered) draw->AddCircle(io.MousePos, brush * scale, IM_COL32(255, 200, 80, 200), 24);
  return changed;
}

void Canvas::controls() {
  ImGui::PushID(this);
  ImGui::SetNextItemWidth(120);
  // Up to a tenth of the image across, 3 px at least (a 28-px image's widest useful stroke).
  ImGui::SliderFloat("brush (px)", &brush, .5f, std::max(3.f, float(image_.width) / 10), "%.1f");
  ImGui::SameLine();
  ImGui::BeginDisabled(mask_mode_);  // the mask is painted at 1
  ImGui::SetNextItemWidth(80);
  ImGui::SliderFloat("ink", &ink, 0.f, 1.f, "%.2f");
  ImGui::EndDisabled();
  hint("the grey level the left button paints (0 black, 1 white)");
  ImGui::SameLine();
  ImGui::BeginDisabled(!can_undo());
  if (ImGui::Button("Undo")) undo();
  ImGui::EndDisabled();
  hint("the last stroke, picture or clear (Ctrl+Z over the canvas)");
  ImGui::SameLine();
  if (ImGui::Button("Clear")) clear();
  ImGui::PopID();
}

}  // namespace genlab::app
