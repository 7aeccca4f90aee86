#include "app/diffusion/diffusion_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "app/diffusion/guidance_curve.h"
#include "app/diffusion/sampling_controls.h"
#include "app/image_view.h"
#include "app/metrics_view.h"
#include "app/playback.h"
#include "app/plot.h"
#include "app/save_state.h"
#include "core/diffusion/guidance_schedule.h"
#include "core/io/png_text.h"

namespace genlab::app {

namespace {

// [-1, 1] model space -> [0, 1] for display.
ImageBuffer to_display(const ImageBuffer& image) {
  ImageBuffer out = image;
  for (float& p : out.pixels) p = (p + 1.f) * 0.5f;
  return out;
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
    session.lab<DiffusionLab>().forward_process(index_, t_, BetaSchedule(schedule_), uint64_t(seed_));
    requested_for_data_ = open->stamp;
  }
  ImGui::BeginChild("diffusion-views", ImVec2(0, 0));
  auto view = session.lab<DiffusionLab>().forward_view().get();
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


namespace {

std::string describe(const SamplingParams& p) {
  char text[200];
  snprintf(text, sizeof text, "%s · %d steps · w %.2f%s%s · seed %llu", sampler_short_title(p.sampler), p.steps, p.cfg,
           p.cfg_schedule == "constant" ? "" : (" (" + p.cfg_schedule + ")").c_str(),
           p.sampler == "ddim" ? (" · η " + std::to_string(p.eta).substr(0, 4)).c_str() : "",
           (unsigned long long)p.seed);
  return text;
}

// The 98th percentile of |v|: a colour scale that a few extreme pixels do not wash out.
float robust_range(const ImageBuffer& image) {
  std::vector<float> magnitudes;
  magnitudes.reserve(image.pixels.size());
  for (float v : image.pixels) magnitudes.push_back(std::fabs(v));
  if (magnitudes.empty()) return 1.f;
  auto at = magnitudes.begin() + ptrdiff_t(0.98 * double(magnitudes.size() - 1));
  std::nth_element(magnitudes.begin(), at, magnitudes.end());
  return std::max(1e-3f, *at);
}

}  // namespace

void DiffusionPanel::draw_sampling_controls(Session& session, const DiffusionModelView* model, bool& changed) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  SamplingParams& p = branching_ ? branch_params_ : params_;
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##ddpm-path", path_, sizeof path_);
  if (ImGui::Button("Load")) lab.load(path_);
  if (model) {
    ImGui::SameLine();
    ImGui::TextDisabled("step %lld", (long long)model->step);
  }
  ImGui::Separator();
  if (branching_) ImGui::TextColored(ImVec4(1.f, 0.75f, 0.3f, 1.f), "steering the branch from step %d", branch_from_ + 1);
  changed |= sampler_combo("sampler", p.sampler);
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("steps", &p.steps, 1, model ? model->T : 1000, "%d", ImGuiSliderFlags_Logarithmic);
  float cfg = float(p.cfg), eta = float(p.eta);
  ImGui::SetNextItemWidth(160);
  if (ImGui::SliderFloat("CFG scale w", &cfg, 0.f, 20.f, "%.2f")) p.cfg = cfg, changed = true;
  changed |= guidance_schedule_combo(p.cfg_schedule);
  if (p.sampler == "ddim") {
    ImGui::SetNextItemWidth(160);
    if (ImGui::SliderFloat("η", &eta, 0.f, 1.f, "%.2f")) p.eta = eta, changed = true;
  }
  if (model && model->classes > 0) changed |= class_or_each_combo("class", p.label, model->class_names);
  int seed = int(p.seed);
  ImGui::SetNextItemWidth(160);
  if (ImGui::InputInt("seed", &seed)) p.seed = uint64_t(std::max(0, seed)), changed = true;
  ImGui::BeginDisabled(branching_);  // a branch carries on the run's images
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("images", &p.n, 1, 40);
  if (model && model->student.steps > 0) {  // branches always take the teacher's steps
    changed |= ImGui::Checkbox("distilled student", &use_student_);
    ImGui::SameLine();
    ImGui::TextDisabled("(?)");
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("%s: %d DDIM steps of one network call each, trained to land where the teacher's %s %d-step "
                        "run stands every %d steps (guidance w is its input; it stands in for w in 1..%g). Branches, "
                        "edits and races use the teacher.",
                        model->student_checkpoint.substr(model->student_checkpoint.find_last_of('/') + 1).c_str(),
                        model->student.steps, sampler_short_title(model->student.sampler), model->student.teacher_steps,
                        model->student.teacher_steps / model->student.steps, model->student.w_max);
    if (use_student_) {
      const std::string why_not = student_mismatch(model->student, params_);
      ImGui::PushTextWrapPos(0.f);
      if (why_not.empty())
        ImGui::TextDisabled("%d calls for the teacher's %d", model->student.steps, 2 * model->student.teacher_steps);
      else
        ImGui::TextDisabled("the teacher draws this run: %s", why_not.c_str());
      ImGui::PopTextWrapPos();
    }
  }
  ImGui::EndDisabled();
}

void DiffusionPanel::draw_playback(DiffusionLab& lab, const SamplingView& run, const SamplingView& branch,
                                   ImageRenderer& renderer) {
  const bool has_branch = branching_ && !branch.frames.empty();
  const int length = std::max(int(run.frames.size()), has_branch ? path_length(run, branch) : 0);
  const int total = std::max(run.total, has_branch ? branch.total : 0);
  const int shown = playback_bar(playback_, length, total, has_branch ? branch.done : run.done);
  ImGui::SameLine();
  const SamplingView& timed = has_branch ? branch : run;
  ImGui::TextDisabled("first %.0f ms, last %.0f ms", 1000 * timed.seconds_first, 1000 * timed.seconds_last);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("from the change of a control to the first and to the last step on screen");

  if (length > 0)
    guidance_curve("run-w", timed.params, model_schedule_, path_frame(run, has_branch ? branch : SamplingView{}, shown).t,
                   ImVec2(std::min(ImGui::GetContentRegionAvail().x, 520.f), 64));
  ImGui::TextUnformatted("second row:");
  const char* details[] = {"x̂₀ (predicted)", "ε̃ (guided)", "ε(c)", "ε(∅)", "ε(c) − ε(∅)"};
  for (int d = 0; d < 5; ++d) {
    ImGui::SameLine();
    ImGui::RadioButton(details[d], &detail_, d);
  }

  const SamplingView none;
  auto draw_path = [&](const char* title, const SamplingView& own, DisplayImage& x_image, DisplayImage& detail_image,
                       uint64_t stamp) {
    const SamplingStepFrame& f = path_frame(run, own.frames.empty() ? none : own, shown);
    const bool own_step = !own.frames.empty() && shown > own.branch_from;
    const SamplingView& drawn = own.frames.empty() ? run : own;
    ImGui::Text("%s — %s%s", title, drawn.by_student ? "distilled student for " : "", describe(drawn.params).c_str());
    const uint64_t key = (stamp * 4096 + uint64_t(shown)) * 8 + uint64_t(detail_);
    x_image.update(renderer, key, f.x.image);
    const ImageGrid* detail = detail_ == 0   ? &f.x0
                              : detail_ == 1 ? &f.eps
                              : detail_ == 2 ? &f.eps_cond
                              : detail_ == 3 ? &f.eps_uncond
                                             : &f.guidance;
    // Noise predictions are N(0, I): a fixed ±3 keeps steps comparable; the guidance difference is
    // smaller and changes with t, so it gets its own scale.
    const float range = detail_ == 4 ? robust_range(detail->image) : 3.f;
    if (!detail->image.pixels.empty())
      detail_image.update(renderer, key, detail->image, detail_ == 0 ? ImageStyle::Natural : ImageStyle::Signed, range);
    float zoom = std::clamp(std::floor(2.f * ImGui::GetContentRegionAvail().x / float(std::max(1, x_image.width()))) / 2.f,
                            1.f, has_branch ? 3.f : 5.f);
    ImGui::TextDisabled("x_%d after step %d%s", f.t_next, shown + 1,
                        !own.frames.empty() && !own_step ? " (shared with the run)" : "");
    image_view(x_image, zoom, zoom, zoom);
    if (detail->image.pixels.empty()) {
      const bool by_student = own_step ? own.by_student : run.by_student;
      ImGui::TextDisabled(detail_ < 2 || f.eps.image.pixels.empty() ? "not kept: this run is long"
                          : by_student ? "ε(c) and ε(∅): the distilled student folds guidance into one call"
                                       : "ε(c) and ε(∅): the model is unconditional");
      return;
    }
    if (detail_ == 0) ImGui::TextDisabled("x̂₀ predicted at t = %d", f.t);
    else ImGui::TextDisabled("%s at t = %d · colour −%.2f … +%.2f (blue < 0 < red)", details[detail_], f.t, range, range);
    image_view(detail_image, zoom, zoom, zoom);
  };
  auto run_snapshot = lab.sampling().get();
  auto branch_snapshot = lab.branch_view().get();
  draw_path("run", SamplingView{}, run_x_, run_detail_, run_snapshot ? run_snapshot->stamp : 0);
  if (has_branch) {
    char title[64];
    snprintf(title, sizeof title, "branch from step %d", branch.branch_from + 1);
    ImGui::Separator();
    draw_path(title, branch, branch_x_, branch_detail_, branch_snapshot ? branch_snapshot->stamp : 0);
  }
}

void DiffusionPanel::draw_sampling(Session& session, ImageRenderer& renderer) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  auto model = lab.model().get();
  bool changed = false;
  if (model && model->stamp != sampled_for_model_) {
    changed = true;
    branching_ = false;
    model_schedule_ = NoiseSchedule::make(model->value.schedule, model->value.T);
    if (!model->value.checkpoint.empty()) snprintf(path_, sizeof path_, "%s", model->value.checkpoint.c_str());
  }
  auto run = lab.sampling().get();
  auto branch = lab.branch_view().get();
  if (pending_branch_ >= 0 && run && run->value.done && !changed) {
    branching_ = true;
    branch_from_ = std::min(pending_branch_, run->value.total - 2);
    pending_branch_ = -1;
    lab.branch(branch_params_, branch_from_);
  }
  // A branch belongs to the run it grew from; anything else is stale.
  const SamplingView none;
  const SamplingView& run_view = run ? run->value : none;
  const SamplingView& branch_view =
      branching_ && branch && run && branch->value.run == run->value.run && branch->value.branch_from == branch_from_
          ? branch->value
          : none;

