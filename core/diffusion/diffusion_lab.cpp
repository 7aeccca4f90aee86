#include "core/diffusion/diffusion_lab.h"

#include <chrono>
#include <filesystem>

#include "core/diffusion/diffusion_trainer.h"
#include "core/diffusion/guidance_schedule.h"
#include "core/diffusion/image_editing.h"
#include "core/diffusion/samplers.h"
#include "core/io/safetensors.h"
#include "core/io/gif.h"
#include "core/io/png_text.h"
#include "core/io/shipped.h"
#include "core/lab/lab_training.h"
#include "core/train/history.h"
#include "core/lab/quality_job.h"
#include "core/io/tensors.h"
#include "core/metrics/image_similarity.h"

#include <nlohmann/json.hpp>

namespace genlab {

struct DiffusionLab::State {
  std::unique_ptr<DiffusionTrainer> trainer;
  std::unique_ptr<DiffusionTrainer> student;  // the trainer's distilled student, when one was loaded beside it
  std::string student_path;
  DiffusionTrainingView training;
  // The latest run of the original path, for branching: x after each step and the t it is at.
  uint64_t run = 0;
  std::vector<torch::Tensor> run_x;
  std::vector<int> run_t;
  SamplingParams run_params;

  void adopt(std::unique_ptr<DiffusionTrainer> t, bool trainable, const std::string& checkpoint) {
    trainer = std::move(t);
    training = DiffusionTrainingView{};
    training.exists = true;
    training.trainable = trainable;
    training.step = trainer->step();
    training.epoch = trainer->epoch();
    training.saved.saved_at(checkpoint, trainer->step());
    run_x.clear();
    run_t.clear();
    student.reset();
    student_path.clear();
  }
};

DiffusionLab::DiffusionLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
DiffusionLab::~DiffusionLab() = default;

std::vector<UnsavedTraining> DiffusionLab::unsaved_training() const {
  auto v = training_.get();
  return v && v->value.exists ? v->value.saved.unsaved("diffusion model", v->value.step) : std::vector<UnsavedTraining>();
}

std::vector<std::string> DiffusionLab::open_checkpoints() const {
  auto v = training_.get();
  if (!v || !v->value.exists || v->value.saved.checkpoint.empty()) return {};
  return {v->value.saved.checkpoint};
}

void DiffusionLab::publish_model() {
  const DiffusionTrainer& t = *state_->trainer;
  const DiffusionConfig& c = t.config();
  DiffusionModelView view{true, state_->training.saved.checkpoint, t.step(), c.unet.classes, c.T,
                          t.data().class_names, c.schedule, c.unet.channels, c.unet.image_size, {}, {}};
  if (state_->student) {
    view.student = state_->student->config().distilled;
    view.student_checkpoint = state_->student_path;
  }
  model_.publish(view);
  training_.publish(state_->training);
}

namespace {

std::string beside(const std::string& path, const std::string& name) {
  return (std::filesystem::path(path).parent_path() / name).string();
}

}  // namespace

void DiffusionLab::load(const std::string& path) {
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    DiffusionConfig config = read_diffusion_config(path);
    // A student's file opens its teacher with it; a teacher opens the student beside it, if any.
    std::string teacher_path = path, student_path = beside(path, std::filesystem::path(path).stem().string() + "-student.safetensors");
    if (config.distilled.steps > 0) {
      student_path = path;
      teacher_path = beside(path, config.distilled.teacher);
      if (!std::filesystem::exists(teacher_path))
        throw std::runtime_error(path + ": a distilled student; its teacher " + config.distilled.teacher +
                                 " is not beside it");
      config = read_diffusion_config(teacher_path);
    }
    auto open = session_.dataset().get();
    // Sampling needs the image shape only; the open data set, when it has that shape and those
    // classes, also lets the model train on (and names its classes).
    const int size = config.unet.image_size, classes = config.unet.classes;
    std::shared_ptr<const Dataset> data;
    if (open) {
      const Dataset& d = *open->value.data;
      if (d.channels == config.unet.channels && d.height == size && d.width == size && d.train.count > 0 &&
          (classes == 0 || int(d.class_names.size()) == classes))
        data = open->value.data;
    }
    const bool trainable = data != nullptr;
    if (!data) data = blank_dataset(config.unet.channels, size, size, classes);
    auto trainer = std::make_unique<DiffusionTrainer>(config, data);
    const std::string metadata = trainer->resume(teacher_path);
    state_->adopt(std::move(trainer), trainable, teacher_path);
    state_->training.history = read_diffusion_curves(metadata);
    if (std::filesystem::exists(student_path)) {
      DiffusionConfig student = read_diffusion_config(student_path);
      const std::string teacher_name = std::filesystem::path(teacher_path).filename().string();
      if (student.distilled.steps > 0 && student.distilled.teacher == teacher_name && student.T == config.T &&
          student.schedule == config.schedule) {
        state_->student = std::make_unique<DiffusionTrainer>(student, data);
        state_->student->resume(student_path);
        state_->student_path = student_path;
      }
    }
    publish_model();
  });
}

