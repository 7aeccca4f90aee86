// The Diffusion tab: the forward process (slide t and watch a data image drown in noise, by the
// jump formula and by the Markov chain side by side, with the schedule and the formula's numbers),
// and live sampling: change the sampler, steps, CFG scale, eta, class or seed and the picture
// re-forms, every step streamed as it is computed and kept on a timeline to scrub.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "app/gl_image.h"
#include "app/panel.h"
#include "app/metrics_view.h"
#include "app/diffusion/prompt_panel.h"
#include "app/diffusion/edit_panel.h"
#include "app/diffusion/race_panel.h"
#include "app/playback.h"
#include "core/diffusion/diffusion_lab.h"

namespace genlab::app {

class DiffusionPanel : public Panel {
 public:
  void draw(Session& session, ImageRenderer& renderer) override;
  // On the Edit view a picture goes onto its canvas, unless it is a genlab PNG with settings to restore.
  bool take_picture(Session& session, const std::string& path) override;

  // A sample grid PNG written by genlab: restores the parameters (and the model) that made it.
  void restore_from_png(Session& session, const std::string& path);
  // Sets controls from "key=value,..." (sampler, steps, cfg, eta, class, seed, n; detail 0-4, the
  // second row; show, the step on screen; branch K: once the run is done, branch from step K with
  // branch_cfg / branch_seed / branch_sampler / branch_steps; view forward|sample|train|metrics;
  // train N, train the model N steps, 0 until stopped; measure 1, press Measure in Metrics once the
  // model is loaded, with samples / curve_samples). For scripted screenshots; throws
  // std::invalid_argument naming a bad key or value.
  // The Prompt (latent) view: view prompt; prompt TEXT and negative TEXT (an item without '=' after
  // them continues the text, so a prompt may hold commas); step K (its playback position, once the
  // run is done); image I (the image whose attention maps show, from 0); cost 1 (measure pixel vs
  // latent cost); measures 1 (open the caption measures); sampler, steps, cfg, seed and n set its
  // controls too (clamped to its ranges).
  void apply_settings(const std::string& settings);
  // A scripted user: after each run is drawn to its last step, move the CFG scale and re-sample.
  // The latencies from each change to its first and to its last step on screen, in ms.
  void sweep_cfg(bool on) {  // sweeps the Sample view's w, so that view opens
    sweep_cfg_ = on;
    if (on && select_view_.empty()) select_view_ = "sample";
  }
  const std::vector<double>& cfg_first_step_ms() const { return first_step_ms_; }
  const std::vector<double>& cfg_last_step_ms() const { return last_step_ms_; }
  const PromptPanel& prompt_view() const { return prompt_; }

 private:
  void rebuild_schedule_plot();
  void draw_forward(Session& session, ImageRenderer& renderer);
  void draw_sampling(Session& session, ImageRenderer& renderer);
  void draw_training(Session& session, ImageRenderer& renderer);
  void draw_metrics(Session& session);
  void measure(Session& session);  // Metrics: with the Sample view's sampler, steps and w

  int schedule_ = 0;  // BetaSchedule
  int t_ = 0, index_ = 0, seed_ = 1;
  uint64_t requested_for_data_ = 0;  // the data-set snapshot the view was asked for
  NoiseSchedule schedule_values_;
  std::vector<float> steps_, beta_, alpha_bar_, signal_, noise_, log_snr_;
  DisplayImage x0_, noise_image_, jump_, chain_;
  void draw_sampling_controls(Session& session, const DiffusionModelView* model, bool& changed);
  void draw_playback(DiffusionLab& lab, const SamplingView& run, const SamplingView& branch, ImageRenderer& renderer);

  SamplingParams params_;         // the run
  SamplingParams branch_params_;  // the branch, while there is one: the controls steer it
  bool branching_ = false;
  bool use_student_ = true;       // the model's distilled student draws the runs it stands for
  int branch_from_ = 0;
  char path_[512] = "ddpm.safetensors";       // the model to load; follows the loaded model
  char save_path_[512] = "ddpm.safetensors";  // where Train saves: never the shipped file by default
  char export_path_[256] = "genlab-run";
  uint64_t sampled_for_model_ = 0;  // the model snapshot the last request was made for
  NoiseSchedule model_schedule_;
  Playback playback_;              // the step on screen; follows the newest by default
  int pending_branch_ = -1;         // apply_settings: branch from this step once the run is done
  int show_when_done_ = -1;         // apply_settings: the step to show once the paths are done
  int detail_ = 0;
  std::string select_view_;             // apply_settings: a sub-tab to open once
  bool pending_measure_ = false;        // apply_settings: press Measure once the model is loaded
  int64_t pending_train_steps_ = -1;    // apply_settings: train this many steps (0: until stopped)                  // the second row: x0, eps, eps(c), eps(none), eps(c) - eps(none)
  bool opened_sampling_ = false;    // the Sample view opens by itself once, when a model arrives
  bool opened_prompt_ = false;      // likewise the Prompt view, when a text-to-image model arrives first
  PromptPanel prompt_;              // the Prompt (latent) view
  EditPanel edit_;                  // the Edit view
  RacePanel race_;                  // the Race view
  bool edit_open_ = false;          // the Edit view was drawn last frame: dropped pictures go to its canvas
  bool race_open_ = false;          // the Race view was drawn last frame
  DisplayImage run_x_, run_detail_, branch_x_, branch_detail_;
  // Train view: settings of a new model, and the sample grid.
  bool new_conditional_ = true;
  float new_learning_rate_ = 1e-3f, new_label_dropout_ = 0.1f;
  int new_batch_ = 64;
  DisplayImage training_samples_;
  QualityControls quality_controls_;  // Metrics view
  // Latency of runs the UI asked for, timed on the UI thread until their frames are drawn.
  bool sweep_cfg_ = false;
  uint64_t awaited_run_ = 0;
  bool awaited_first_seen_ = false;
  std::chrono::steady_clock::time_point asked_at_;
  std::vector<double> first_step_ms_, last_step_ms_;
};

}  // namespace genlab::app
