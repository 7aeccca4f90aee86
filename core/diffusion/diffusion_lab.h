// The diffusion lab's model side: the forward process (a data image noised to step t by the
// closed-form jump and, beside it, by the Markov chain), and live sampling from a trained model —
// every step streamed as it is computed and kept for playback; a newer request cancels the running
// one within a step. Torch-free header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/diffusion/schedule.h"
#include "core/data/image.h"
#include "core/lab/save_mailbox.h"
#include "core/diffusion/edit_settings.h"
#include "core/diffusion/sampling_params.h"
#include "core/metrics/quality_report.h"
#include "core/lab/session.h"

namespace genlab {

struct ForwardProcessView {
  int64_t index = 0;  // test image
  int t = 0;
  BetaSchedule schedule = BetaSchedule::Linear;
  ImageBuffer x0, noise, jump, chain;  // x0, jump and chain in [-1, 1]; noise ~ N(0, 1)
  double alpha_bar = 1, signal = 1, noise_scale = 0;
};

struct DiffusionModelView {
  bool exists = false;
  std::string checkpoint;
  int64_t step = 0;
  int classes = 0, T = 1000;
  std::vector<std::string> class_names;
  BetaSchedule schedule = BetaSchedule::Linear;
  int channels = 1, image_size = 28;  // its images: C x size x size
  // A distilled student loaded beside it (its file "<stem>-student.safetensors"): steps 0 when none.
  DistilledFrom student;
  std::string student_checkpoint;
};

struct SamplingStepFrame {
  int t = 0, t_next = 0;  // the step went from t to t_next (0: clean)
  ImageGrid x, x0;        // x after the step (x_{t_next}) and the predicted clean image, in [0, 1]
  // The noise predictions at t, N(0, I)-scaled: guided, conditional, unconditional, and the guidance
  // direction eps(c) - eps(none). Conditional ones are empty for an unconditional model; all are empty
  // once a run has kept kEpsBudgetBytes of them.
  ImageGrid eps, eps_cond, eps_uncond, guidance;
};

struct SamplingView {
  SamplingParams params;
  uint64_t run = 0;        // which run of the original (branches name the run they grew from)
  int branch_from = -1;    // a branch: continues the run's path after this step (its frames come after)
  int total = 0;           // steps of the whole path, the shared part of a branch included
  // One per finished step, in order; shared, so publishing a step does not copy the earlier ones.
  std::vector<std::shared_ptr<const SamplingStepFrame>> frames;
  double seconds_first = 0, seconds_last = 0;  // from the request to the first and the last step
  bool done = false;
  bool eps_dropped = false;  // the run grew past the budget for noise views
  bool by_student = false;   // drawn by the distilled student: its steps land on every r-th of params'

  int first_step() const { return branch_from + 1; }  // the step number of frames[0]
};

struct DiffusionTrainingPoint {
  int64_t step = 0;
  float loss = 0, smoothed = 0;  // the batch's eps MSE and its running average
};

// Adds a training step's loss and its running average (2 % a step, going on from the curve's last
// point) to the curve, thinned as it grows; returns the average. The lab and genlab-cli alike.
float record_loss(std::vector<DiffusionTrainingPoint>& history, int64_t step, float loss);

// The curve a checkpoint keeps, and reading it back (none when it has none).
std::string diffusion_curves_json(const std::vector<DiffusionTrainingPoint>& history);
std::vector<DiffusionTrainingPoint> read_diffusion_curves(const std::string& metadata_json);

// The training side: the trainer sampled from is the one trained, so the Sample view shows the
// model as it learns.
struct DiffusionTrainingView {
  bool exists = false;
  bool trainable = false;  // has its training images (a checkpoint loaded without its data set has not)
  int64_t step = 0;
  double epoch = 0, images_per_s = 0;
  std::vector<DiffusionTrainingPoint> history;  // decimated to at most ~2000 points
  std::vector<float> bucket_losses;             // eps MSE per t-bucket [1, 100], [101, 200], ... (NaN: none yet)
  ImageGrid samples;                            // DDIM, 20 steps, w = 3, fixed seed: one of each class
  int64_t samples_step = -1;
  SaveState saved;
};

// An edit of one image (image_editing.h) with a run's sampling settings: n variations of it (class
// -1: one of each class in turn), streamed and kept like a sampling run.
struct EditRequest {
  SamplingParams params;
  EditSettings settings;
  ImageBuffer image;  // C x H x W in [0, 1]: the drawing, the noisy or holed image, the full-size image
                      // whose factor x factor block means are super-resolution's input
  ImageBuffer mask;   // Inpaint: 1 x H x W, above 0.5 where the model fills in
  ImageBuffer truth;  // the original, when there is one (a test image): the results are scored on it
};

struct EditView {
  SamplingView run;          // frames of x and x0 per step; run.total steps in all
  EditSettings settings;
  ImageBuffer input;         // what the model starts from, in [0, 1]: the image, the masked image
                             // (hole grey), the low-res image blown up by nearest
  ImageBuffer low_res;       // SuperRes: H/factor x W/factor
  ImageBuffer bicubic;       // SuperRes: the low-res image blown up by bicubic
  std::vector<EditScore> scores;  // against the truth, once done (the edit's: mean over the images)
  int t_start = 0;           // the first step's t (SDEdit: strength T; denoise: sigma's t)
};

// The sampler race: the same noise and class through several samplers and step counts, one
// network call per column per round, so they advance in lock-step and the cheap ones finish first.
struct RaceEntry {
  std::string sampler;
  int steps = 20;
};
struct RaceColumn {
  RaceEntry entry;
  int calls = 0, t = 0;  // network calls made; the t the column stands at (0: done)
  double ms = 0;         // its time in the network and the sampler, summed
  ImageGrid x, x0;       // x now and its predicted clean image, in [0, 1]
};
struct RaceView {
  SamplingParams params;
  std::vector<RaceColumn> columns;
  int round = 0, rounds = 0;  // rounds done and the longest column's steps
  bool done = false;
};
// DDPM 1000, DDIM 50/20/10, DPM-Solver++ 20/10/5.
std::vector<RaceEntry> default_race();

// Step `step` (0-based) of a path: the run's own frames, or, for a branch that has frames, the run's
// up to the step it grew from and the branch's after it; clamped to the newest finished step.
const SamplingStepFrame& path_frame(const SamplingView& run, const SamplingView& branch, int step);
// Finished steps of that path.
int path_length(const SamplingView& run, const SamplingView& branch);

class DiffusionLab : public Lab {
 public:
  explicit DiffusionLab(Session& session);
  ~DiffusionLab();
  std::vector<UnsavedTraining> unsaved_training() const override;
  std::vector<std::string> open_checkpoints() const override;