void DiffusionLab::new_model(bool conditional, float learning_rate, int batch_size, float label_dropout) {
  session_.worker().submit("new diffusion model", [=](JobContext&) {
    auto open = session_.dataset().get();
    if (!open) throw std::runtime_error("open a data set first: the model is sized to its images");
    DiffusionConfig config;
    config.conditional = conditional;
    config.learning_rate = learning_rate;
    config.batch_size = batch_size;
    config.label_dropout = label_dropout;
    state_->adopt(std::make_unique<DiffusionTrainer>(config, open->value.data), true, "");
    publish_model();
  });
}

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kDiffusionColumns = {"step", "loss", "smoothed"};

}  // namespace

float record_loss(std::vector<DiffusionTrainingPoint>& history, int64_t step, float loss) {
  const float smoothed = history.empty() ? loss : history.back().smoothed + 0.02f * (loss - history.back().smoothed);
  history.push_back({step, loss, smoothed});
  thin_history(history);  // keeps the newest point
  return smoothed;
}

std::string diffusion_curves_json(const std::vector<DiffusionTrainingPoint>& history) {
  return nlohmann::json{{"train", curve_json(history, kDiffusionColumns, [](const DiffusionTrainingPoint& p) {
                           return std::vector<double>{double(p.step), p.loss, p.smoothed};
                         })}}
      .dump();
}

std::vector<DiffusionTrainingPoint> read_diffusion_curves(const std::string& metadata_json) {
  nlohmann::json history = saved_history(metadata_json);
  if (!history.is_object()) return {};
  return curve_points<DiffusionTrainingPoint>(
      history.value("train", nlohmann::json()), kDiffusionColumns.size(),
      [](const std::vector<double>& r) { return DiffusionTrainingPoint{int64_t(r[0]), float(r[1]), float(r[2])}; });
}

