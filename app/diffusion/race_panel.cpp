#include "app/diffusion/race_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "app/diffusion/sampling_controls.h"
#include "app/image_view.h"
#include "app/widgets.h"
#include "core/diffusion/guidance_schedule.h"

namespace genlab::app {

namespace {

constexpr int kMaxImages = 4;    // the lab's limit per column
constexpr float kFullZoom = 4;   // 112 px for a 28-px image
constexpr float kColumnText = 100;  // the read-out under a column wraps within at least this width
const ImVec4 kDone(.45f, .9f, .45f, 1.f), kError(1.f, .45f, .35f, 1.f);

// "ddpm:1000;ddim:50;dpmpp2m:5", or std::invalid_argument.
std::vector<RaceEntry> parse_entries(const std::string& text) {
  std::vector<RaceEntry> entries;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ';')) {
    const size_t colon = item.find(':');
    RaceEntry entry;
    entry.sampler = item.substr(0, colon);
    if (colon == std::string::npos || !known_sampler(entry.sampler))
      throw std::invalid_argument("race entry '" + item + "' is not SAMPLER:STEPS (ddpm, ddim or dpmpp2m)");
    entry.steps = std::stoi(item.substr(colon + 1));
    if (entry.steps < 1) throw std::invalid_argument("race entry '" + item + "' has no steps");
    entries.push_back(entry);
  }
  if (entries.empty()) throw std::invalid_argument("the race has no entries");
  return entries;
}

}  // namespace

bool RacePanel::set(const std::string& key, const std::string& value) {
  if (key == "run") start_ |= std::stoi(value) != 0;
  else if (key == "class") params_.label = std::max(-1, std::stoi(value));
  else if (key == "cfg") params_.cfg = std::clamp(std::stod(value), 0.0, 20.0);
  else if (key == "seed") params_.seed = std::stoull(value);
  else if (key == "n") params_.n = std::clamp(std::stoi(value), 1, kMaxImages);
  else if (key == "schedule") params_.cfg_schedule = parse_guidance_schedule(value).name();
  else if (key == "entries") entries_ = parse_entries(value);
  else return false;
  if (key != "run") start_ = true;  // a new setting races again
  return true;
}

void RacePanel::leave(Session& session) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  auto view = lab.race_view().get();
  if (view && view->value.done) return;
  lab.stop_race();
  start_ = true;
}

void RacePanel::draw_entries(const DiffusionModelView& model) {
  ImGui::TextUnformatted("Entries");
  int remove = -1;
  for (size_t i = 0; i < entries_.size(); ++i) {
    RaceEntry& entry = entries_[i];
    ImGui::PushID(int(i));
    start_ |= sampler_combo("##sampler", entry.sampler, 160);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(110);
    if (ImGui::InputInt("##steps", &entry.steps, 1, 10)) entry.steps = std::clamp(entry.steps, 1, model.T), start_ = true;
    ImGui::SameLine();
    ImGui::BeginDisabled(entries_.size() == 1);  // a race needs a runner
    if (ImGui::Button("×")) remove = int(i);
    ImGui::EndDisabled();
    hint("remove this entry");
    ImGui::PopID();
  }
  if (remove >= 0) entries_.erase(entries_.begin() + remove), start_ = true;
  if (ImGui::Button("Add")) entries_.push_back({"dpmpp2m", 10}), start_ = true;
  ImGui::SameLine();
  if (ImGui::Button("Default")) entries_ = default_race(), start_ = true;
  hint("DDPM 1000, DDIM 50/20/10, DPM-Solver++ 20/10/5");
}

void RacePanel::draw_controls(const DiffusionModelView& model) {
  if (ImGui::Button("Run", ImVec2(80, 0))) start_ = true;
  ImGui::SameLine();
  ImGui::TextDisabled("(starts again on every change)");
  ImGui::Separator();
  if (model.classes > 0) {
    start_ |= class_or_each_combo("class", params_.label, model.class_names);
    float cfg = float(params_.cfg);
    ImGui::SetNextItemWidth(160);
    if (ImGui::SliderFloat("CFG w", &cfg, 0.f, 20.f, "%.2f")) params_.cfg = cfg, start_ = true;
    start_ |= guidance_schedule_combo(params_.cfg_schedule);
  }
  int seed = int(params_.seed);
  ImGui::SetNextItemWidth(160);
  if (ImGui::InputInt("seed", &seed)) params_.seed = uint64_t(std::max(0, seed)), start_ = true;
  ImGui::SetNextItemWidth(160);
  start_ |= ImGui::SliderInt("images", &params_.n, 1, kMaxImages);
  ImGui::Separator();
  draw_entries(model);
  ImGui::Separator();
  note("Every column starts from the same noise x_T with the same class and guidance. A round makes one network "
       "call (a guided batch) for each column still running, so all advance together and a 5-step sampler is done "
       "while DDPM has 995 calls to go.");
}

