// The Translate tab: image-to-image translation. Pix2Pix learns a paired task (edges, low-res,
// a hole, noise -> the image), CycleGAN maps between two classes without pairs, StarGAN among
// several with one generator. Create and train a model with its loss weights changed live, draw on
// a canvas whose translation follows each stroke (D's patch verdicts over it), and see the fixed
// test rows, the loss curves and the test-set figures beside the task's baselines.
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "app/canvas.h"
#include "app/gl_image.h"
#include "app/panel.h"
#include "core/translate/translate_lab.h"

namespace genlab::app {

class TranslatePanel : public Panel {
 public:
  void draw(Session& session, ImageRenderer& renderer) override;
  // A dropped picture goes onto the canvas, resized to the model's images.
  bool take_picture(Session& session, const std::string& path) override;
  // Draws a stroke on the canvas every frame (a scripted user), to measure stroke-to-output latency.
  void sweep_canvas(bool on) { sweep_ = on; }
  // From each canvas edit to the frame that first draws its translation, ms.
  const std::vector<double>& canvas_latencies_ms() const { return latencies_ms_; }

 private:
  void sync_to_model(Session& session, const TranslateLabView& view);
  void draw_controls(Session& session, const TranslateLabView& view);
  void draw_new_model(Session& session, const TranslateLabView& view, bool training);
  void draw_weights(Session& session, const TranslateLabView& view);
  void draw_curves(const TranslateLabView& view);
  void draw_canvas(Session& session, ImageRenderer& renderer, const TranslateLabView& view);
  void draw_tables(ImageRenderer& renderer, const TranslateLabView& view, uint64_t stamp);
  void draw_metrics(Session& session, const TranslateLabView& view, bool training);
  void set_canvas(ImageBuffer image, ImageBuffer truth);

  // New model.
  int kind_ = int(TranslateKind::Pix2Pix);
  int task_ = int(PairedTask::Edges);
  int factor_ = 4;
  bool skips_ = true;
  int width_ = 32;
  std::string new_model_error_;
  int domain_a_ = 0, domain_b_ = 1;        // CycleGAN: class indices
  std::vector<bool> star_domains_;         // StarGAN: one per class
  std::vector<std::string> picker_names_;  // the class names the domain pickers were set up for
  // The loss weight sliders: a live model takes them as they move, a new one starts with them.
  TranslateConfig weights_;
  std::string weights_error_;
  char path_[512] = "translate.safetensors";
  uint64_t synced_model_ = 0;  // the model whose settings the controls show
  float smoothing_ = 0.8f;

  Canvas canvas_;               // the input x, edited here on the UI thread
  ImageBuffer truth_;           // the test image the canvas started from (empty: none)
  uint64_t truth_origin_ = 0;   // the canvas origin() truth_ came with
  uint64_t sent_stamp_ = 0;     // the canvas the last draw request took
  bool canvas_dirty_ = false;   // the target domain changed since the last draw request
  uint64_t drawn_model_ = 0;    // the model and step the last request went to: a newer G redraws
  int64_t drawn_step_ = -1;
  uint64_t last_request_ = 0;  // the newest draw request: an answer to an older one is stale
  std::deque<std::pair<uint64_t, std::chrono::steady_clock::time_point>> sent_;  // requests awaiting an answer
  std::vector<double> latencies_ms_;
  bool sweep_ = false;
  int sweep_frame_ = 0;
  uint64_t start_seen_ = 0;  // the newest canvas_start() already copied onto the canvas
  int to_ = 1;               // CycleGAN/StarGAN: the target domain
  int test_index_ = 0;
  bool show_verdict_ = true;
  std::string canvas_note_;  // a resized or unreadable picture, one line
  DisplayImage output_image_, verdict_image_, truth_image_;
  std::vector<DisplayImage> cells_;  // the tables' cells, table by table, column by column

  // The newest measurement, turned into rows of text once per snapshot.
  uint64_t metrics_stamp_ = 0;
  std::vector<std::string> metrics_header_;
  std::vector<std::vector<std::string>> metrics_rows_;
  std::string metrics_note_;
};

}  // namespace genlab::app
