#include "app/quit_dialog.h"

#include <imgui.h>

#include <cinttypes>
#include <cstdio>

#include "core/lab/session.h"

namespace genlab::app {

bool QuitDialog::allow_close(const Session& session) {
  if (confirmed_) return true;
  const auto unsaved = session.unsaved_training();
  if (unsaved.empty()) return true;
  if (!open_) {
    // Said on stdout too, so a scripted close (tests, --request-close) can see it asked.
    std::printf("genlab: asking before closing: unsaved training in");
    for (const auto& u : unsaved) std::printf(" %s (%" PRId64 " steps)", u.model.c_str(), u.steps);
    std::printf("\n");
    std::fflush(stdout);
  }
  open_ = true;
  return false;
}

bool QuitDialog::draw(const Session& session) {
  if (!open_) return false;
  ImGui::OpenPopup("Unsaved training");
  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(viewport->GetCenter(), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
  bool quit = false;
  if (ImGui::BeginPopupModal("Unsaved training", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::Text("These models have training that was not saved:");
    for (const auto& u : session.unsaved_training())
      ImGui::BulletText("%s: %" PRId64 " steps since the last save", u.model.c_str(), u.steps);
    ImGui::Spacing();
    if (autosave_dir_.empty())
      ImGui::TextColored(ImVec4(1.f, 0.6f, 0.3f, 1.f), "Autosave is off: quitting loses them.");
    else
      ImGui::TextDisabled("Quitting stops training and writes an autosave copy to\n%s\n(File › Autosaved models opens it).",
                          autosave_dir_.c_str());
    ImGui::Spacing();
    if (ImGui::Button("Keep working")) {
      open_ = false;
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Quit")) {
      open_ = false;
      confirmed_ = quit = true;
      ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
  }
  return quit;
}

}  // namespace genlab::app