  static constexpr size_t kEpsBudgetBytes = size_t(192) << 20;

  // A checkpoint of `genlab-cli train --model ddpm`, with its distilled student when
  // "<stem>-student.safetensors" lies beside it; a student's file loads its teacher (named in it,
  // beside it) with the student.
  void load(const std::string& path);
  // A new model for the open data set (conditional when it has labels and `conditional` is set).
  void new_model(bool conditional, float learning_rate, int batch_size, float label_dropout);
  // Trains `steps` batches (0: until stopped); pause, resume and stop are the worker's. The sample
  // grid is redrawn every `sample_every_s` seconds and at the end.
  void train(int64_t steps, double sample_every_s = 30);
  void save(const std::string& path);  // written at the next step while it trains
  const Latest<DiffusionTrainingView>& training() const { return training_; }
  // Scores samples of `params`' sampler, steps and guidance (one of each class) with FID-LeNet,
  // precision/recall and accuracy, then each scale of options.cfg_curve: the guidance trade-off.
  void measure_quality(const QualityOptions& options, const SamplingParams& params);
  const Latest<QualityView>& quality() const { return quality_; }
  // A new run from x_T of `params.seed`; a newer request cancels it within a step. Returns the
  // run's id (SamplingView::run). With `use_student`, a loaded student draws the runs it stands for
  // (student_mismatch), in its few steps.
  uint64_t sample(const SamplingParams& params, bool use_student = true);
  // Continues the latest run from its step `from_step` (0-based) with other parameters: x after that
  // step goes on down the timesteps of `params` below it. The run itself is left as it is.
  void branch(const SamplingParams& params, int from_step);
  const Latest<DiffusionModelView>& model() const { return model_; }
  const Latest<SamplingView>& sampling() const { return sampling_; }
  const Latest<SamplingView>& branch_view() const { return branch_; }

  // Exports of a run (and of its branch, when `branch` has frames, as a second block of rows), written
  // by the worker: the final images as a PNG whose "genlab" text chunk carries the parameters; a PNG
  // strip, a row per image with x at up to `columns` steps; an animated GIF of x, a frame per step.
  void export_grid(SamplingView run, const std::string& path);
  void export_strip(SamplingView run, SamplingView branch, const std::string& path, int columns = 10);
  void export_gif(SamplingView run, SamplingView branch, const std::string& path);
  // An edit's result images as a PNG whose "genlab" text carries the sampling and edit settings.
  void export_edit(EditView edit, const std::string& path);

  // An edit; a newer one (or a newer run) cancels it within a step. Returns its request id.
  uint64_t edit(const EditRequest& request);
  const Latest<EditView>& edit_view() const { return edit_; }
  // A race of `entries` from the noise of params.seed with params' class, guidance and eta (n
  // images per column, at most 4); newest wins.
  void race(const SamplingParams& params, const std::vector<RaceEntry>& entries);
  void stop_race();  // the running race stops within a network call (its view keeps where it got)
  const Latest<RaceView>& race_view() const { return race_; }

  struct State;

  // x_t of test image `index` at step t (0..T) by the jump sqrt(ab) x0 + sqrt(1 - ab) eps and by t
  // chain steps x_u = sqrt(1 - beta_u) x_{u-1} + sqrt(beta_u) eps_u, with noise from `seed`.
  void forward_process(int64_t index, int t, BetaSchedule schedule, uint64_t seed);
  const Latest<ForwardProcessView>& forward_view() const { return forward_; }

 private:
  void publish_model();  // worker thread: the model and training views of the trainer as it is

  Session& session_;
  SaveMailbox saves_;
  Latest<ForwardProcessView> forward_;
  Latest<DiffusionModelView> model_;
  Latest<SamplingView> sampling_, branch_;
  Latest<DiffusionTrainingView> training_;
  Latest<QualityView> quality_;
  Latest<EditView> edit_;
  Latest<RaceView> race_;
  std::unique_ptr<State> state_;  // the model, touched only on the worker thread
};

}  // namespace genlab
