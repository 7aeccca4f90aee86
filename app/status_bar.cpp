#include "app/status_bar.h"

#include <imgui.h>

#include <cinttypes>
#include <string>

namespace genlab::app {

namespace {

std::string format_duration(double seconds) {
  char text[32];
  if (seconds < 0) return "?";
  if (seconds < 60) snprintf(text, sizeof text, "%.0f s", seconds);
  else if (seconds < 3600) snprintf(text, sizeof text, "%d min %02d s", int(seconds) / 60, int(seconds) % 60);
  else snprintf(text, sizeof text, "%d h %02d min", int(seconds) / 3600, int(seconds) % 3600 / 60);
  return text;
}

}  // namespace

float StatusBar::height() { return ImGui::GetFrameHeightWithSpacing() * 2.f + 6.f; }

void StatusBar::draw(Session& session, float fps) {
  auto status = session.worker().status();
  const WorkerStatus& s = status->value;

  // Line 1: the job.
  if (s.state == WorkerState::Idle) {
    ImGui::TextDisabled("worker idle");
  } else {
    ImGui::Text("%s: %s", worker_state_name(s.state), s.job.c_str());
    ImGui::SameLine();
    float fraction = s.total > 0 ? float(s.done) / float(s.total) : 0.f;
    std::string overlay = s.total > 0 ? std::to_string(int(fraction * 100)) + " % · ETA " + format_duration(s.eta_s)
                                      : std::to_string(s.done) + " steps · " + format_duration(s.elapsed_s);
    ImGui::ProgressBar(fraction, ImVec2(260, 0), overlay.c_str());
    ImGui::SameLine();
    if (ImGui::SmallButton(s.state == WorkerState::Paused ? "resume" : "pause"))
      session.worker().set_paused(s.state != WorkerState::Paused);
    ImGui::SameLine();
    if (ImGui::SmallButton("cancel")) session.worker().cancel();
    if (s.queued > 0) {
      ImGui::SameLine();
      ImGui::TextDisabled("+%d queued", s.queued);
    }
  }
  if (s.error_stamp != 0 && s.error_stamp != dismissed_error_) {
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(1.f, .35f, .35f, 1.f), "error: %s", s.error.c_str());
    ImGui::SameLine();
    if (ImGui::SmallButton("dismiss")) dismissed_error_ = s.error_stamp;
  }

  // Line 2: the machine.
  auto machine = session.machine().get();
  if (machine) {
    const MachineInfo& m = machine->value;
    ImGui::TextDisabled("%s · torch %s · %d/%d threads · matmul %.0f GFLOP/s", m.device.c_str(),
                        m.torch_version.c_str(), m.threads, m.cores, m.matmul_gflops);
    if (!m.warning.empty()) {
      ImGui::SameLine();
      ImGui::TextColored(ImVec4(1.f, .7f, .2f, 1.f), "%s", m.warning.c_str());
    }
  } else {
    ImGui::TextDisabled("measuring the machine…");
  }
  ImGui::SameLine(ImGui::GetWindowWidth() - 90);
  ImGui::TextDisabled("%.0f FPS", fps);
}

}  // namespace genlab::app
