#include "app/diffusion_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "app/image_view.h"
#include "app/plot.h"
#include "core/io/png_text.h"

#include <nlohmann/json.hpp>

namespace genlab::app {

namespace {

// [-1, 1] model space -> [0, 1] for display.
ImageBuffer to_display(const ImageBuffer& image) {
  ImageBuffer out = image;
  for (float& p : out.pixels) p = (p + 1.f) * 0.5f;
  return out;
}

void labelled_image(const char* label, DisplayImage& image, float zoom) {
  ImGui::BeginGroup();
  ImGui::TextUnformatted(label);
  image_view(image, zoom, zoom, zoom);
  ImGui::EndGroup();
}

}  // namespace

void DiffusionPanel::rebuild_schedule_plot() {
  schedule_values_ = NoiseSchedule::make(BetaSchedule(schedule_));
  steps_.clear(), beta_.clear(), alpha_bar_.clear(), signal_.clear(), noise_.clear(), log_snr_.clear();
  for (int t = 1; t <= schedule_values_.T; t += 4) {
    steps_.push_back(float(t));
    beta_.push_back(float(schedule_values_.beta[size_t(t - 1)] * 25));  // x25 to share the [0, 1] axis
    alpha_bar_.push_back(float(schedule_values_.alpha_bar_at(t)));
    signal_.push_back(float(schedule_values_.signal(t)));
    noise_.push_back(float(schedule_values_.noise(t)));
    log_snr_.push_back(float(std::log10(schedule_values_.snr(t))));
  }
}

void DiffusionPanel::draw_forward(Session& session, ImageRenderer& renderer) {
  if (steps_.empty()) rebuild_schedule_plot();
  // Ask again when the data set changes (and not before one is open: previews run ahead of loads).
  auto open = session.dataset().get();
  bool changed = open && open->stamp != requested_for_data_;
  ImGui::BeginChild("diffusion-controls", ImVec2(320, 0), true);
  ImGui::Text("Forward process");
  changed |= ImGui::RadioButton("linear β (1e-4 … 0.02)", &schedule_, int(BetaSchedule::Linear));
  changed |= ImGui::RadioButton("cosine", &schedule_, int(BetaSchedule::Cosine));
  if (changed && schedule_values_.kind != BetaSchedule(schedule_)) rebuild_schedule_plot();
  ImGui::SetNextItemWidth(200);
  changed |= ImGui::SliderInt("t", &t_, 0, schedule_values_.T);
  if (ImGui::Button("ᾱ ≈ 0.3 (the worked example)")) t_ = schedule_values_.t_for_alpha_bar(0.3), changed = true;
  ImGui::SetNextItemWidth(120);
  changed |= ImGui::InputInt("test image", &index_);
  ImGui::SetNextItemWidth(120);
  changed |= ImGui::InputInt("noise seed", &seed_);
  index_ = std::max(0, index_);
  ImGui::Separator();
  const double ab = schedule_values_.alpha_bar_at(t_);
  ImGui::Text("x_t = √ᾱ_t · x₀ + √(1 − ᾱ_t) · ε");
  ImGui::Text("    = %.3f · x₀ + %.3f · ε", schedule_values_.signal(t_), schedule_values_.noise(t_));
  ImGui::Text("ᾱ_%d = %.4f", t_, ab);
  if (t_ > 0) ImGui::Text("β_%d = %.5f", t_, schedule_values_.beta[size_t(t_ - 1)]);
  if (t_ > 0) ImGui::Text("SNR = ᾱ / (1 − ᾱ) = %.4g", schedule_values_.snr(t_));
  else ImGui::Text("SNR = ∞ (no noise yet)");
  ImGui::PushTextWrapPos(0.f);
  ImGui::TextDisabled("The jump lands on x_t in one step; the chain adds a little noise T times. "
                      "Both give the same distribution: N(√ᾱ_t x₀, (1 − ᾱ_t) I).");
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  ImGui::SameLine();

  if (changed && open) {
    session.diffusion().forward_process(index_, t_, BetaSchedule(schedule_), uint64_t(seed_));
    requested_for_data_ = open->stamp;
  }
  ImGui::BeginChild("diffusion-views", ImVec2(0, 0));
  auto view = session.diffusion().forward_view().get();
  if (view) {
    const ForwardProcessView& v = view->value;
    x0_.update(renderer, view->stamp, to_display(v.x0));
    noise_image_.update(renderer, view->stamp, v.noise, ImageStyle::Signed, 2.5f);
    jump_.update(renderer, view->stamp, to_display(v.jump));
    chain_.update(renderer, view->stamp, to_display(v.chain));
    const float zoom = std::clamp(std::floor((ImGui::GetContentRegionAvail().x - 40) / 4 / float(std::max(1, x0_.width()))), 1.f, 8.f);
    labelled_image("x₀ (test image)", x0_, zoom);
    ImGui::SameLine();
    labelled_image("ε ~ N(0, I)", noise_image_, zoom);
    ImGui::SameLine();
    char label[64];
    snprintf(label, sizeof label, "x_%d by the jump", v.t);
    labelled_image(label, jump_, zoom);
    ImGui::SameLine();
    snprintf(label, sizeof label, "x_%d by %d chain steps", v.t, v.t);
    labelled_image(label, chain_, zoom);
  }
  ImGui::Spacing();
  PlotSeries cursor{"t", IM_COL32(255, 255, 255, 120), {float(t_), float(t_)}, {0.f, 1.f}};
  const float w = ImGui::GetContentRegionAvail().x;
  line_plot("schedule",
            {PlotSeries{"ᾱ_t", IM_COL32(230, 230, 230, 255), steps_, alpha_bar_},
             PlotSeries{"√ᾱ_t", IM_COL32(90, 170, 255, 255), steps_, signal_},
             PlotSeries{"√(1−ᾱ_t)", IM_COL32(255, 150, 60, 255), steps_, noise_},
             PlotSeries{"β_t ×25", IM_COL32(120, 230, 120, 255), steps_, beta_}, cursor},
            ImVec2(w * 0.6f, 200), "t");
  ImGui::SameLine();
  PlotSeries snr_cursor{"t", IM_COL32(255, 255, 255, 120), {float(t_), float(t_)},
                        {log_snr_.empty() ? 0.f : log_snr_.back(), log_snr_.empty() ? 0.f : log_snr_.front()}};
  line_plot("snr", {PlotSeries{"log10 SNR", IM_COL32(220, 120, 220, 255), steps_, log_snr_}, snr_cursor},
            ImVec2(std::max(80.f, ImGui::GetContentRegionAvail().x), 200), "t");
  ImGui::EndChild();
}


void DiffusionPanel::draw_sampling(Session& session, ImageRenderer& renderer) {
  DiffusionLab& lab = session.diffusion();
  auto model = lab.model().get();
  bool changed = model && model->stamp != sampled_for_model_;
  ImGui::TextDisabled("drop a sample PNG from genlab here to restore its parameters");
  ImGui::BeginChild("sampling-controls", ImVec2(320, 0), true);
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##ddpm-path", path_, sizeof path_);
  if (ImGui::Button("Load")) lab.load(path_);
  if (model) {
    ImGui::SameLine();
    ImGui::TextDisabled("step %lld", (long long)model->value.step);
  }
  ImGui::Separator();
  const char* samplers[] = {"ddpm", "ddim", "dpmpp2m"};
  ImGui::SetNextItemWidth(160);
  if (ImGui::Combo("sampler", &sampler_, "DDPM (ancestral)\0DDIM\0DPM-Solver++(2M)\0")) changed = true;
  params_.sampler = samplers[sampler_];
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("steps", &params_.steps, 1, model ? model->value.T : 1000, "%d", ImGuiSliderFlags_Logarithmic);
  float cfg = float(params_.cfg), eta = float(params_.eta);
  ImGui::SetNextItemWidth(160);
  if (ImGui::SliderFloat("CFG scale w", &cfg, 0.f, 20.f, "%.2f")) params_.cfg = cfg, changed = true;
  if (sampler_ == 1) {
    ImGui::SetNextItemWidth(160);
    if (ImGui::SliderFloat("η", &eta, 0.f, 1.f, "%.2f")) params_.eta = eta, changed = true;
  }
  if (model && model->value.classes > 0) {
    const auto& names = model->value.class_names;
    std::string current = params_.label < 0 ? "one of each" : names[size_t(params_.label)];
    ImGui::SetNextItemWidth(160);
    if (ImGui::BeginCombo("class", current.c_str())) {
      if (ImGui::Selectable("one of each", params_.label < 0)) params_.label = -1, changed = true;
      for (size_t c = 0; c < names.size(); ++c)
        if (ImGui::Selectable(names[c].empty() ? std::to_string(c).c_str() : names[c].c_str(), params_.label == int(c)))
          params_.label = int(c), changed = true;
      ImGui::EndCombo();
    }
  }
  int seed = int(params_.seed);
  ImGui::SetNextItemWidth(160);
  if (ImGui::InputInt("seed", &seed)) params_.seed = uint64_t(std::max(0, seed)), changed = true;
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("images", &params_.n, 1, 40);
  ImGui::Separator();
  ImGui::PushTextWrapPos(0.f);
  ImGui::Text("ε_w = ε(x_t, ∅) + w·(ε(x_t, c) − ε(x_t, ∅))");
  ImGui::TextDisabled("w = 0: unconditional; w = 1: conditional; w > 1: guided further toward the class, "
                      "at some cost in variety. Each guided step is one batch of 2 network evaluations.");
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  ImGui::SameLine();
  if (changed && model) {
    lab.sample(params_);
    sampled_for_model_ = model->stamp;
    frame_ = -1;
  }

  ImGui::BeginChild("sampling-views", ImVec2(0, 0));
  if (!model) {
    ImGui::TextWrapped("No diffusion model loaded. Train one with `genlab-cli train --model ddpm --cond --epochs 9 "
                       "--out ddpm.safetensors`, then Load it here (or start genlab with --load ddpm.safetensors).");
    ImGui::EndChild();
    return;
  }
  auto view = lab.sampling().get();
  if (view && !view->value.frames.empty()) {
    const SamplingView& v = view->value;
    const int last = int(v.frames.size()) - 1;
    int shown = frame_ < 0 ? last : std::min(frame_, last);
    ImGui::SetNextItemWidth(400);
    if (ImGui::SliderInt("step", &shown, 0, last)) frame_ = shown >= last && !v.done ? -1 : shown;
    ImGui::SameLine();
    ImGui::TextDisabled("%d / %d done · first step %.0f ms, last %.0f ms after the change", int(v.frames.size()),
                        v.total, 1000 * v.seconds_first, 1000 * v.seconds_last);
    const SamplingStepFrame& f = *v.frames[size_t(shown)];
    const uint64_t key = view->stamp * 4096 + uint64_t(shown);
    sample_x_t_.update(renderer, key, f.x_t.image);
    sample_x0_.update(renderer, key, f.x0.image);
    float zoom = std::clamp(std::floor(2.f * ImGui::GetContentRegionAvail().x / float(sample_x_t_.width())) / 2.f, 1.f, 6.f);
    ImGui::Text("x_%d after step %d of %d", f.t_next, shown + 1, v.total);
    image_view(sample_x_t_, zoom, zoom, zoom);
    ImGui::Text("predicted x₀ at t = %d (the jump solved for x₀)", f.t);
    image_view(sample_x0_, zoom, zoom, zoom);
  } else {
    ImGui::TextDisabled("sampling…");
  }
  ImGui::EndChild();
}

void DiffusionPanel::restore_from_png(Session& session, const std::string& path) {
  try {
    auto texts = read_png_text(path);
    auto params = nlohmann::json::parse(texts.count("genlab") ? texts["genlab"] : std::string(), nullptr, false);
    if (!params.is_object() || !params.contains("sampler"))
      throw DataError(path + ": carries no genlab sampling parameters");
    SamplingParams p;
    p.sampler = params.value("sampler", p.sampler);
    p.steps = params.value("steps", p.steps);
    p.cfg = params.value("cfg", p.cfg);
    p.eta = params.value("eta", p.eta);
    p.label = params.value("class", p.label);
    p.seed = params.value("seed", p.seed);
    p.n = params.value("n", p.n);
    const char* samplers[] = {"ddpm", "ddim", "dpmpp2m"};
    const auto known = std::find(std::begin(samplers), std::end(samplers), p.sampler);
    if (known == std::end(samplers)) throw DataError(path + ": unknown sampler '" + p.sampler + "'");
    sampler_ = int(known - std::begin(samplers));
    params_ = p;
    const std::string checkpoint = params.value("checkpoint", std::string());
    auto model = session.diffusion().model().get();
    if (!checkpoint.empty() && (!model || model->value.checkpoint != checkpoint)) {
      snprintf(path_, sizeof path_, "%s", checkpoint.c_str());
      session.diffusion().load(checkpoint);  // the new model snapshot triggers the re-sample
    } else {
      sampled_for_model_ = 0;  // re-sample with the restored parameters
    }
    opened_sampling_ = false;
  } catch (const std::exception& e) {  // hostile or foreign text: one line in the status bar
    session.worker().submit("restore " + path, [message = std::string(e.what())](JobContext&) {
      throw std::runtime_error(message);
    });
  }
}

void DiffusionPanel::draw(Session& session, ImageRenderer& renderer) {
  if (ImGui::BeginTabBar("diffusion-views-tabs")) {
    const bool has_model = session.diffusion().model().get() != nullptr;
    if (ImGui::BeginTabItem("Forward process")) {
      draw_forward(session, renderer);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Sample", nullptr, has_model && !opened_sampling_ ? ImGuiTabItemFlags_SetSelected : 0)) {
      draw_sampling(session, renderer);
      ImGui::EndTabItem();
    }
    if (has_model) opened_sampling_ = true;
    ImGui::EndTabBar();
  }
}

}  // namespace genlab::app
