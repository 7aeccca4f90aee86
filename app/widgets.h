// Small ImGui widgets the panels share. UI thread only.
#pragma once

#include <imgui.h>

#include <string>
#include <vector>

namespace genlab::app {

// A combo of the data set's class names; true on the frame the choice changes.
inline bool class_combo(const char* label, int& index, const std::vector<std::string>& names, float width = 160) {
  bool changed = false;
  ImGui::SetNextItemWidth(width);
  if (ImGui::BeginCombo(label, size_t(index) < names.size() ? names[size_t(index)].c_str() : "?")) {
    for (size_t c = 0; c < names.size(); ++c)
      if (ImGui::Selectable(names[c].c_str(), int(c) == index)) index = int(c), changed = true;
    ImGui::EndCombo();
  }
  return changed;
}

// The text as a tooltip while the item drawn last is hovered.
inline void hint(const char* text) {
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text);
}

// A dimmed caption that wraps at the window's edge.
inline void note(const char* text) {
  ImGui::PushTextWrapPos(0.f);
  ImGui::TextDisabled("%s", text);
  ImGui::PopTextWrapPos();
}

// The last part of a path.
inline std::string file_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

}  // namespace genlab::app