void RacePanel::draw_columns(ImageRenderer& renderer, const RaceView& view, uint64_t stamp) {
  ImGui::Text("round %d of %d", view.round, view.rounds);
  ImGui::SameLine();
  ImGui::ProgressBar(view.rounds > 0 ? float(view.round) / float(view.rounds) : 0.f, ImVec2(-1, 0), view.done ? "done" : "");
  const size_t count = view.columns.size();
  x_.resize(count), x0_.resize(count);
  // As large as fits, up to 112 px an image, every column side by side.
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const int grid_w = count ? std::max(1, view.columns[0].x.image.width) : 1;
  const float per_column = (ImGui::GetContentRegionAvail().x - spacing * float(count)) / float(std::max<size_t>(1, count));
  const float zoom = std::clamp(std::floor(per_column / float(grid_w)), 1.f, kFullZoom);
  const float width = std::max(zoom * float(grid_w), kColumnText);
  ImGui::BeginChild("race-columns", ImVec2(0, 0), false, ImGuiWindowFlags_HorizontalScrollbar);
  for (size_t k = 0; k < count; ++k) {
    const RaceColumn& c = view.columns[k];
    if (k > 0) ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
    ImGui::Text("%s %d", sampler_short_title(c.entry.sampler), c.entry.steps);
    x_[k].update(renderer, stamp, c.x.image);
    x0_[k].update(renderer, stamp, c.x0.image);
    float z = zoom;
    image_view(x_[k], z, z, z);
    hint("x at the column's current t");
    z = zoom;
    image_view(x0_[k], z, z, z);
    hint("x̂₀: the clean image the network predicts from it");
    ImGui::Text("calls %d / %d", c.calls, c.entry.steps);
    ImGui::Text("t = %d", c.t);
    ImGui::TextDisabled("%.0f ms, %.1f ms/call", c.ms, c.calls ? c.ms / c.calls : 0.0);
    if (c.calls == c.entry.steps) ImGui::TextColored(kDone, "done in %d calls, %.0f ms", c.calls, c.ms);
    ImGui::PopTextWrapPos();
    ImGui::Dummy(ImVec2(width, 0));
    ImGui::EndGroup();
  }
  ImGui::EndChild();
}

void RacePanel::draw(Session& session, ImageRenderer& renderer) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  auto model_snapshot = lab.model().get();
  if (!model_snapshot || !model_snapshot->value.exists) {
    ImGui::TextWrapped("No diffusion model loaded: load one in the Sample view (the shipped "
                       "ddpm-fashion-cond.safetensors opens at start), then race its samplers here.");
    return;
  }
  const DiffusionModelView& model = model_snapshot->value;

  ImGui::BeginChild("race-controls", ImVec2(330, 0), true);
  draw_controls(model);
  ImGui::EndChild();
  ImGui::SameLine();

  if (start_ || model_snapshot->stamp != raced_for_model_) {
    errors_before_ = session.worker().status()->value.error_stamp;
    lab.race(params_, entries_);
    start_ = false, raced_for_model_ = model_snapshot->stamp;
  }

  ImGui::BeginChild("race-views", ImVec2(0, 0));
  const WorkerStatus status = session.worker().status()->value;
  if (status.error_stamp != errors_before_ && status.error.rfind("diffusion.race", 0) == 0) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kError, "%s", status.error.c_str());
    ImGui::PopTextWrapPos();
  }
  auto view = lab.race_view().get();
  if (!view || view->value.columns.empty()) ImGui::TextDisabled("starting the race…");
  else draw_columns(renderer, view->value, view->stamp);
  ImGui::EndChild();
}

}  // namespace genlab::app
