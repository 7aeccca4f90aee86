// Under each lab's Save button: where the model was saved or loaded, the training not yet saved,
// and the newest autosave copy.
#pragma once

#include <imgui.h>

#include <cinttypes>
#include <string>

#include "core/lab/session.h"

namespace genlab::app {

inline void draw_save_state(const SaveState& saved, int64_t step) {
  if (!saved.checkpoint.empty()) ImGui::TextDisabled("%s", saved.checkpoint.c_str());
  if (step > saved.saved_step) ImGui::TextDisabled("%" PRId64 " steps not saved", step - saved.saved_step);
  if (!saved.autosaved.empty()) ImGui::TextDisabled("autosave: %s", saved.autosaved.c_str());
}

}  // namespace genlab::app
