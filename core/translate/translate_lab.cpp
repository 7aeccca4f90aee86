#include "core/translate/translate_lab.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/shipped.h"
#include "core/io/tensors.h"
#include "core/lab/lab_training.h"
#include "core/metrics/classifier.h"
#include "core/metrics/sample_quality.h"
#include "core/train/history.h"
#include "core/translate/paired_tasks.h"
#include "core/translate/translate_run.h"
#include "core/translate/translate_trainer.h"

namespace genlab {

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kColumns = {"step",     "loss_d",   "loss_g", "adversarial", "l1",     "cycle",
                                           "identity", "cls_real", "cls_fake", "rec",       "d_real", "d_fake"};

std::vector<double> row_of(const TranslateHistoryPoint& p) {
  return {double(p.step), p.loss_d, p.loss_g, p.adversarial, p.l1, p.cycle, p.identity, p.cls_real, p.cls_fake, p.rec, p.d_real, p.d_fake};
}

constexpr int kPix2PixRows = 8, kCycleRows = 4, kStarRows = 6;

std::vector<ImageBuffer> cells_of(const torch::Tensor& images) {
  std::vector<ImageBuffer> out;
  for (int64_t i = 0; i < images.size(0); ++i) out.push_back(tensor_image(images[i]));
  return out;
}

// D's per-patch verdict spread over the pixels it judged (nearest), signed: +1 real, -1 fake.
torch::Tensor verdict_image(const torch::Tensor& verdict, int64_t size) {
  namespace F = torch::nn::functional;
  return F::interpolate(verdict, F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kNearest)) * 2 - 1;
}

}  // namespace

void record_step(std::vector<TranslateHistoryPoint>& history, const TranslateStepStats& s) {
  history.push_back({s.step, s.loss_d, s.loss_g, s.adversarial, s.l1, s.cycle, s.identity, s.cls_real, s.cls_fake, s.rec,
                     s.d_real, s.d_fake});
  thin_history(history);
}

std::string describe_step(TranslateKind kind, const TranslateStepStats& s) {
  char text[160];
  switch (kind) {
    case TranslateKind::Pix2Pix:
      snprintf(text, sizeof text, "L_D %.3f  L_G %.3f = GAN %.3f + lambda*L1 (L1 %.4f)", s.loss_d, s.loss_g, s.adversarial, s.l1);
      break;
    case TranslateKind::CycleGan:
      snprintf(text, sizeof text, "L_D %.3f  L_G %.3f: GAN %.3f  cyc %.4f  id %.4f", s.loss_d, s.loss_g, s.adversarial, s.cycle,
               s.identity);
      break;
    case TranslateKind::StarGan:
      snprintf(text, sizeof text, "L_D %.3f (cls %.3f)  L_G %.3f: GAN %.3f  cls %.3f  rec %.4f", s.loss_d, s.cls_real, s.loss_g,
               s.adversarial, s.cls_fake, s.rec);
      break;
  }
  return text;
}

std::string step_json(TranslateKind kind, const TranslateStepStats& s) {
  nlohmann::json j = {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"adversarial", s.adversarial}, {"d_real", s.d_real}, {"d_fake", s.d_fake}};
  if (kind == TranslateKind::Pix2Pix) j["l1"] = s.l1;
  if (kind == TranslateKind::CycleGan) j["cycle"] = s.cycle, j["identity"] = s.identity;
  if (kind == TranslateKind::StarGan) j["cls_real"] = s.cls_real, j["cls_fake"] = s.cls_fake, j["rec"] = s.rec;
  return j.dump();
}

std::string translate_curves_json(const std::vector<TranslateHistoryPoint>& history) {
  return nlohmann::json{{"train", curve_json(history, kColumns, row_of)}}.dump();
}

std::vector<TranslateHistoryPoint> read_translate_curves(const std::string& metadata_json) {
  nlohmann::json history = saved_history(metadata_json);
  if (!history.is_object()) return {};
  return curve_points<TranslateHistoryPoint>(history.value("train", nlohmann::json()), kColumns.size(), [](const std::vector<double>& r) {
    return TranslateHistoryPoint{int64_t(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]),  float(r[5]),
                                 float(r[6]),   float(r[7]), float(r[8]), float(r[9]), float(r[10]), float(r[11])};
  });
}

struct TranslateLab::State {
  std::unique_ptr<TranslateTrainer> trainer;
  TranslateLabView view;
  // The fixed rows: Pix2Pix's targets and inputs; one set of test images per domain otherwise.
  torch::Tensor targets, inputs;
  std::vector<torch::Tensor> domain_images;
  std::vector<int> star_sources;  // StarGAN: each row's domain
  std::unique_ptr<LoadedClassifier> classifier;  // the verdict on translations, when one fits the data

