#include "app/lab_placeholder.h"

#include <imgui.h>

namespace genlab::app {

void draw_lab_placeholder(const char* title, const char* what_it_will_do) {
  ImGui::Spacing();
  ImGui::Text("%s — coming", title);
  ImGui::Separator();
  ImGui::PushTextWrapPos(ImGui::GetContentRegionAvail().x * 0.7f);
  ImGui::TextDisabled("%s", what_it_will_do);
  ImGui::PopTextWrapPos();
}

}  // namespace genlab::app