namespace {

DiffusionTrainer& loaded(const std::unique_ptr<DiffusionTrainer>& trainer) {
  if (!trainer) throw std::runtime_error("no diffusion model yet: load one (genlab-cli train --model ddpm)");
  return *trainer;
}

// Runs a walk (a sampler's or an edit's) with the denoiser of `params` (its class, guidance and
// guidance schedule over its step grid) for n images, publishing `view` with every step's frame;
// `keep_x` gets x after each step. The walk stops within a step when the request is superseded.
using Walk = std::function<void(const Denoiser&, const StepCallback&)>;
void stream_run(JobContext& ctx, DiffusionTrainer& trainer, const SamplingParams& params, int n, const Walk& walk,
                SamplingView view, const std::function<void(const SamplingView&)>& publish, Clock::time_point asked,
                std::vector<torch::Tensor>* keep_x, std::vector<int>* keep_t) {
  const int cols = std::min(n, 10);
  auto record = std::make_shared<DiffusionTrainer::GuidanceParts>();
  const Denoiser denoise =
      trainer.denoiser(sample_labels(params.label, n, trainer.config().unet.classes),
                       run_guidance(params.cfg_schedule, params.cfg, params.steps, trainer.schedule()), record);
  auto display = [cols](const torch::Tensor& v) { return tensor_grid((v.clamp(-1, 1) + 1) * 0.5, cols); };
  auto raw = [cols](const torch::Tensor& v) { return tensor_grid(v, cols, 1, 0.f); };  // signed: pad with 0
  auto seconds = [&asked] { return std::chrono::duration<double>(Clock::now() - asked).count(); };
  size_t eps_bytes = 0;
  walk(denoise, [&](const SamplerStep& step) {
    if (ctx.cancelled()) return false;  // a newer request: stop within this step
    SamplingStepFrame frame{step.t, step.t_next, display(step.x_next), display(step.x0), {}, {}, {}, {}};
    if (eps_bytes < DiffusionLab::kEpsBudgetBytes) {
      frame.eps = raw(step.eps);
      if (record->cond.defined()) {
        frame.eps_cond = raw(record->cond);
        frame.eps_uncond = raw(record->uncond);
        frame.guidance = raw(record->cond - record->uncond);
      }
      eps_bytes += sizeof(float) * (frame.eps.image.pixels.size() + frame.eps_cond.image.pixels.size() +
                                    frame.eps_uncond.image.pixels.size() + frame.guidance.image.pixels.size());
    } else {
      view.eps_dropped = true;
    }
    if (keep_x) keep_x->push_back(step.x_next), keep_t->push_back(step.t_next);
    view.frames.push_back(std::make_shared<const SamplingStepFrame>(std::move(frame)));
    if (view.frames.size() == 1) view.seconds_first = seconds();
    view.seconds_last = seconds();
    view.done = view.first_step() + int(view.frames.size()) == view.total;
    publish(view);
    return true;
  });
}

// A plain sampler walk down `timesteps` from x.
Walk sampler_walk(DiffusionTrainer& trainer, const SamplingParams& params, torch::Tensor x, std::vector<int> timesteps) {
  return [&trainer, params, x = std::move(x), timesteps = std::move(timesteps)](const Denoiser& denoise,
                                                                               const StepCallback& on_step) {
    sample_timesteps(parse_sampler(params.sampler), trainer.schedule(), denoise, x, timesteps, params.eta,
                     params.seed + 1, on_step, 1.0);
  };
}

}  // namespace

uint64_t DiffusionLab::sample(const SamplingParams& params, bool use_student) {
  const auto asked = Clock::now();
  return session_.worker().request("diffusion.sample", [this, params, use_student, asked](JobContext& ctx) {
    DiffusionTrainer& trainer = loaded(state_->trainer);
    const DiffusionConfig& config = trainer.config();
    parse_sampler(params.sampler);
    check_sampling_params(params, config.T, config.unet.classes);
    const int n = std::clamp(params.n, 1, 64), size = config.unet.image_size, c = config.unet.channels;
    auto x_T = seeded_noise(params.seed, n, c * size * size).view({n, c, size, size});
    State& s = *state_;
    s.run_x.clear();
    s.run_t.clear();
    s.run_params = params;
    s.run = ctx.request_stamp();
    SamplingView view;
    view.params = params;
    view.run = s.run;
    view.total = params.steps;
    DiffusionTrainer* student =
        use_student && s.student && student_mismatch(s.student->config().distilled, params).empty() ? s.student.get()
                                                                                                       : nullptr;
    Walk walk = sampler_walk(trainer, params, x_T, sampling_timesteps(config.T, params.steps));
    if (student) {  // its steps land on the teacher's path
      const SamplingWalkPlan plan = sampling_walk_plan(student->config(), params.sampler, params.steps);
      view.by_student = true;
      view.total = int(plan.timesteps.size());
      walk = [student, params, x_T, plan](const Denoiser& denoise, const StepCallback& on_step) {
        sample_timesteps(plan.kind, student->schedule(), denoise, x_T, plan.timesteps, 0.0, params.seed + 1, on_step,
                         plan.clip_x0);
      };
    }
    stream_run(ctx, student ? *student : trainer, params, n, walk, std::move(view),
               [this](const SamplingView& v) { sampling_.publish(v); }, asked, &s.run_x, &s.run_t);
  });
}