  TranslateTrainer& trainer_or_throw() {
    if (!trainer) throw std::runtime_error("no translation model yet: create or load one first");
    return *trainer;
  }

  void pick_rows() {
    TranslateTrainer& t = *trainer;
    const TranslateConfig& c = t.config();
    domain_images.clear();
    star_sources.clear();
    if (c.kind == TranslateKind::Pix2Pix) {
      std::vector<int64_t> rows;
      for (int64_t i = 0; i < std::min<int64_t>(kPix2PixRows, t.data().test.count); ++i) rows.push_back(i);
      targets = t.images(Split::Test, rows);
      inputs = seeded_task_input(c, targets, 1);
      return;
    }
    const int per_domain = c.kind == TranslateKind::CycleGan ? kCycleRows : std::max(1, kStarRows / c.domain_count());
    for (int d = 0; d < c.domain_count(); ++d) {
      // Test images of the domain, or training ones when the test split has none (a small folder).
      Split split = Split::Test;
      std::vector<int64_t> rows = t.domain_rows(split, d);
      if (rows.empty()) rows = t.domain_rows(split = Split::Train, d);
      if (int(rows.size()) > per_domain) rows.resize(size_t(per_domain));
      domain_images.push_back(rows.empty() ? torch::Tensor() : t.images(split, rows));
      for (size_t i = 0; i < rows.size(); ++i) star_sources.push_back(d);
    }
  }

  void load_classifier_for(const Dataset& data) {
    classifier.reset();
    const std::string path = find_shipped_model("classifier-fashion.safetensors");
    if (path.empty()) return;
    try {
      auto loaded = std::make_unique<LoadedClassifier>(load_classifier(path));
      const ClassifierConfig& cc = loaded->config;
      if (cc.channels == data.channels && cc.image_size == data.height && cc.classes == int(data.class_names.size()) &&
          data.spec.rfind("fashion-mnist", 0) == 0)
        classifier = std::move(loaded);
    } catch (const std::exception&) {
      // no verdicts: the views work without them
    }
  }

  // "Ankle boot 97%" for each image.
  std::vector<std::string> verdicts(const torch::Tensor& images) {
    if (!classifier) return {};
    torch::NoGradGuard no_grad;
    classifier->net->eval();
    auto p = torch::softmax(classifier->net->forward(images), 1);
    auto best = p.max(1);
    std::vector<std::string> out;
    for (int64_t i = 0; i < images.size(0); ++i) {
      const int label = int(std::get<1>(best)[i].item<int64_t>());
      char text[96];
      snprintf(text, sizeof text, "%s %.0f%%", trainer->data().class_name(label).c_str(), 100 * std::get<0>(best)[i].item<double>());
      out.push_back(text);
    }
    return out;
  }

  void refresh() {
    TranslateTrainer& t = *trainer;
    const TranslateConfig& c = t.config();
    TranslateLabView& v = view;
    v.exists = true;
    v.config = c;
    v.step = t.step();
    v.epoch = t.epoch();
    v.tables.clear();
    const int64_t size = c.height;
    if (c.kind == TranslateKind::Pix2Pix) {
      auto out = t.translate(inputs);
      auto error = (out - targets).abs();
      TranslateTable table{"test rows", {}};
      table.columns.push_back({"input x", cells_of(inputs), false, {}});
      std::vector<std::string> l1s;
      for (int64_t i = 0; i < out.size(0); ++i) {
        char text[32];
        snprintf(text, sizeof text, "L1 %.3f", error[i].mean().item<double>());
        l1s.push_back(text);
      }
      table.columns.push_back({"G(x)", cells_of(out), false, l1s});
      table.columns.push_back({"D's verdict on G(x)", cells_of(verdict_image(t.patch_verdict(inputs, out), size)), true, {}});
      table.columns.push_back({"target y", cells_of(targets), false, {}});
      table.columns.push_back({"|G(x) - y|", cells_of(error), true, {}});
      v.tables.push_back(std::move(table));
      char summary[256];
      int used = snprintf(summary, sizeof summary, "these rows: L1 %.4f  PSNR %.1f dB  SSIM %.3f", mean_l1(out, targets),
                          psnr(out, targets), ssim(out, targets));
      for (const auto& [name, baseline] : task_baselines(c, inputs, targets))
        used += snprintf(summary + used, sizeof summary - size_t(used), "  |  %s: L1 %.4f  PSNR %.1f dB", name.c_str(),
                         mean_l1(baseline, targets), psnr(baseline, targets));
      v.rows_summary = summary;
      return;
    }
    if (c.kind == TranslateKind::CycleGan) {
      for (int from = 0; from < 2; ++from) {
        const torch::Tensor& x = domain_images[size_t(from)];
        if (!x.defined()) continue;
        const int to = 1 - from;
        const std::string a = c.domain_names[size_t(from)], b = c.domain_names[size_t(to)];
        const std::string g = from == 0 ? "G" : "F", f = from == 0 ? "F" : "G";
        auto y = t.translate(x, to), back = t.translate(y, from);
        TranslateTable table{a + " -> " + b, {}};
        table.columns.push_back({"x (" + a + ")", cells_of(x), false, verdicts(x)});
        table.columns.push_back({g + "(x)", cells_of(y), false, verdicts(y)});
        table.columns.push_back({f + "(" + g + "(x))", cells_of(back), false, {}});
        table.columns.push_back({"cycle error", cells_of((back - x).abs()), true, {}});
        table.columns.push_back({"D_" + std::string(to == 1 ? "B" : "A") + " on " + g + "(x)",
                                 cells_of(verdict_image(t.patch_verdict(x, y, to), size)), true, {}});
        v.tables.push_back(std::move(table));
      }
      v.rows_summary.clear();
      return;
    }
    std::vector<torch::Tensor> present;
    for (const auto& x : domain_images)
      if (x.defined()) present.push_back(x);
    auto x = torch::cat(present);
    TranslateTable table{"each row to every domain", {}};
    std::vector<std::string> sources;
    for (int d : star_sources) sources.push_back(c.domain_names[size_t(d)]);
    table.columns.push_back({"input", cells_of(x), false, sources});
    for (int to = 0; to < c.domain_count(); ++to) {
      auto y = t.translate(x, to);
      table.columns.push_back({"to " + c.domain_names[size_t(to)], cells_of(y), false, verdicts(y)});
    }
    v.tables.push_back(std::move(table));
    v.rows_summary.clear();
  }

