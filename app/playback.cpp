#include "app/playback.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

namespace genlab::app {

int playback_bar(Playback& p, int length, int total, bool done, float trailing) {
  const int last = std::max(0, length - 1);
  int shown = p.shown(length);
  // Play: advance `speed` steps a second; stop at the newest step.
  if (p.playing) {
    p.clock += ImGui::GetIO().DeltaTime * p.speed;
    const int advance = int(p.clock);
    p.clock -= advance;
    shown = std::min(shown + advance, last);
    p.frame = shown;
    if (shown == last) p.playing = false;
  }
  if (ImGui::Button("|<")) p.frame = shown = 0, p.playing = false;
  ImGui::SameLine();
  if (ImGui::Button("<")) p.frame = shown = std::max(0, shown - 1), p.playing = false;
  ImGui::SameLine();
  if (ImGui::Button(p.playing ? "Pause" : "Play", ImVec2(52, 0))) {
    p.playing = !p.playing;
    p.clock = 0;
    if (p.playing && shown == last) p.frame = shown = 0;  // play again from the start
  }
  ImGui::SameLine();
  if (ImGui::Button(">")) p.frame = shown = std::min(last, shown + 1), p.playing = false;
  ImGui::SameLine();
  if (ImGui::Button(">|")) p.frame = -1, shown = last, p.playing = false;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(110);
  ImGui::SliderFloat("steps/s", &p.speed, 1.f, 60.f, "%.0f", ImGuiSliderFlags_Logarithmic);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(std::max(120.f, ImGui::GetContentRegionAvail().x - trailing));
  char label[48];
  snprintf(label, sizeof label, "step %d of %d", shown + 1, total);
  if (ImGui::SliderInt("##step", &shown, 0, last, label)) {
    p.playing = false;
    p.frame = shown >= last && !done ? -1 : shown;
  }
  return shown;
}

}  // namespace genlab::app