void DiffusionLab::branch(const SamplingParams& asked_params, int from_step) {
  const auto asked = Clock::now();
  session_.worker().request("diffusion.branch", [this, asked_params, from_step, asked](JobContext& ctx) {
    DiffusionTrainer& trainer = loaded(state_->trainer);
    const State& s = *state_;
    if (from_step < 0 || from_step >= int(s.run_x.size()))
      throw std::out_of_range("step " + std::to_string(from_step + 1) + " is not a finished step of the run");
    const int t_from = s.run_t[size_t(from_step)];
    if (t_from == 0) throw std::invalid_argument("step " + std::to_string(from_step + 1) + " ends the run: branch from an earlier one");
    SamplingParams params = asked_params;
    parse_sampler(params.sampler);
    check_sampling_params(params, trainer.config().T, trainer.config().unet.classes);
    params.n = s.run_params.n;  // the branch carries on the same images
    // x after step k is x_{t_from}; the branch walks the new step grid below it.
    std::vector<int> timesteps{t_from};
    for (int t : sampling_timesteps(trainer.config().T, params.steps))
      if (t < t_from) timesteps.push_back(t);
    SamplingView view;
    view.params = params;
    view.run = s.run;
    view.branch_from = from_step;
    view.total = from_step + 1 + int(timesteps.size());
    const torch::Tensor& x = s.run_x[size_t(from_step)];
    stream_run(ctx, trainer, params, int(x.size(0)), sampler_walk(trainer, params, x, timesteps), std::move(view),
               [this](const SamplingView& v) { branch_.publish(v); }, asked, nullptr, nullptr);
  });
}

std::vector<RaceEntry> default_race() {
  return {{"ddpm", 1000}, {"ddim", 50}, {"ddim", 20}, {"ddim", 10}, {"dpmpp2m", 20}, {"dpmpp2m", 10}, {"dpmpp2m", 5}};
}

namespace {

// `image` must be C x size x size, the model's images.
void check_edit_image(const ImageBuffer& image, int channels, int size, const std::string& what) {
  if (image.channels != channels || image.height != size || image.width != size)
    throw std::invalid_argument(what + " is " + std::to_string(image.channels) + "x" + std::to_string(image.height) + "x" +
                                std::to_string(image.width) + ", the model's images are " + std::to_string(channels) + "x" +
                                std::to_string(size) + "x" + std::to_string(size));
}

}  // namespace

uint64_t DiffusionLab::edit(const EditRequest& request) {
  const auto asked = Clock::now();
  return session_.worker().request("diffusion.edit", [this, request, asked](JobContext& ctx) {
    DiffusionTrainer& trainer = loaded(state_->trainer);
    const DiffusionConfig& config = trainer.config();
    const SamplingParams& params = request.params;
    const EditSettings& e = request.settings;
    const SamplerKind kind = parse_sampler(params.sampler);
    check_sampling_params(params, config.T, config.unet.classes);
    const int size = config.unet.image_size, c = config.unet.channels, n = std::clamp(params.n, 1, 16);
    check_edit_settings(e, size);
    check_edit_image(request.image, c, size, "the image");
    torch::NoGradGuard no_grad;
    torch::Tensor mask;
    if (e.mode == EditMode::Inpaint) {
      check_edit_image(request.mask, 1, size, "the mask");
      mask = image_tensor(request.mask);
    }
    const PreparedEdit prepared = prepare_edit(e, image_tensor(request.image), mask);
    const torch::Tensor& image = prepared.reference;
    const torch::Tensor& known = prepared.known;
    EditView view;
    view.settings = e;
    view.input = tensor_image(prepared.shown[0]);
    if (e.mode == EditMode::SuperRes) {
      view.low_res = tensor_image(prepared.low_res[0]);
      view.bicubic = tensor_image(prepared.bicubic[0]);
    }
    auto x_T = seeded_noise(params.seed, n, c * size * size).view({n, c, size, size});
    const NoiseSchedule& sch = trainer.schedule();
    const std::vector<int> timesteps = edit_timesteps(e, sch, params.steps);
    const int total = int(timesteps.size());
    view.t_start = timesteps.empty() ? 0 : timesteps.front();
    view.run.params = params;
    view.run.run = ctx.request_stamp();
    torch::Tensor result;
    if (total == 0) {  // SDEdit at strength 0: the input is the output
      result = image.expand_as(x_T);
      auto shown = tensor_grid(((result + 1) * 0.5).clamp(0, 1), std::min(n, 10));
      view.run.total = 1;
      view.run.frames.push_back(std::make_shared<const SamplingStepFrame>(SamplingStepFrame{0, 0, shown, shown, {}, {}, {}, {}}));
      view.run.done = true;
    } else {
      view.run.total = total;
      auto walk = [&](const Denoiser& denoise, const StepCallback& on_step) {
        result = run_edit(kind, sch, denoise, e, image, known, x_T, params.steps, params.eta, params.seed, on_step, 1.0).x;
      };
      stream_run(ctx, trainer, params, n, walk, view.run,
                 [&](const SamplingView& v) {
                   view.run = v;
                   edit_.publish(view);
                 },
                 asked, nullptr, nullptr);
      if (ctx.cancelled() || !view.run.done) return;
    }
    if (!request.truth.empty()) {
      check_edit_image(request.truth, c, size, "the original");
      view.scores = edit_scores(e, prepared, ((result + 1) * 0.5).clamp(0, 1), image_tensor(request.truth));
    }
    edit_.publish(view);
  });
}