  void start(std::unique_ptr<TranslateTrainer> made, const std::vector<std::string>& class_names) {
    trainer = std::move(made);
    view = TranslateLabView{};
    view.id = next_stamp();
    view.class_names = class_names;
    pick_rows();
    load_classifier_for(trainer->data());
    refresh();
  }
};

TranslateLab::TranslateLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
TranslateLab::~TranslateLab() = default;

std::vector<UnsavedTraining> TranslateLab::unsaved_training() const {
  auto v = view_.get();
  return v && v->value.exists ? v->value.saved.unsaved(v->value.config.title(), v->value.step) : std::vector<UnsavedTraining>();
}

namespace {

std::shared_ptr<const Dataset> open_data(Session& session) {
  auto open = session.dataset().get();
  if (!open) throw std::runtime_error("open a data set first");
  return open->value.data;
}

void save_model(TranslateTrainer& t, const TranslateLabView& v, const std::string& path) {
  nlohmann::json metrics = nlohmann::json::object();
  if (!v.history.empty()) metrics["last"] = {{"loss_d", v.history.back().loss_d}, {"loss_g", v.history.back().loss_g}};
  t.save(path, metrics.dump(), translate_curves_json(v.history));
}

}  // namespace

void TranslateLab::new_model(const TranslateConfig& config) {
  weights_changed_ = false;  // weights set for the old model are not the new one's
  session_.worker().submit("new " + config.title(), [this, config](JobContext&) {
    auto data = open_data(session_);
    state_->start(std::make_unique<TranslateTrainer>(config, data), data->class_names);
    view_.publish(state_->view);
  });
}

void TranslateLab::load(const std::string& path) {
  weights_changed_ = false;
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    TranslateConfig config = read_translate_config(path);
    auto data = open_data(session_);
    if (data->channels != config.channels || data->height != config.height)
      throw CheckpointError(path + ": made for " + std::to_string(config.channels) + "x" + std::to_string(config.height) +
                            " images, the open data set has " + std::to_string(data->channels) + "x" + std::to_string(data->height));
    for (int d : config.domains)
      if (d >= int(data->class_names.size()))
        throw CheckpointError(path + ": translates class " + std::to_string(d) + ", the open data set has " +
                              std::to_string(data->class_names.size()) + " classes");
    auto trainer = std::make_unique<TranslateTrainer>(config, data);
    const std::string metadata = trainer->resume(path);
    State& s = *state_;
    s.start(std::move(trainer), data->class_names);
    s.view.saved.saved_at(path, s.trainer->step());
    s.view.history = read_translate_curves(metadata);
    view_.publish(s.view);
  });
}

void TranslateLab::set_loss_weights(const TranslateConfig& weights) {
  weights.validate();  // a negative or NaN weight: one line, nothing changes
  std::lock_guard<std::mutex> lock(weights_mutex_);
  weights_ = weights;
  weights_changed_ = true;
}

