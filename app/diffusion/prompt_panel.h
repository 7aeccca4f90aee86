// The Diffusion tab's Prompt (latent) view: a latent text-to-image model sampled live from a prompt
// and a negative prompt (every edit a newest-wins request), the tokens the encoder read, each step
// of the run on a scrubber — decode(z_t), decode(ẑ₀) and the latent z — and for a picked image the
// cross-attention map of every prompt token over it ("which word paints where"). Beside it the
// vocabulary, the caption measures, the guidance formula with its numbers, and pixel against latent
// diffusion cost. Reads the LdmLab's snapshots; every action is a request to the worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/gl_image.h"
#include "app/playback.h"
#include "core/diffusion/ldm_lab.h"

namespace genlab::app {

class PromptPanel {
 public:
  // Draws into the current window (the Diffusion tab's "Prompt (latent)" sub-tab).
  void draw(Session& session, ImageRenderer& renderer);

  // One scripted setting (DiffusionPanel::apply_settings): prompt, negative (text), cfg, steps,
  // sampler, seed, n; step K (the playback position, 1-based, set once the run is done); image I (the
  // picked image, 0-based); cost 1 (press Measure once the model is loaded, the section open);
  // measures 1 (the caption measures open). False for a key it does not take; throws
  // std::invalid_argument for a bad value.
  bool set(const std::string& key, const std::string& value);
  // Appends ",text" to the prompt or negative set last (a scripted prompt that holds commas).
  bool continue_text(const std::string& text);

  const PromptParams& params() const { return params_; }
  // From an edit to its run's first and last step on screen, per run that got there (--frame-stats).
  const std::vector<double>& first_step_ms() const { return first_step_ms_; }
  const std::vector<double>& last_step_ms() const { return last_step_ms_; }

 private:
  void draw_controls(Session& session, const PromptModelView* model, const PromptRunView* run);
  void draw_load(Session& session, const PromptModelView* model);
  void draw_prompt_boxes(Session& session, const PromptRunView* run);
  void draw_sampling_controls();
  void draw_vocabulary(const PromptModelView& model);
  void draw_formulas(const PromptModelView& model, const PromptRunView* run, int shown);
  void draw_run(ImageRenderer& renderer, const PromptModelView& model, const PromptRunView& run);
  void draw_attention(ImageRenderer& renderer, const PromptRunView& run, const PromptStepFrame& frame, uint64_t key);
  void draw_cost(Session& session);
  void draw_measures(const PromptModelView& model);
  void request(Session& session);

  PromptParams params_;
  char prompt_[256] = "a dark wide pullover";
  char negative_[256] = "";
  char path_[512] = "ldm.safetensors";
  bool changed_ = false;             // a control changed this frame: request a new run
  uint64_t sampled_for_model_ = 0;   // the model snapshot the last request was made for
  uint64_t errors_before_ = 0;       // the worker's error stamp as the newest request went out
  bool cost_requested_ = false;      // Measure was pressed
  uint64_t load_errors_before_ = ~uint64_t(0);  // the worker's error stamp as Load was pressed (none yet)
  bool refused_ = false;             // the newest request ended in an error, no run of it on screen
  bool pending_cost_ = false, open_cost_ = false, scroll_to_cost_ = false;  // apply_settings: cost
  bool open_measures_ = false, scroll_to_measures_ = false;                // apply_settings: measures
  std::string last_text_key_;        // apply_settings: "prompt" or "negative", for text with commas

  Playback playback_;
  int show_when_done_ = -1;          // apply_settings: the step to show once the run is done
  int selected_ = 0;                 // the image whose attention maps are shown
  bool attention_on_x0_ = true;      // overlay on decode(ẑ₀) (else decode(z_t))
  std::shared_ptr<const PromptStepFrame> frame_on_screen_;  // held, so a new frame never reuses its address
  uint64_t frame_serial_ = 0;        // counts the frames shown: the textures' upload stamp
  DisplayImage decoded_, decoded_x0_, latent_;
  std::vector<DisplayImage> maps_;   // one per token of the selected image
  std::vector<float> map_share_;     // per token: its mean attention over the positions
  uint64_t maps_key_ = 0;            // what maps_ show (frame, image, base)
  ImageBuffer latent_tiles_;
  uint64_t latent_key_ = 0;
  float latent_std_ = 0, latent_beyond_ = 0;  // of the latent on screen (clamped to ±3 by the frame)
  PromptParams awaited_;             // the newest request, until its last step is on screen
  bool awaiting_ = false, awaited_first_seen_ = false;
  std::chrono::steady_clock::time_point asked_at_;
  std::vector<double> first_step_ms_, last_step_ms_;
};

}  // namespace genlab::app
