#include "app/diffusion/sampling_controls.h"

#include <imgui.h>

#include <algorithm>
#include <stdexcept>

#include "app/widgets.h"
#include "core/diffusion/guidance_schedule.h"
#include "core/diffusion/sampling_params.h"

namespace genlab::app {

namespace {

struct ShapeName {
  GuidanceShape shape;
  const char* title;
};
const ShapeName kShapes[] = {{GuidanceShape::Constant, "constant"},
                             {GuidanceShape::LinearUp, "linear up"},
                             {GuidanceShape::LinearDown, "linear down"},
                             {GuidanceShape::Cosine, "cosine up"},
                             {GuidanceShape::Interval, "interval"}};

// Kynkäänniemi et al. 2024's guidance interval for EDM2 (noise levels 0.28 < sigma <= 5.42).
constexpr float kIntervalLo = 0.28f, kIntervalHi = 5.42f;

}  // namespace

bool sampler_combo(const char* label, std::string& sampler, float width) {
  const SamplerName* current = find_sampler_name(sampler);
  bool changed = false;
  ImGui::SetNextItemWidth(width);
  if (ImGui::BeginCombo(label, current ? current->title : sampler.c_str())) {
    for (const SamplerName& s : sampler_names())
      if (ImGui::Selectable(s.title, &s == current)) changed = sampler != s.name, sampler = s.name;
    ImGui::EndCombo();
  }
  return changed;
}

const char* sampler_short_title(const std::string& sampler) {
  const SamplerName* s = find_sampler_name(sampler);
  return s ? s->short_title : sampler.c_str();
}

bool known_sampler(const std::string& sampler) { return find_sampler_name(sampler) != nullptr; }

bool class_or_each_combo(const char* label, int& class_index, const std::vector<std::string>& names, float width) {
  const char* const each = "each class in turn";
  const bool named = class_index >= 0 && size_t(class_index) < names.size();
  std::string current = class_index < 0 ? each : named ? names[size_t(class_index)] : "#" + std::to_string(class_index);
  bool changed = false;
  ImGui::SetNextItemWidth(width);
  if (ImGui::BeginCombo(label, current.c_str())) {
    if (ImGui::Selectable(each, class_index < 0)) changed = class_index != -1, class_index = -1;
    for (size_t c = 0; c < names.size(); ++c)
      if (ImGui::Selectable(names[c].empty() ? ("#" + std::to_string(c)).c_str() : names[c].c_str(), class_index == int(c)))
        changed = class_index != int(c), class_index = int(c);
    ImGui::EndCombo();
  }
  hint("each class in turn: image k gets class k mod the class count");
  return changed;
}

bool guidance_schedule_combo(std::string& schedule_text) {
  GuidanceSchedule schedule;
  try {
    schedule = parse_guidance_schedule(schedule_text);
  } catch (const std::invalid_argument&) {  // not one of the names: shown as constant until picked
  }
  const ShapeName* current = std::find_if(std::begin(kShapes), std::end(kShapes),
                                          [&](const ShapeName& s) { return s.shape == schedule.shape; });
  ImGui::SetNextItemWidth(160);
  if (ImGui::BeginCombo("w(t)", current->title)) {
    for (const ShapeName& s : kShapes)
      if (ImGui::Selectable(s.title, &s == current) && s.shape != schedule.shape) {
        schedule.shape = s.shape;
        if (s.shape == GuidanceShape::Interval) schedule.lo = kIntervalLo, schedule.hi = kIntervalHi;
      }
    ImGui::EndCombo();
  }
  hint("guidance as a function of the step, scaled so its mean over the run's steps is w: ramps up or down, or "
       "guided only while the noise level sigma_t = sqrt((1 - alpha_bar) / alpha_bar) is inside an interval");
  if (schedule.shape == GuidanceShape::Interval) {
    float lo = float(schedule.lo), hi = float(schedule.hi);
    ImGui::SetNextItemWidth(160);
    if (ImGui::DragFloatRange2("sigma LO..HI", &lo, &hi, 0.01f, 0.f, 200.f, "%.2f", "%.2f", ImGuiSliderFlags_Logarithmic))
      schedule.lo = lo, schedule.hi = std::max(hi, lo + 0.01f);  // the interval must not be empty
    hint("guided where LO < sigma_t <= HI; unguided (w = 1) outside");
  }
  const std::string text = schedule.name();
  if (text == schedule_text) return false;
  schedule_text = text;
  return true;
}

}  // namespace genlab::app