  if (show_when_done_ >= 0 && pending_branch_ < 0 && run_view.done && (!branching_ || branch_view.done)) {
    playback_.frame = show_when_done_;
    show_when_done_ = -1;
  }
  // This frame draws the awaited run's newest step: time it from the change.
  if (awaited_run_ != 0 && run_view.run == awaited_run_ && !run_view.frames.empty()) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked_at_).count();
    if (!awaited_first_seen_) first_step_ms_.push_back(ms), awaited_first_seen_ = true;
    if (run_view.done) {
      last_step_ms_.push_back(ms);
      awaited_run_ = 0;
      if (sweep_cfg_) params_.cfg = params_.cfg >= 7.0 ? 0.0 : params_.cfg + 0.5, changed = true;
    }
  }
  ImGui::BeginChild("sampling-controls", ImVec2(330, 0), true);
  draw_sampling_controls(session, model ? &model->value : nullptr, changed);
  ImGui::Separator();
  // The formulas at the step on screen, with its numbers.
  const int length = std::max(int(run_view.frames.size()), branch_view.frames.empty() ? 0 : path_length(run_view, branch_view));
  const int shown = playback_.shown(length);
  ImGui::PushTextWrapPos(0.f);
  ImGui::Text("ε̃ = ε(x_t, ∅) + w·(ε(x_t, c) − ε(x_t, ∅))");
  if (length > 0 && model_schedule_.T > 0) {
    const SamplingStepFrame& f = path_frame(run_view, branch_view, shown);
    // The frame's own run (the branch's after it grew) and its schedule give the w of that step.
    const SamplingParams& made_by = !branch_view.frames.empty() && shown > branch_view.branch_from ? branch_view.params
                                                                                                 : run_view.params;
    double w = made_by.cfg;
    try {
      w = run_guidance(made_by.cfg_schedule, made_by.cfg, made_by.steps, model_schedule_).at(f.t);
    } catch (const std::invalid_argument&) {  // the run was refused: its error is on the status line
    }
    if (f.guidance.image.pixels.empty())  // the distilled student's ε̃ comes from one call with w as input
      ImGui::Text("   w = %.2f at t = %d", w, f.t);
    else
      ImGui::Text("   w = %.2f at t = %d: |ε(c) − ε(∅)| ≈ %.3f", w, f.t, [&] {
        double sum = 0;
        for (float v : f.guidance.image.pixels) sum += std::fabs(v);
        return sum / double(f.guidance.image.pixels.size());
      }());
    ImGui::Text("x̂₀ = (x_t − √(1−ᾱ_t)·ε̃) / √ᾱ_t");
    ImGui::Text("   = (x_t − %.3f·ε̃) / %.3f", model_schedule_.noise(f.t), model_schedule_.signal(f.t));
  }
  ImGui::TextDisabled("w = 0: unconditional; w = 1: conditional; w > 1: guided further toward the class, at some cost "
                      "in variety. Each guided step is one batch of 2 network evaluations%s",
                      run_view.by_student ? "; the distilled student takes w as an input and makes one." : ".");
  ImGui::PopTextWrapPos();
  ImGui::Separator();
  if (!branching_) {
    ImGui::BeginDisabled(length == 0 || shown >= run_view.total - 1);
    char label[64];
    snprintf(label, sizeof label, "Branch from step %d", std::max(1, shown + 1));
    if (ImGui::Button(label)) {
      branching_ = true;
      branch_from_ = shown;
      branch_params_ = params_;  // the same parameters retrace the run until one is changed
      lab.branch(branch_params_, branch_from_);
    }
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextDisabled("(?)");
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Continue this run from the step on screen with other settings; the run stays beside it.");
  } else if (ImGui::Button("Drop the branch")) {
    branching_ = false;
  }
  ImGui::Separator();
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##export", export_path_, sizeof export_path_);
  ImGui::BeginDisabled(run_view.frames.empty());
  const std::string base = export_path_;
  if (ImGui::Button("PNG grid")) lab.export_grid(run_view, base + ".png");
  ImGui::SameLine();
  if (ImGui::Button("PNG strip")) lab.export_strip(run_view, branch_view, base + "-strip.png");
  ImGui::SameLine();
  if (ImGui::Button("GIF")) lab.export_gif(run_view, branch_view, base + ".gif");
  ImGui::EndDisabled();
  ImGui::PushTextWrapPos(0.f);
  ImGui::TextDisabled("The PNGs carry their settings: drop one on the window to restore them.");
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  ImGui::SameLine();

  if (changed && model) {
    if (branching_) {
      lab.branch(branch_params_, branch_from_);
    } else {
      awaited_run_ = lab.sample(params_, use_student_);
      awaited_first_seen_ = false;
      asked_at_ = std::chrono::steady_clock::now();
    }
    sampled_for_model_ = model->stamp;
    playback_.frame = -1;  // follow the newest step as the picture re-forms
  }

  ImGui::BeginChild("sampling-views", ImVec2(0, 0));
  if (!model) {
    ImGui::TextWrapped("No diffusion model loaded. Train one with `genlab-cli train --model ddpm --cond --epochs 9 "
                       "--out ddpm.safetensors`, then Load it here (or start genlab with --load ddpm.safetensors).");
  } else if (run_view.frames.empty()) {
    ImGui::TextDisabled("sampling…");
  } else {
    draw_playback(lab, run_view, branch_view, renderer);
  }
  ImGui::EndChild();
}

