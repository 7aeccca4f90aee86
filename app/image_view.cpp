#include "app/image_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

namespace genlab::app {

ImageHover image_view(const DisplayImage& image, float& zoom, float min_zoom, float max_zoom) {
  ImageHover hover;
  if (!image.ready()) return hover;
  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImVec2 size(image.width() * zoom, image.height() * zoom);
  ImGui::Image(image.texture_id(), size);
  if (!ImGui::IsItemHovered()) return hover;
  ImGuiIO& io = ImGui::GetIO();
  if (io.KeyCtrl && io.MouseWheel != 0.f)
    zoom = std::clamp(zoom * std::pow(1.25f, io.MouseWheel), min_zoom, max_zoom);
  hover.hovered = true;
  hover.clicked = ImGui::IsItemClicked(ImGuiMouseButton_Left);
  hover.x = std::clamp(int((io.MousePos.x - origin.x) / zoom), 0, image.width() - 1);
  hover.y = std::clamp(int((io.MousePos.y - origin.y) / zoom), 0, image.height() - 1);
  return hover;
}

void labelled_image(const char* label, DisplayImage& image, float zoom) {
  ImGui::BeginGroup();
  ImGui::TextUnformatted(label);
  image_view(image, zoom, zoom, zoom);
  ImGui::EndGroup();
}

}  // namespace genlab::app