void DiffusionLab::race(const SamplingParams& params, const std::vector<RaceEntry>& entries) {
  session_.worker().request("diffusion.race", [this, params, entries](JobContext& ctx) {
    DiffusionTrainer& trainer = loaded(state_->trainer);
    const DiffusionConfig& config = trainer.config();
    if (entries.empty()) throw std::invalid_argument("the race has no samplers");
    const int n = std::clamp(params.n, 1, 4), size = config.unet.image_size, c = config.unet.channels;
    const torch::Tensor x_T = seeded_noise(params.seed, n, c * size * size).view({n, c, size, size});
    const torch::Tensor labels = sample_labels(params.label, n, config.unet.classes);
    auto display = [n](const torch::Tensor& v) { return tensor_grid((v.clamp(-1, 1) + 1) * 0.5, n); };
    std::vector<SamplerWalk> walks;
    std::vector<Denoiser> denoisers;
    std::vector<torch::Tensor> x0s;
    RaceView view;
    view.params = params;
    for (const RaceEntry& entry : entries) {
      SamplingParams p = params;
      p.sampler = entry.sampler;
      p.steps = entry.steps;
      check_sampling_params(p, config.T, config.unet.classes);
      const auto grid = sampling_timesteps(config.T, entry.steps);
      walks.emplace_back(parse_sampler(entry.sampler), trainer.schedule(), x_T, grid, p.eta, p.seed + 1, 1.0);
      denoisers.push_back(trainer.denoiser(labels, run_guidance(p.cfg_schedule, p.cfg, p.steps, trainer.schedule())));
      x0s.push_back(torch::zeros_like(x_T));
      RaceColumn column;
      column.entry = entry;
      column.t = grid.front();
      column.x = display(x_T);
      column.x0 = display(x0s.back());
      view.columns.push_back(std::move(column));
      view.rounds = std::max(view.rounds, entry.steps);
    }
    race_.publish(view);
    auto last_publish = Clock::now();
    for (int round = 0; round < view.rounds; ++round) {
      bool finished = false;
      for (size_t k = 0; k < walks.size(); ++k) {
        if (walks[k].done()) continue;
        if (ctx.cancelled()) return;
        const auto t0 = Clock::now();
        const SamplerStep step = walks[k].advance(denoisers[k](walks[k].x(), walks[k].t()));
        RaceColumn& column = view.columns[k];
        column.ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        column.calls += 1;
        column.t = step.t_next;
        x0s[k] = step.x0;
        finished |= walks[k].done();
      }
      view.round = round + 1;
      view.done = view.round == view.rounds;
      if (finished || view.done || Clock::now() - last_publish > std::chrono::milliseconds(40)) {
        for (size_t k = 0; k < walks.size(); ++k) {
          view.columns[k].x = display(walks[k].x());
          view.columns[k].x0 = display(x0s[k]);
        }
        race_.publish(view);
        last_publish = Clock::now();
      }
    }
  });
}