void TranslateLab::train(int64_t steps) {
  session_.worker().submit("train translation", [this, steps](JobContext& ctx) {
    State& s = *state_;
    TranslateTrainer& t = s.trainer_or_throw();
    const int64_t start = t.step();
    auto t0 = Clock::now(), last_publish = Clock::now();
    LabTraining run;
    run.file = translate_kind_name(t.config().kind);
    run.steps = steps;
    run.step = [&] {
      if (weights_changed_.exchange(false)) {
        std::lock_guard<std::mutex> lock(weights_mutex_);
        t.set_loss_weights(weights_);
      }
      record_step(s.view.history, t.train_step());
      auto now = Clock::now();
      if (now - last_publish > std::chrono::milliseconds(250)) {
        s.view.steps_per_s = double(t.step() - start) / std::chrono::duration<double>(now - t0).count();
        s.refresh();
        view_.publish(s.view);
        last_publish = now;
      }
    };
    run.write = [&](const std::string& path) { save_model(t, s.view, path); };
    run.saved = &s.view.saved;
    run.save_later = [this](const std::string& path) { save(path); };
    run.publish = [&] {
      s.refresh();
      view_.publish(s.view);
    };
    run_lab_training(ctx, session_, saves_, t, run);
    s.refresh();
    view_.publish(s.view);
  });
}

void TranslateLab::save(const std::string& path) {
  if (saves_.post(translate_kind_name(state_->view.config.kind), path)) return;
  session_.worker().submit("save " + path, [this, path](JobContext&) {
    State& s = *state_;
    TranslateTrainer& t = s.trainer_or_throw();
    save_as(s.view.saved, t, [&](const std::string& to) { save_model(t, s.view, to); }, path);
    view_.publish(s.view);
  });
}

uint64_t TranslateLab::draw(const ImageBuffer& input, int to, const ImageBuffer& truth) {
  return session_.worker().request("translate.draw", [this, input, to, truth](JobContext& ctx) {
    auto t0 = Clock::now();
    TranslateTrainer& t = state_->trainer_or_throw();
    const TranslateConfig& c = t.config();
    if (input.channels != c.channels || input.height != c.height || input.width != c.width_px)
      throw std::invalid_argument("the canvas is " + std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                                  std::to_string(input.width) + ", the model takes " + std::to_string(c.channels) + "x" +
                                  std::to_string(c.height) + "x" + std::to_string(c.width_px));
    auto x = image_tensor(input);
    auto y = t.translate(x, to);
    TranslateCanvasView out;
    out.request = ctx.request_stamp();
    out.input = input;
    out.output = tensor_image(y[0]);
    out.verdict = tensor_image(verdict_image(t.patch_verdict(x, y, to), c.height)[0]);
    out.truth = truth;
    out.to = to;
    if (!truth.empty() && truth.pixels.size() == input.pixels.size()) {
      auto y_true = image_tensor(truth);
      out.l1 = float(mean_l1(y, y_true));
      out.psnr = float(psnr(y, y_true));
    }
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    canvas_.publish(std::move(out));
  });
}

void TranslateLab::canvas_from_test(int64_t index) {
  session_.worker().request("translate.canvas", [this, index](JobContext&) {
    TranslateTrainer& t = state_->trainer_or_throw();
    const TranslateConfig& c = t.config();
    if (index < 0 || index >= t.data().test.count)
      throw std::invalid_argument("test image " + std::to_string(index) + " is not in 0.." + std::to_string(t.data().test.count - 1));
    auto image = t.images(Split::Test, {index});
    TranslateCanvasStart start;
    start.index = index;
    if (c.kind == TranslateKind::Pix2Pix) {
      start.input = tensor_image(seeded_task_input(c, image, uint64_t(index) + 1)[0]);
      start.truth = tensor_image(image[0]);
    } else {
      start.input = tensor_image(image[0]);
      const int label = t.data().test.labels[size_t(index)];
      for (size_t i = 0; i < c.domains.size(); ++i)
        if (c.domains[i] == label) start.domain = int(i);
    }
    canvas_start_.publish(std::move(start));
  });
}

void TranslateLab::measure(int n) {
  metrics_.publish({true, "", ""});
  session_.worker().submit("measure translation", [this, n](JobContext&) {
    try {
      TranslateTrainer& t = state_->trainer_or_throw();
      std::unique_ptr<SampleQuality> quality;
      if (state_->classifier) quality = std::make_unique<SampleQuality>(*state_->classifier, t.dataset());
      metrics_.publish({false, evaluate_translation(t, n, 1, quality.get()), ""});
    } catch (const std::exception& e) {
      metrics_.publish({false, "", e.what()});
      throw;
    }
  });
}

}  // namespace genlab