void DiffusionPanel::draw_training(Session& session, ImageRenderer& renderer) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  auto snapshot = lab.training().get();
  const DiffusionTrainingView none;
  const DiffusionTrainingView& v = snapshot ? snapshot->value : none;
  const WorkerStatus status = session.worker().status()->value;
  const bool training = status.job == "train diffusion";

  ImGui::BeginChild("training-controls", ImVec2(330, 0), true);
  if (v.exists) {
    const std::string& file = v.saved.checkpoint;
    const std::string name = file.substr(file.find_last_of('/') + 1);
    ImGui::Text("%s", file.empty() ? "new model (not saved yet)" : name.c_str());
    if (ImGui::IsItemHovered() && !file.empty()) ImGui::SetTooltip("%s", file.c_str());
    ImGui::TextDisabled("step %lld · epoch %.2f · %.0f images/s", (long long)v.step, v.epoch, v.images_per_s);
  } else {
    ImGui::TextDisabled("no model yet");
  }
  ImGui::Separator();
  ImGui::BeginDisabled(training);
  ImGui::Checkbox("class-conditional (CFG)", &new_conditional_);
  ImGui::SetNextItemWidth(150);
  ImGui::SliderFloat("learning rate", &new_learning_rate_, 1e-5f, 1e-2f, "%.5f", ImGuiSliderFlags_Logarithmic);
  ImGui::SetNextItemWidth(150);
  ImGui::SliderInt("batch", &new_batch_, 8, 256, "%d", ImGuiSliderFlags_Logarithmic);
  ImGui::BeginDisabled(!new_conditional_);
  ImGui::SetNextItemWidth(150);
  ImGui::SliderFloat("label dropout", &new_label_dropout_, 0.f, 0.5f, "%.2f");
  ImGui::EndDisabled();
  if (ImGui::Button("New model")) lab.new_model(new_conditional_, new_learning_rate_, new_batch_, new_label_dropout_);
  ImGui::EndDisabled();
  ImGui::Separator();
  ImGui::BeginDisabled(!v.exists || !v.trainable);
  if (!training) {
    if (ImGui::Button("Train")) lab.train(0);
  } else if (ImGui::Button(status.state == WorkerState::Paused ? "Resume" : "Pause")) {
    session.worker().set_paused(status.state != WorkerState::Paused);
  }
  ImGui::SameLine();
  ImGui::BeginDisabled(!training);
  if (ImGui::Button("Stop")) session.worker().cancel();
  ImGui::EndDisabled();
  ImGui::EndDisabled();
  if (v.exists && !v.trainable)
    ImGui::TextWrapped("Loaded without training images of its shape: open its data set and load it again to train.");
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##ddpm-save-path", save_path_, sizeof save_path_);
  ImGui::BeginDisabled(!v.exists);
  if (ImGui::Button("Save")) lab.save(save_path_);
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::TextDisabled("resume: Load it, then Train");
  draw_save_state(v.saved, v.step);
  ImGui::Separator();
  ImGui::PushTextWrapPos(0.f);
  ImGui::Text("L = ‖ε − ε_θ(√ᾱ_t·x₀ + √(1−ᾱ_t)·ε, t, c)‖²");
  ImGui::TextDisabled("t uniform in 1…T, ε ~ N(0, I); the label c is replaced by ∅ with probability %.2f, so one "
                      "network learns ε(x_t, c) and ε(x_t, ∅) for guidance. Samples use an EMA of the weights.",
                      new_label_dropout_);
  if (!v.history.empty()) ImGui::Text("now: L ≈ %.4f (running mean) at step %lld", v.history.back().smoothed,
                                       (long long)v.history.back().step);
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  ImGui::SameLine();

  ImGui::BeginChild("training-views", ImVec2(0, 0));
  if (!v.exists) {
    ImGui::TextWrapped("Make a new model here (sized to the open data set), or load one in Sample, then Train. "
                       "The loss, the loss per noise level and a sample grid follow the run.");
    ImGui::EndChild();
    return;
  }
  PlotSeries raw{"batch loss", IM_COL32(120, 160, 220, 90), {}, {}};
  PlotSeries smooth{"running mean", IM_COL32(90, 170, 255, 255), {}, {}};
  for (const DiffusionTrainingPoint& p : v.history) {
    raw.x.push_back(float(p.step)), raw.y.push_back(p.loss);
    smooth.x.push_back(float(p.step)), smooth.y.push_back(p.smoothed);
  }
  const float w = ImGui::GetContentRegionAvail().x;
  ImGui::Text("ε-prediction MSE");
  line_plot("ddpm-loss", {raw, smooth}, ImVec2(w, 170));
  if (!v.bucket_losses.empty()) {
    ImGui::Text("loss per noise level t (recent batches)");
    std::vector<std::string> labels;
    std::vector<float> values;
    const int width = 1000 / int(v.bucket_losses.size());
    for (size_t b = 0; b < v.bucket_losses.size(); ++b) {
      labels.push_back(std::to_string(int(b) * width + 1) + "–" + std::to_string(int(b + 1) * width));
      values.push_back(std::isfinite(v.bucket_losses[b]) ? v.bucket_losses[b] : 0.f);
    }
    bar_plot("ddpm-buckets", values, labels, ImVec2(w, 110), IM_COL32(255, 150, 60, 255));
    ImGui::TextDisabled("Small t is hardest: little noise to find in a nearly clean image.");
  }
  if (v.samples_step >= 0) {
    training_samples_.update(renderer, snapshot->stamp, v.samples.image);
    ImGui::Text("samples at step %lld (DDIM 20 steps, w = 3, the same noise each time)", (long long)v.samples_step);
    float zoom = std::clamp(std::floor(w / float(std::max(1, training_samples_.width()))), 1.f, 3.f);
    image_view(training_samples_, zoom, zoom, zoom);
  }
  ImGui::EndChild();
}