void DiffusionLab::stop_race() {
  session_.worker().request("diffusion.race", [](JobContext&) {});  // newer, so the race sees it cancelled
}

const SamplingStepFrame& path_frame(const SamplingView& run, const SamplingView& branch, int step) {
  if (branch.frames.empty() || step <= branch.branch_from)
    return *run.frames[size_t(std::clamp(step, 0, int(run.frames.size()) - 1))];
  return *branch.frames[size_t(std::min(step - branch.first_step(), int(branch.frames.size()) - 1))];
}

int path_length(const SamplingView& run, const SamplingView& branch) {
  return branch.frames.empty() ? int(run.frames.size()) : branch.first_step() + int(branch.frames.size());
}

namespace {

// The training view's sample grid: DDIM, 20 steps, w = 3, one of each class (or 10 unconditional),
// from the same noise every time so the grids show the model changing, not the noise.
ImageGrid preview_grid(DiffusionTrainer& trainer) {
  const DiffusionConfig& c = trainer.config();
  const int n = c.unet.classes > 0 ? c.unet.classes : 10, size = c.unet.image_size;
  SamplingParams p;
  p.label = -1;
  auto x_T = seeded_noise(1234, n, c.unet.channels * size * size).view({n, c.unet.channels, size, size});
  auto x = sample(SamplerKind::DDIM, trainer.schedule(), trainer.denoiser(sample_labels(p.label, n, c.unet.classes), 3.0),
                  x_T, 20, 0.0, 1, {}, 1.0)
               .x;
  return tensor_grid((x.clamp(-1, 1) + 1) * 0.5, std::min(n, 10));
}

// The checkpoint with the newest smoothed loss as its metric (the save button and the autosave).
void save_model(DiffusionTrainer& t, const DiffusionTrainingView& v, const std::string& path) {
  nlohmann::json metrics = nlohmann::json::object();
  if (!v.history.empty()) metrics["loss"] = v.history.back().smoothed;
  t.save(path, metrics.dump(), diffusion_curves_json(v.history));
}

}  // namespace

void DiffusionLab::train(int64_t steps, double sample_every_s) {
  session_.worker().submit("train diffusion", [this, steps, sample_every_s](JobContext& ctx) {
    State& s = *state_;
    DiffusionTrainer& t = loaded(s.trainer);
    if (!s.training.trainable)
      throw std::runtime_error("this model was loaded without training images of its shape: open its data set, "
                               "load it again, then train");
    if (s.student) {  // it learnt the weights training is about to change
      s.student.reset();
      s.student_path.clear();
      publish_model();
    }
    DiffusionTrainingView& v = s.training;
    const int64_t start = t.step();
    auto t0 = Clock::now(), last_publish = Clock::now(), last_samples = Clock::now();
    auto seconds = [](Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); };
    if (v.samples_step < 0) v.samples = preview_grid(t), v.samples_step = t.step();
    LabTraining run;
    run.file = "ddpm";
    run.steps = steps;
    run.step = [&] {
      record_loss(v.history, t.step(), t.train_step());
      const bool last = steps > 0 && t.step() == start + steps;
      if (seconds(last_samples) > sample_every_s || last) {
        v.samples = preview_grid(t);
        v.samples_step = t.step();
        last_samples = Clock::now();
      }
      if (seconds(last_publish) > 0.25 || last) {
        v.step = t.step();
        v.epoch = t.epoch();
        v.images_per_s = double(t.step() - start) * t.config().batch_size / seconds(t0);
        auto buckets = t.bucket_losses();
        v.bucket_losses.assign(buckets.begin(), buckets.end());
        training_.publish(v);
        last_publish = Clock::now();
      }
    };
    run.write = [&](const std::string& path) { save_model(t, v, path); };
    run.saved = &v.saved;
    run.save_later = [this](const std::string& path) { save(path); };
    run.publish = [&] {
      v.step = t.step();
      training_.publish(v);
    };
    run_lab_training(ctx, session_, saves_, t, run);
    v.step = t.step();
    v.epoch = t.epoch();
    publish_model();  // the Sample view re-samples from the weights as they are now
  });
}

