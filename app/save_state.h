// Under each lab's Save button: where the model was saved or loaded, the training not yet saved,
// and the newest autosave copy.
#pragma once

#include <imgui.h>

#include <cinttypes>
#include <string>

namespace genlab::app {

inline void draw_save_state(const std::string& checkpoint, int64_t step, int64_t saved_step, const std::string& autosaved) {
  if (!checkpoint.empty()) ImGui::TextDisabled("%s", checkpoint.c_str());
  if (step > saved_step) ImGui::TextDisabled("%" PRId64 " steps not saved", step - saved_step);
  if (!autosaved.empty()) ImGui::TextDisabled("autosave: %s", autosaved.c_str());
}

}  // namespace genlab::app