namespace {

// The scales of the CFG trade-off curve a conditional model is measured at.
const std::vector<double> kCurveScales = {0, 1, 1.5, 2, 3, 5};

}  // namespace

void DiffusionPanel::measure(Session& session) {
  auto model = session.lab<DiffusionLab>().model().get();
  const bool conditional = model && model->value.classes > 0;
  session.lab<DiffusionLab>().measure_quality(quality_controls_.options(conditional ? kCurveScales : std::vector<double>{}),
                                      params_);
}

void DiffusionPanel::draw_metrics(Session& session) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  auto model = lab.model().get();
  const bool conditional = model && model->value.classes > 0;
  ImGui::BeginChild("metrics-controls", ImVec2(330, 0), true);
  ImGui::Text("Sample quality");
  if (model) ImGui::TextDisabled("model at step %lld%s", (long long)model->value.step, conditional ? ", class-conditional" : "");
  ImGui::Separator();
  // The Sample view's sampler: changed here, Sample draws a new run with it when it opens next.
  bool changed = false;
  changed |= sampler_combo("sampler##metrics", params_.sampler);
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("steps##metrics", &params_.steps, 1, model ? model->value.T : 1000, "%d",
                              ImGuiSliderFlags_Logarithmic);
  if (conditional) {
    float cfg = float(params_.cfg);
    ImGui::SetNextItemWidth(160);
    if (ImGui::SliderFloat("CFG scale w##metrics", &cfg, 0.f, 20.f, "%.2f")) params_.cfg = cfg, changed = true;
  }
  if (changed) sampled_for_model_ = 0, branching_ = false;
  ImGui::Spacing();
  if (draw_quality_controls(quality_controls_, session.worker(), conditional, model ? nullptr : "load or train a model first"))
    measure(session);
  ImGui::PushTextWrapPos(0.f);
  if (conditional)
    ImGui::TextDisabled("Conditional samples ask for the classes in turn. Then the trade-off curve: the same sampler at "
                        "w = 0, 1, 1.5, 2, 3 and 5.");
  ImGui::TextDisabled("Each sample is a full run of the sampler (twice the network evaluations when guided): "
                      "fewer steps measure faster.");
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  ImGui::SameLine();

  ImGui::BeginChild("metrics-views", ImVec2(0, 0));
  auto open = session.dataset().get();
  const std::vector<std::string> no_names;
  const std::vector<std::string>& names =
      model && !model->value.class_names.empty() ? model->value.class_names : open ? open->value.data->class_names : no_names;
  auto view = lab.quality().get();
  draw_quality(view ? &view->value : nullptr, names);
  ImGui::EndChild();
}