void DiffusionLab::measure_quality(const QualityOptions& options, const SamplingParams& params) {
  session_.worker().submit("measure diffusion", [this, options, params](JobContext& ctx) {
    DiffusionTrainer& t = loaded(state_->trainer);
    char what[128];
    snprintf(what, sizeof what, "%s, %d steps, w = %.2f (%s)", params.sampler.c_str(), params.steps, params.cfg,
             params.cfg_schedule.c_str());
    const GuidanceSchedule schedule = parse_guidance_schedule(params.cfg_schedule);
    auto at_scale = [&t, params, schedule](double w) {
      return diffusion_samples(t, params.sampler, params.steps, w, params.eta, schedule);
    };
    QualityOptions o = options;
    if (t.config().unet.classes == 0) o.cfg_curve.clear();  // no guidance without classes
    run_quality_job(ctx, session_, o, what, at_scale(params.cfg), at_scale, t.step(), quality_);
  });
}

void DiffusionLab::save(const std::string& path) {
  if (saves_.post("ddpm", path)) return;  // the training job writes it at the next step
  session_.worker().submit("save " + path, [this, path](JobContext&) {
    State& s = *state_;
    DiffusionTrainer& t = loaded(s.trainer);
    save_as(s.training.saved, t, [&](const std::string& to) { save_model(t, s.training, to); }, path);
    publish_model();
  });
}

namespace {

// `top` above `bottom` with a gap of pad-gray rows (the same width and channels).
ImageBuffer stack(const ImageBuffer& top, const ImageBuffer& bottom, int gap = 4) {
  ImageBuffer out{top.channels, top.height + gap + bottom.height, top.width, {}};
  out.pixels.assign(size_t(out.channels) * out.height * out.width, 0.25f);
  for (int c = 0; c < top.channels; ++c) {
    std::copy_n(top.pixels.begin() + ptrdiff_t(c) * top.height * top.width, size_t(top.height) * top.width,
                out.pixels.begin() + ptrdiff_t(c) * out.height * out.width);
    std::copy_n(bottom.pixels.begin() + ptrdiff_t(c) * bottom.height * bottom.width, size_t(bottom.height) * bottom.width,
                out.pixels.begin() + ptrdiff_t(c) * out.height * out.width + ptrdiff_t(top.height + gap) * out.width);
  }
  return out;
}

// A row per image: the image's x at up to `columns` steps of the path, evenly spaced, the last included.
ImageBuffer strip(const SamplingView& run, const SamplingView& branch, int columns) {
  const int steps = path_length(run, branch);
  columns = std::clamp(columns, 1, steps);
  const ImageGrid& any = run.frames.front()->x;
  const int images = int(any.indices.size());
  const int c = any.image.channels, h = any.cell_h, w = any.cell_w;
  std::vector<float> cells;
  for (int i = 0; i < images; ++i)
    for (int k = 0; k < columns; ++k) {
      const int step = columns == 1 ? steps - 1 : int(std::lround(double(k) * (steps - 1) / (columns - 1)));
      ImageBuffer cell = grid_cell(path_frame(run, branch, step).x, i);
      cells.insert(cells.end(), cell.pixels.begin(), cell.pixels.end());
    }
  return make_image_grid(cells.data(), images * columns, c, h, w, columns).image;
}

void require_frames(const SamplingView& run, const std::string& path) {
  if (run.frames.empty()) throw std::runtime_error(path + ": no sampling run to export yet");
}

}  // namespace

void DiffusionLab::export_grid(SamplingView run, const std::string& path) {
  auto model = model_.get();
  const std::string checkpoint = model ? model->value.checkpoint : std::string();
  session_.worker().submit("export " + path, [run = std::move(run), path, checkpoint](JobContext&) {
    require_frames(run, path);
    write_png_with_text(path, run.frames.back()->x.image, "genlab", sampling_record_json({run.params, checkpoint}));
  });
}

