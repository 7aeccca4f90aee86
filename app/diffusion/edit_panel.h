// The Diffusion tab's Edit view: a trained model edits an image it was never trained to edit, with
// no retraining (core/diffusion/image_editing.h). A canvas to draw on or to load a test image into,
// and four modes: a sketch turned into an image (SDEdit), a painted hole filled in (RePaint), a
// damaged test image restored (noise removed or an erased box filled) and super-resolution, scored
// against the original when there is one. Every change of the canvas or a setting is a new
// newest-wins request; the run is kept on a scrubber like the Sample view's.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "app/canvas.h"
#include "app/gl_image.h"
#include "app/playback.h"
#include "core/diffusion/diffusion_lab.h"

namespace genlab::app {

class EditPanel {
 public:
  // Draws into the current window (the Diffusion tab's "Edit" sub-tab).
  void draw(Session& session, ImageRenderer& renderer);
  // A picture dropped on the window: onto the canvas, resized to the model's images.
  bool take_picture(Session& session, const std::string& path);

  // One scripted setting: mode (sdedit|inpaint|restore|superres), strength, resample, factor, sigma,
  // class, cfg, steps, sampler, seed, n, schedule; step K (the scrubber, 1-based, once the run is
  // done). Actions, done in order once a model is open: test I (test image I onto the canvas),
  // sketch NAME (shoe, shirt, bag), hole X0:Y0:X1:Y1 (that box of image pixels onto the mask),
  // noise SIGMA (add noise now), erase 1 or X0:Y0:X1:Y1 (blank a random or that box now). False for
  // a key it does not take; throws std::invalid_argument for a bad value.
  bool set(const std::string& key, const std::string& value);
  // The settings an edit's PNG carries (genlab-cli edit, an export): mode, strength, r, factor, sigma
  // and the sampling ones. The picture itself is not in it: the canvas keeps what it has.
  void restore(const SamplingRecord& record);

 private:
  enum class Mode { SDEdit, Inpaint, Restore, SuperRes };
  // What Restore last did to the canvas image: the edit that undoes it.
  enum class Damage { None, Noise, Box };
  struct Box {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // image pixels, x1 and y1 excluded
  };

  void draw_canvas(Session& session, ImageRenderer& renderer);
  void draw_mode_settings(const DiffusionModelView& model);
  void draw_sampling_controls(const DiffusionModelView& model);
  void draw_run(DiffusionLab& lab, ImageRenderer& renderer, const EditView& view, uint64_t stamp);
  void draw_scores(const EditView& view);
  void update_shape(Session& session);
  void apply_pending(Session& session);
  void send(Session& session);

  void load_test_image(Session& session, int64_t index);
  void draw_sketch(const std::string& name);
  void add_noise();
  void erase_box(Box box);
  void paint_mask_box(Box box);
  Box random_box();
  void set_truth(ImageBuffer truth, int label);
  void set_mode(Mode mode);
  // Repairs and super-resolution aim at the original, so they are guided towards its class. SDEdit
  // keeps the class choice (a picture turned into each class in turn is its point).
  void aim_at_truth();
  bool has_truth() const { return !truth_.empty() && canvas_.origin() == truth_origin_; }
  // Restore's damage holds while the canvas descends from the damaged image (strokes over it too).
  bool damaged() const { return damage_ != Damage::None && canvas_.origin() == damage_origin_; }
  // The edit the canvas asks for now: Restore's follows its damage.
  EditSettings settings_to_send() const;

  Canvas canvas_;
  int channels_ = 1, size_ = 28;  // the model's images (see update_shape)
  NoiseSchedule noise_;           // the model's, for SDEdit's numbers
  Mode mode_ = Mode::SDEdit;
  EditSettings settings_;
  SamplingParams params_;
  int images_[4] = {10, 4, 4, 4};  // n per mode: a sketch becomes each of the 10 classes
  int test_index_ = 0;
  std::mt19937 rng_{1};             // Random test image, a random box: the same sequence each start
  ImageBuffer truth_;               // the original the canvas image was made from (empty: none)
  uint64_t truth_origin_ = 0;       // the canvas origin it belongs to
  int truth_label_ = -1;            // its class (-1: none known)
  Damage damage_ = Damage::None;
  uint64_t damage_origin_ = 0;      // the canvas origin the damage was done at
  double noise_sigma_ = 0;          // the noise level Add noise put in the image ([-1, 1] units)
  // What is on the canvas (a sketch, a test image), a resized or unreadable picture: shown while the
  // canvas descends from the image it was said of (a clear or another picture ends it).
  void set_note(std::string text) { canvas_note_ = std::move(text), note_origin_ = canvas_.origin(); }
  std::string canvas_note_;
  uint64_t note_origin_ = 0;
  // Scripted actions waiting for a model, and the settings after them (applied again in their order).
  std::vector<std::pair<std::string, std::string>> pending_;

  bool changed_ = true;             // a setting changed: send a new request
  uint64_t sent_stamp_ = 0;         // the canvas stamp the last request carried
  uint64_t sent_for_model_ = 0;     // the model snapshot it was sent to
  uint64_t request_ = 0;            // the newest request's id (EditView::run.run once it runs)
  uint64_t errors_before_ = 0;      // the worker's error stamp as it went out
  std::string not_sent_;            // why the canvas as it is makes no request (an empty mask)

  char export_path_[256] = "genlab-edit.png";
  Playback playback_;
  int show_when_done_ = -1;         // set("step"): the step to show once the run is done
  DisplayImage input_, low_res_, bicubic_, truth_image_, result_, x_, x0_;
};

}  // namespace genlab::app
