// The Translate tab's model side: Pix2Pix, CycleGAN and StarGAN training live (loss weights changed
// mid-run), the views that show what they learn (a table of fixed test rows: inputs, outputs, D's
// patch verdicts, targets and errors; CycleGAN's x -> G(x) -> F(G(x)) triplets with the cycle error
// and the classifier's verdict; StarGAN's rows x every target domain), a drawing canvas whose
// output follows each stroke (newest request wins), and the test-set figures beside the task's
// baselines. Torch-free header: the UI enqueues, the worker computes, the UI reads the views.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/data/image.h"
#include "core/lab/save_mailbox.h"
#include "core/lab/session.h"
#include "core/translate/translate_config.h"

namespace genlab {

struct TranslateStepStats;

struct TranslateHistoryPoint {
  int64_t step = 0;
  float loss_d = 0, loss_g = 0, adversarial = 0, l1 = 0, cycle = 0, identity = 0, cls_real = 0, cls_fake = 0, rec = 0,
        d_real = 0, d_fake = 0;
};
// A step's figures onto the curves (thinned as they grow), as the CLI's progress line, and as JSON.
void record_step(std::vector<TranslateHistoryPoint>& history, const TranslateStepStats& stats);
std::string describe_step(TranslateKind kind, const TranslateStepStats& stats);
std::string step_json(TranslateKind kind, const TranslateStepStats& stats);
std::string translate_curves_json(const std::vector<TranslateHistoryPoint>& history);
std::vector<TranslateHistoryPoint> read_translate_curves(const std::string& metadata_json);

// One column of the view's table: an image per row.
struct TranslateColumn {
  std::string title;               // "input", "G(x)", "D's verdict", "to Sneaker", ...
  std::vector<ImageBuffer> cells;  // one per row
  // Signed images for the colormap: D's per-patch verdict as 2v - 1 (+1 real, -1 fake), scaled up to
  // the image size; errors as |a - b|.
  bool heat = false;
  std::vector<std::string> notes;  // per row (the classifier's verdict, the L1), or empty
};

struct TranslateTable {
  std::string title;  // "A -> B", ...
  std::vector<TranslateColumn> columns;
};

struct TranslateLabView {
  bool exists = false;
  uint64_t id = 0;  // changes with each new or loaded model
  TranslateConfig config;
  int64_t step = 0;
  double epoch = 0, steps_per_s = 0;
  std::vector<TranslateHistoryPoint> history;
  std::vector<TranslateTable> tables;  // Pix2Pix and StarGAN one, CycleGAN one per direction
  // The fixed rows' figures now (Pix2Pix: L1 to the targets, and each baseline's): a quick read
  // while training; the Metrics button measures the test set.
  std::string rows_summary;
  std::vector<std::string> class_names;  // of the open data set (the domain pickers)
  SaveState saved;
};

// The canvas's answer: what went in, what came out, D's verdict, and the ground truth when the
// canvas started from a test image.
struct TranslateCanvasView {
  uint64_t request = 0;  // the draw() stamp it answers
  ImageBuffer input, output, verdict, truth;  // verdict: 2v - 1 per pixel of its patch, signed
  int to = 1;
  float l1 = -1, psnr = -1;  // to the truth (-1: none)
  double ms = 0;             // the worker's time for this answer
};

// A test image as the canvas's start: the task's input made from it (Pix2Pix), or the image.
struct TranslateCanvasStart {
  int64_t index = -1;
  int domain = -1;  // CycleGAN/StarGAN: the image's domain (-1: not one of the model's)
  ImageBuffer input, truth;
};

struct TranslateMetricsView {
  bool running = false;
  std::string json;  // evaluate_translation's figures ("" until measured)
  std::string error;
};

class TranslateLab : public Lab {
 public:
  explicit TranslateLab(Session& session);
  ~TranslateLab();
  std::vector<UnsavedTraining> unsaved_training() const override;

  void new_model(const TranslateConfig& config);  // on the open data set
  void load(const std::string& path);
  void train(int64_t steps);  // 0: until stopped
  void save(const std::string& path);
  // The loss weights (lambda_*) from the next step on; refused in one line when one is negative or
  // not a number.
  void set_loss_weights(const TranslateConfig& weights);

  // Newest wins: the canvas (C x H x W in [0, 1]) through G to domain `to`; `truth` (may be empty)
  // gives the L1 and PSNR of the answer. Returns the request's stamp (the answer's `request`).
  uint64_t draw(const ImageBuffer& input, int to, const ImageBuffer& truth = {});
  void canvas_from_test(int64_t index);
  // The test-set figures (up to n images of each domain) beside the baselines.
  void measure(int n);

  const Latest<TranslateLabView>& view() const { return view_; }
  const Latest<TranslateCanvasView>& canvas() const { return canvas_; }
  const Latest<TranslateCanvasStart>& canvas_start() const { return canvas_start_; }
  const Latest<TranslateMetricsView>& metrics() const { return metrics_; }

  struct State;

 private:
  Session& session_;
  std::atomic<bool> weights_changed_{false};
  std::mutex weights_mutex_;
  TranslateConfig weights_;
  SaveMailbox saves_;
  Latest<TranslateLabView> view_;
  Latest<TranslateCanvasView> canvas_;
  Latest<TranslateCanvasStart> canvas_start_;
  Latest<TranslateMetricsView> metrics_;
  std::unique_ptr<State> state_;
};

}  // namespace genlab