void DiffusionLab::export_strip(SamplingView run, SamplingView branch, const std::string& path, int columns) {
  auto model = model_.get();
  const std::string checkpoint = model ? model->value.checkpoint : std::string();
  session_.worker().submit("export " + path, [run = std::move(run), branch = std::move(branch), path, columns,
                                              checkpoint](JobContext&) {
    require_frames(run, path);
    ImageBuffer image = strip(run, SamplingView{}, columns);
    if (!branch.frames.empty()) image = stack(image, strip(run, branch, columns), 8);
    write_png_with_text(path, image, "genlab", sampling_record_json({run.params, checkpoint}));
  });
}

void DiffusionLab::export_edit(EditView edit, const std::string& path) {
  auto model = model_.get();
  const std::string checkpoint = model ? model->value.checkpoint : std::string();
  session_.worker().submit("export " + path, [edit = std::move(edit), path, checkpoint](JobContext&) {
    require_frames(edit.run, path);
    write_png_with_text(path, edit.run.frames.back()->x.image, "genlab",
                        sampling_record_json({edit.run.params, checkpoint, true, edit.settings}));
  });
}

void DiffusionLab::export_gif(SamplingView run, SamplingView branch, const std::string& path) {
  session_.worker().submit("export " + path, [run = std::move(run), branch = std::move(branch), path](JobContext& ctx) {
    require_frames(run, path);
    const int steps = std::max(int(run.frames.size()), branch.frames.empty() ? 0 : path_length(run, branch));
    std::vector<ImageBuffer> frames;
    for (int k = 0; k < steps; ++k) {
      ctx.progress(k, steps);
      const ImageBuffer& top = path_frame(run, SamplingView{}, k).x.image;
      frames.push_back(branch.frames.empty() ? top : stack(top, path_frame(run, branch, k).x.image, 8));
    }
    write_gif(path, frames);
  });
}

void DiffusionLab::forward_process(int64_t index, int t, BetaSchedule schedule, uint64_t seed) {
  session_.worker().request("diffusion.forward", [this, index, t, schedule, seed](JobContext& ctx) {
    auto open = session_.dataset().get();
    if (!open) throw std::runtime_error("open a data set first");
    const Dataset& d = *open->value.data;
    if (index < 0 || index >= d.test.count) throw std::out_of_range("test image " + std::to_string(index) + " does not exist");
    const NoiseSchedule sch = NoiseSchedule::make(schedule);
    if (t < 0 || t > sch.T) throw std::out_of_range("t " + std::to_string(t) + " is not in 0.." + std::to_string(sch.T));
    torch::NoGradGuard no_grad;
    auto bytes = torch::from_blob(const_cast<uint8_t*>(d.image(Split::Test, index)), {d.channels, d.height, d.width},
                                  torch::kUInt8);
    auto x0 = bytes.to(torch::kFloat) / 127.5 - 1;
    auto gen = at::detail::createCPUGenerator(seed);
    auto eps = at::randn(x0.sizes(), gen);
    auto chain = x0.clone();
    for (int u = 1; u <= t; ++u) {
      if (u % 100 == 0 && ctx.cancelled()) return;  // a newer t is waiting
      const double beta = sch.beta[size_t(u - 1)];
      chain = std::sqrt(1 - beta) * chain + std::sqrt(beta) * at::randn(x0.sizes(), gen);
    }
    ForwardProcessView out;
    out.index = index;
    out.t = t;
    out.schedule = schedule;
    out.x0 = tensor_image(x0);
    out.noise = tensor_image(eps);
    out.jump = tensor_image(forward_jump(sch, x0, t, eps));
    out.chain = tensor_image(chain);
    out.alpha_bar = sch.alpha_bar_at(t);
    out.signal = sch.signal(t);
    out.noise_scale = sch.noise(t);
    forward_.publish(std::move(out));
  });
}

}  // namespace genlab