bool DiffusionPanel::take_picture(Session& session, const std::string& path) {
  bool carries_settings = false;
  try {
    carries_settings = read_png_text(path).count("genlab") > 0;
  } catch (const std::exception&) {  // not a PNG, or one without text: a picture
  }
  if (edit_open_ && !carries_settings) return edit_.take_picture(session, path);
  restore_from_png(session, path);
  return true;
}

void DiffusionPanel::restore_from_png(Session& session, const std::string& path) {
  try {
    auto texts = read_png_text(path);
    const SamplingRecord record = parse_sampling_record(texts.count("genlab") ? texts["genlab"] : std::string(), path);
    if (record.edited) {  // an edit's settings go to the Edit view
      edit_.restore(record);
      select_view_ = "edit";
    } else {
      params_ = record.params;
    }
    branching_ = false;
    const std::string& checkpoint = record.checkpoint;
    auto model = session.lab<DiffusionLab>().model().get();
    if (!checkpoint.empty() && (!model || model->value.checkpoint != checkpoint)) {
      snprintf(path_, sizeof path_, "%s", checkpoint.c_str());
      session.lab<DiffusionLab>().load(checkpoint);  // the new model snapshot triggers the re-sample
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

void DiffusionPanel::apply_settings(const std::string& settings) {
  std::stringstream items(settings);
  std::string item;
  std::vector<std::pair<std::string, std::string>> branch_items;  // applied over the run's settings
  auto set = [this](SamplingParams& p, const std::string& name, const std::string& value, bool run) {
    if (name == "sampler" && known_sampler(value)) p.sampler = value;
    else if (name == "schedule") parse_guidance_schedule(value), p.cfg_schedule = value;
    else if (name == "steps") p.steps = std::stoi(value);
    else if (name == "cfg") p.cfg = std::stod(value);
    else if (name == "eta") p.eta = std::stod(value);
    else if (name == "class") p.label = std::stoi(value);
    else if (name == "seed") p.seed = std::stoull(value);
    else if (name == "n" && run) p.n = std::stoi(value);
    else if (name == "detail" && run) detail_ = std::clamp(std::stoi(value), 0, 4);
    else if (name == "student" && run) use_student_ = std::stoi(value) != 0;
    else if (name == "show" && run) show_when_done_ = std::max(0, std::stoi(value) - 1);
    else if (name == "branch" && run) pending_branch_ = std::max(0, std::stoi(value) - 1);
    else if (name == "view" && run &&
             (value == "forward" || value == "sample" || value == "train" || value == "metrics" || value == "prompt" ||
              value == "edit" || value == "race"))
      select_view_ = value;
    else if (name == "train" && run) pending_train_steps_ = std::max(0, std::stoi(value));
    else if (name == "measure" && run) pending_measure_ = std::stoi(value) != 0;
    else if (name == "samples" && run) quality_controls_.samples = std::max(10, std::stoi(value));
    else if (name == "curve_samples" && run) quality_controls_.curve_samples = std::max(10, std::stoi(value));
    else throw std::invalid_argument(name);
  };
  auto fail = [](const std::string& what) {
    return std::invalid_argument("diffusion setting '" + what + "' is not understood");
  };
  bool after_text = false;  // the item before was prompt= or negative=: one without '=' continues it
  // A setting only one view takes opens that view when none is named (the app starts on the Prompt
  // view when a text-to-image model is open; a scripted branch means the Sample view).
  std::string implied_view;
  while (std::getline(items, item, ',')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (eq == std::string::npos && after_text) {
      prompt_.continue_text(item);
      continue;
    }
    after_text = false;
    if (key.rfind("edit_", 0) == 0 || key.rfind("race_", 0) == 0) {
      const bool edit = key[0] == 'e';
      try {
        if (!(edit ? edit_.set(key.substr(5), value) : race_.set(key.substr(5), value))) throw fail(item);
      } catch (const std::exception&) {
        throw fail(item);
      }
      implied_view = edit ? "edit" : "race";
      continue;
    }
    if (key.rfind("branch_", 0) == 0) {
      branch_items.emplace_back(key.substr(7), value);
      implied_view = "sample";
      continue;
    }
    try {
      // The Prompt view's own keys, then the ones it shares with the Sample view.
      if (key == "prompt" || key == "negative" || key == "step" || key == "image" || key == "cost" || key == "measures") {
        prompt_.set(key, value);
        after_text = key == "prompt" || key == "negative";
        implied_view = "prompt";
        continue;
      }
      set(params_, key, value, true);
      if (key == "class" || key == "eta" || key == "detail" || key == "show" || key == "branch" || key == "schedule")
        implied_view = "sample";
      if (key == "sampler" || key == "steps" || key == "cfg" || key == "seed" || key == "n") prompt_.set(key, value);
    } catch (const std::exception&) {
      throw fail(item);
    }
  }
  if (select_view_.empty()) select_view_ = implied_view;
  branch_params_ = params_;
  for (const auto& [name, value] : branch_items) try {
      set(branch_params_, name, value, false);
    } catch (const std::exception&) {
      throw fail("branch_" + name + "=" + value);
    }
}

void DiffusionPanel::draw(Session& session, ImageRenderer& renderer) {
  if (ImGui::BeginTabBar("diffusion-views-tabs")) {
    const bool has_model = session.lab<DiffusionLab>().model().get() != nullptr;
    auto selected = [this](const char* view) {
      return select_view_ == view ? ImGuiTabItemFlags_SetSelected : ImGuiTabItemFlags_None;
    };
    if (pending_train_steps_ >= 0 && session.lab<DiffusionLab>().model().get()) {
      session.lab<DiffusionLab>().train(pending_train_steps_);
      pending_train_steps_ = -1;
    }
    if (pending_measure_ && has_model) {
      measure(session);
      pending_measure_ = false;
    }
    if (ImGui::BeginTabItem("Forward process", nullptr, selected("forward"))) {
      draw_forward(session, renderer);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Sample", nullptr,
                            (has_model && !opened_sampling_ && select_view_.empty()) ? ImGuiTabItemFlags_SetSelected
                                                                                     : selected("sample"))) {
      draw_sampling(session, renderer);
      ImGui::EndTabItem();
    }
    edit_open_ = false;
    if (ImGui::BeginTabItem("Edit", nullptr, selected("edit"))) {
      edit_.draw(session, renderer);
      edit_open_ = true;
      ImGui::EndTabItem();
    }
    const bool race_was_open = race_open_;
    race_open_ = false;
    if (ImGui::BeginTabItem("Race", nullptr, selected("race"))) {
      race_.draw(session, renderer);
      race_open_ = true;
      ImGui::EndTabItem();
    }
    if (race_was_open && !race_open_) race_.leave(session);  // the worker is free for the view you went to
    if (ImGui::BeginTabItem("Train", nullptr, selected("train"))) {
      draw_training(session, renderer);
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Metrics", nullptr, selected("metrics"))) {
      draw_metrics(session);
      ImGui::EndTabItem();
    }
    // A text-to-image model opens its view when it first arrives (the app starts there), and the
    // Sample view then stays where it is when the pixel model comes after it.
    auto ldm = session.lab<LdmLab>().model().get();
    const bool has_ldm = ldm && ldm->value.exists;
    if (!select_view_.empty()) opened_prompt_ = true;  // a scripted view stays, whichever model comes last
    const bool open_prompt = has_ldm && !opened_prompt_;
    if (open_prompt) opened_sampling_ = true;
    if (ImGui::BeginTabItem("Prompt (latent)", nullptr, open_prompt ? ImGuiTabItemFlags_SetSelected : selected("prompt"))) {
      prompt_.draw(session, renderer);
      ImGui::EndTabItem();
    }
    if (has_ldm) opened_prompt_ = true;
    if (has_model || has_ldm) opened_sampling_ |= has_model, select_view_.clear();
    ImGui::EndTabBar();
  }
}

}  // namespace genlab::app
