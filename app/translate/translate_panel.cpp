#include "app/translate/translate_panel.h"

#include <imgui.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <filesystem>

#include "app/plot.h"
#include "app/save_state.h"
#include "app/widgets.h"

namespace genlab::app {

namespace {

constexpr float kCanvasSide = 224;  // 8x a 28-px image: big enough to draw on
constexpr float kCellSide = 84;     // the tables' cells: 3x
const char* const kTrainJob = "train translation";  // TranslateLab::train's job name
const ImU32 kD = IM_COL32(255, 120, 90, 255), kG = IM_COL32(90, 170, 255, 255);
const ImU32 kTermColors[] = {IM_COL32(230, 230, 230, 255), IM_COL32(120, 230, 120, 255), IM_COL32(255, 200, 80, 255),
                             IM_COL32(220, 120, 220, 255)};
const ImVec4 kWarn(1.f, .6f, .3f, 1.f);

void caption(const char* text) { ImGui::TextDisabled("%s", text); }

// Where text wraps: the visible right edge. (Wrapping at 0 in a child that scrolls sideways follows
// the content's width, which the text itself widens.)
float visible_right() {
  const ImGuiStyle& style = ImGui::GetStyle();
  return ImGui::GetScrollX() + ImGui::GetWindowWidth() - style.WindowPadding.x - style.ScrollbarSize;
}

// An error or a note on what was done to the input, in one wrapped line.
void warning(const std::string& text) {
  if (text.empty()) return;
  ImGui::PushTextWrapPos(visible_right());
  ImGui::TextColored(kWarn, "%s", text.c_str());
  ImGui::PopTextWrapPos();
}

void help_marker(const char* text) {
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  if (ImGui::IsItemHovered()) {
    ImGui::BeginTooltip();
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 24);
    ImGui::TextUnformatted(text);
    ImGui::PopTextWrapPos();
    ImGui::EndTooltip();
  }
}

int class_index(const std::vector<std::string>& names, const char* name) {
  auto at = std::find(names.begin(), names.end(), name);
  return at == names.end() ? -1 : int(at - names.begin());
}

// A loss term on the curves: which field of the history, under which name.
struct Term {
  const char* name;
  float TranslateHistoryPoint::*field;
};

std::vector<Term> terms_of(TranslateKind kind) {
  using P = TranslateHistoryPoint;
  switch (kind) {
    case TranslateKind::Pix2Pix: return {{"L_GAN", &P::adversarial}, {"L1", &P::l1}};
    case TranslateKind::CycleGan: return {{"L_GAN", &P::adversarial}, {"L_cyc", &P::cycle}, {"L_id", &P::identity}};
    case TranslateKind::StarGan:
      return {{"L_adv", &P::adversarial}, {"L_cls^r", &P::cls_real}, {"L_cls^f", &P::cls_fake}, {"L_rec", &P::rec}};
  }
  return {};
}

std::string number(const nlohmann::json& object, const char* key, const char* format, double scale = 1) {
  if (!object.contains(key) || !object[key].is_number()) return "–";
  char text[32];
  snprintf(text, sizeof text, format, object[key].get<double>() * scale);
  return text;
}

}  // namespace

// A new or loaded model: the sliders show its weights, the canvas takes its image size.
void TranslatePanel::sync_to_model(Session& session, const TranslateLabView& v) {
  TranslateLab& lab = session.lab<TranslateLab>();
  copy_loss_weights(weights_, v.config);
  weights_error_.clear();
  // A weight change sent while no training ran is still pending in the lab and would reach this
  // model at its first step: replace it with the model's own weights.
  lab.set_loss_weights(v.config);
  const TranslateConfig& c = v.config;
  const ImageBuffer& canvas = canvas_.image();
  if (canvas.channels != c.channels || canvas.height != c.height || canvas.width != c.width_px) {
    ImageBuffer blank{c.channels, c.height, c.width_px, std::vector<float>(size_t(c.channels * c.height * c.width_px), 0.f)};
    set_canvas(std::move(blank), {});
  }
  // Inpainting's input shows a hole as grey 0.5: painting makes holes for G to fill.
  canvas_.ink = c.kind == TranslateKind::Pix2Pix && c.task == PairedTask::Inpaint ? .5f : 1.f;
  to_ = 1;  // CycleGAN: A -> B
  auto start = lab.canvas_start().get();
  start_seen_ = start ? start->stamp : 0;  // a start asked of the last model is not copied
  synced_model_ = v.id;
  // A blank canvas starts from a test image (of one of the model's domains), so the first look
  // shows a translation; Clear gives the blank page back.
  if (std::all_of(canvas.pixels.begin(), canvas.pixels.end(), [](float p) { return p == 0.f; })) {
    if (auto open = session.dataset().get(); open && c.kind != TranslateKind::Pix2Pix) {
      const std::vector<int>& labels = open->value.data->test.labels;
      for (size_t i = 0; i < labels.size(); ++i)
        if (std::count(c.domains.begin(), c.domains.end(), labels[i]) > 0) {
          test_index_ = int(i);
          break;
        }
    }
    lab.canvas_from_test(test_index_);
  }
}

void TranslatePanel::set_canvas(ImageBuffer image, ImageBuffer truth) {
  canvas_.set_image(std::move(image));
  truth_ = std::move(truth);
  truth_origin_ = canvas_.origin();
}

void TranslatePanel::draw_new_model(Session& session, const TranslateLabView& v, bool training) {
  ImGui::Text("New model");
  // The domain pickers list the model's data set, or the open one before there is a model.
  auto open = session.dataset().get();
  const std::vector<std::string> none;
  const std::vector<std::string>& names = v.exists ? v.class_names : open ? open->value.data->class_names : none;
  if (names != picker_names_) {  // another data set: Fashion-MNIST's defaults, or its first classes
    picker_names_ = names;
    const int n = int(names.size());
    domain_a_ = class_index(names, "Sneaker"), domain_b_ = class_index(names, "Ankle boot");
    if (domain_a_ < 0 || domain_b_ < 0) domain_a_ = 0, domain_b_ = std::min(1, std::max(0, n - 1));
    star_domains_.assign(size_t(n), false);
    int picked = 0;
    for (const char* name : {"Sandal", "Sneaker", "Ankle boot"})
      if (int c = class_index(names, name); c >= 0) star_domains_[size_t(c)] = true, ++picked;
    if (picked < 2)
      for (int c = 0; c < std::min(n, 3); ++c) star_domains_[size_t(c)] = true;
  }
  ImGui::SetNextItemWidth(180);
  ImGui::Combo("kind", &kind_, "Pix2Pix (paired)\0CycleGAN (2 domains)\0StarGAN (K domains)\0");
  const TranslateKind kind = TranslateKind(kind_);
  const char* cannot = nullptr;  // why Create is greyed out
  if (kind == TranslateKind::Pix2Pix) {
    ImGui::SetNextItemWidth(180);
    ImGui::Combo("task", &task_, "edges → image\0super-resolution\0inpainting\0denoising\0");
    if (PairedTask(task_) == PairedTask::SuperRes) {
      const int size = open ? open->value.data->height : 28;
      for (int factor : {2, 4}) {
        char label[48];
        snprintf(label, sizeof label, "×%d (%d → %d)", factor, size / factor, size);
        if (factor == 4) ImGui::SameLine();
        ImGui::RadioButton(label, &factor_, factor);
      }
    }
  } else if (names.size() < 2) {
    cannot = "the open data set has no classes to use as domains";
  } else if (kind == TranslateKind::CycleGan) {
    class_combo("domain A", domain_a_, names, 180);
    class_combo("domain B", domain_b_, names, 180);
    if (domain_a_ == domain_b_) cannot = "pick two different domains";
  } else {
    ImGui::TextDisabled("domains");
    if (ImGui::BeginTable("star-domains", 2)) {
      for (size_t c = 0; c < names.size(); ++c) {
        ImGui::TableNextColumn();
        bool on = star_domains_[c];
        if (ImGui::Checkbox(names[c].c_str(), &on)) star_domains_[c] = on;
      }
      ImGui::EndTable();
    }
    if (std::count(star_domains_.begin(), star_domains_.end(), true) < 2) cannot = "pick at least two domains";
  }
  ImGui::Checkbox("U-Net skip connections", &skips_);
  help_marker(
      "Skips hand each encoder level's features straight to the decoder level of the same size. Without them the "
      "model is a plain encoder-decoder: all the fine detail must squeeze through the 3x3 bottleneck, so the outputs "
      "blur.");
  ImGui::SetNextItemWidth(180);
  ImGui::SliderInt("width", &width_, 8, 64);
  help_marker("Base channel count of G and D: wider learns more, trains slower.");
  ImGui::BeginDisabled(training || cannot != nullptr);
  if (ImGui::Button("Create")) {
    TranslateConfig c;
    copy_loss_weights(c, weights_);  // the sliders' weights
    c.kind = kind;
    c.task = PairedTask(task_);
    c.superres_factor = factor_;
    c.skips = skips_;
    c.width = width_;
    if (kind == TranslateKind::CycleGan) c.domains = {domain_a_, domain_b_};
    if (kind == TranslateKind::StarGan)
      for (size_t d = 0; d < star_domains_.size(); ++d)
        if (star_domains_[d]) c.domains.push_back(int(d));
    try {
      c.validate();  // a width typed out of range: one line here rather than a failed job
      session.lab<TranslateLab>().new_model(c);
      new_model_error_.clear();
    } catch (const std::invalid_argument& e) {
      new_model_error_ = e.what();
    }
  }
  ImGui::EndDisabled();
  if (cannot) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", cannot);
  } else if (training) {
    ImGui::SameLine();
    ImGui::TextDisabled("stop training first");
  }
  warning(new_model_error_);
}

void TranslatePanel::draw_weights(Session& session, const TranslateLabView& v) {
  const TranslateKind kind = v.exists ? v.config.kind : TranslateKind(kind_);
  ImGui::Text(v.exists ? "Loss weights (live)" : "Loss weights (of the new model)");
  const TranslateConfig before = weights_;  // what a refused value reverts to
  bool changed = false;
  ImGui::PushTextWrapPos(0.f);
  switch (kind) {
    case TranslateKind::Pix2Pix:
      ImGui::SetNextItemWidth(180);
      changed |= ImGui::SliderFloat("λ_L1", &weights_.lambda_l1, 0.f, 500.f, "%.1f", ImGuiSliderFlags_Logarithmic);
      caption("0: sharp but wrong (only D's judgement); large: right but blurry (the L1 mean)");
      break;
    case TranslateKind::CycleGan:
      ImGui::SetNextItemWidth(180);
      changed |= ImGui::SliderFloat("λ_cyc", &weights_.lambda_cycle, 0.f, 50.f, "%.1f");
      ImGui::SetNextItemWidth(180);
      changed |= ImGui::SliderFloat("λ_id", &weights_.lambda_identity, 0.f, 25.f, "%.1f");
      caption("λ_cyc: F(G(x)) must give x back, so G keeps what x shows; λ_id: G leaves an image of B as it is");
      break;
    case TranslateKind::StarGan:
      ImGui::SetNextItemWidth(180);
      changed |= ImGui::SliderFloat("λ_cls", &weights_.lambda_cls, 0.f, 10.f, "%.2f");
      ImGui::SetNextItemWidth(180);
      changed |= ImGui::SliderFloat("λ_rec", &weights_.lambda_rec, 0.f, 50.f, "%.1f");
      caption("λ_cls: D's class head must name the domain G was asked for; λ_rec: back to the source domain gives x");
      break;
  }
  ImGui::PopTextWrapPos();
  if (changed) {
    TranslateConfig w = v.exists ? v.config : TranslateConfig{};
    copy_loss_weights(w, weights_);
    try {
      if (v.exists) session.lab<TranslateLab>().set_loss_weights(w);
      else w.validate();
      weights_error_.clear();
    } catch (const std::invalid_argument& e) {  // a value typed with Ctrl+click: refused in one line
      weights_error_ = e.what();
      copy_loss_weights(weights_, before);
    }
  }
  warning(weights_error_);
  if (!v.exists || v.history.empty()) return;

  // The loss with its live numbers: the newest step and the weights it trained with.
  const TranslateHistoryPoint& h = v.history.back();
  const TranslateConfig& c = v.config;
  ImGui::Spacing();
  switch (kind) {
    case TranslateKind::Pix2Pix:
      ImGui::Text("L_G = L_GAN + λ·L1");
      ImGui::Text("    = %.2f + %.4g × %.3f = %.2f", h.adversarial, c.lambda_l1, h.l1, h.loss_g);
      ImGui::Text("L_D = %.3f", h.loss_d);
      ImGui::Text("D(x, y) = %.2f   D(x, G(x)) = %.2f", h.d_real, h.d_fake);
      break;
    case TranslateKind::CycleGan:
      ImGui::Text("L_G = L_GAN + λ_cyc·L_cyc + λ_id·L_id");
      ImGui::Text("    = %.2f + %.4g × %.3f + %.4g × %.3f", h.adversarial, c.lambda_cycle, h.cycle, c.lambda_identity, h.identity);
      ImGui::Text("    = %.3f", h.loss_g);
      ImGui::Text("L_D = %.3f  (LSGAN: real → 1, fake → 0)", h.loss_d);
      ImGui::Text("D on real %.2f, on translations %.2f", h.d_real, h.d_fake);
      break;
    case TranslateKind::StarGan:
      // The history keeps D's class term, not its adversarial one: that is what is left of L_D.
      ImGui::Text("L_D = L_adv + λ_cls·L_cls^r");
      ImGui::Text("    = %.3f + %.4g × %.3f = %.3f", h.loss_d - c.lambda_cls * h.cls_real, c.lambda_cls, h.cls_real, h.loss_d);
      ImGui::Text("L_G = L_adv + λ_cls·L_cls^f + λ_rec·L_rec");
      ImGui::Text("    = %.2f + %.4g × %.3f + %.4g × %.3f", h.adversarial, c.lambda_cls, h.cls_fake, c.lambda_rec, h.rec);
      ImGui::Text("    = %.3f", h.loss_g);
      break;
  }
}

void TranslatePanel::draw_controls(Session& session, const TranslateLabView& v) {
  TranslateLab& lab = session.lab<TranslateLab>();
  const bool training = session.worker().status()->value.job == kTrainJob;
  draw_new_model(session, v, training);
  ImGui::Separator();

  if (v.exists) ImGui::Text("%s%s", v.config.title().c_str(), v.config.skips ? "" : " (no skips)");
  ImGui::BeginDisabled(!v.exists || training);
  if (ImGui::Button("Train")) lab.train(0);
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::BeginDisabled(!training);
  if (ImGui::Button("Stop")) session.worker().cancel();
  ImGui::EndDisabled();
  if (v.exists)
    ImGui::TextDisabled("step %" PRId64 " · epoch %.2f · %.1f steps/s", v.step, v.epoch, v.steps_per_s);
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##translate-path", path_, sizeof path_);
  ImGui::BeginDisabled(!v.exists);
  if (ImGui::Button("Save")) lab.save(path_);  // also while training: saved between two steps
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::BeginDisabled(training);
  if (ImGui::Button("Load")) lab.load(path_);
  ImGui::EndDisabled();
  if (v.exists) draw_save_state(v.saved, v.step);
  ImGui::Separator();
  draw_weights(session, v);
}

void TranslatePanel::draw_curves(const TranslateLabView& v) {
  // One smoothed series of a history field.
  auto series = [&](const char* name, ImU32 color, float TranslateHistoryPoint::*field) {
    PlotSeries s{name, color, {}, {}};
    for (const TranslateHistoryPoint& h : v.history) {
      s.x.push_back(float(h.step));
      s.y.push_back(s.y.empty() ? h.*field : smoothing_ * s.y.back() + (1 - smoothing_) * h.*field);
    }
    return s;
  };
  std::vector<PlotSeries> terms;
  for (const Term& term : terms_of(v.config.kind))
    terms.push_back(series(term.name, kTermColors[terms.size() % 4], term.field));
  const bool pix2pix = v.config.kind == TranslateKind::Pix2Pix;
  // Three plots stacked in the column's height, under the smoothing slider.
  ImGui::SetNextItemWidth(120);
  ImGui::SliderFloat("smoothing", &smoothing_, 0.f, 0.99f, "%.2f");
  const float w = ImGui::GetContentRegionAvail().x;
  const float h = std::clamp((ImGui::GetContentRegionAvail().y - 2 * ImGui::GetStyle().ItemSpacing.y) / 3, 80.f, 160.f);
  line_plot("translate-losses", {series("L_D", kD, &TranslateHistoryPoint::loss_d), series("L_G", kG, &TranslateHistoryPoint::loss_g)},
            ImVec2(w, h));
  line_plot("translate-terms", terms, ImVec2(w, h));
  // D's mean verdict: Pix2Pix's a probability (1: real), the others' an LSGAN score (real 1, fake 0).
  line_plot("translate-d", {series(pix2pix ? "D(x, y)" : "D(real)", kD, &TranslateHistoryPoint::d_real),
                            series(pix2pix ? "D(x, G(x))" : "D(translated)", kG, &TranslateHistoryPoint::d_fake)},
            ImVec2(w, h));
}

void TranslatePanel::draw_canvas(Session& session, ImageRenderer& renderer, const TranslateLabView& v) {
  TranslateLab& lab = session.lab<TranslateLab>();
  const TranslateConfig& c = v.config;
  const bool pix2pix = c.kind == TranslateKind::Pix2Pix;
  // A test image asked for with "From test image": onto the canvas, its truth kept.
  if (auto start = lab.canvas_start().get(); start && start->stamp > start_seen_) {
    start_seen_ = start->stamp;
    const TranslateCanvasStart& s = start->value;
    if (s.input.channels == c.channels && s.input.height == c.height && s.input.width == c.width_px) {
      set_canvas(s.input, s.truth);
      canvas_note_.clear();
      if (!pix2pix && s.domain < 0) canvas_note_ = "test image #" + std::to_string(s.index) + " is of none of the model's domains";
      if (c.kind == TranslateKind::CycleGan && s.domain >= 0) to_ = 1 - s.domain;  // to the other domain
      if (c.kind == TranslateKind::StarGan && s.domain == to_) to_ = (to_ + 1) % c.domain_count();
    }
  }

  // The canvas: left paints, right erases.
  ImGui::BeginGroup();
  ImGui::TextUnformatted(pix2pix ? "input x: draw here" : "x: draw here");
  canvas_.draw(renderer, kCanvasSide, "canvas");
  ImGui::EndGroup();

  if (sweep_) {  // a scripted stroke: a short segment along a circle, a new one every frame
    const float angle = 0.15f * float(sweep_frame_++), r = 0.3f * float(c.height);
    const float cx = 0.5f * float(c.width_px), cy = 0.5f * float(c.height);
    canvas_.paint(cx + r * std::cos(angle), cy + r * std::sin(angle), cx + r * std::cos(angle + 0.15f),
                  cy + r * std::sin(angle + 0.15f), sweep_frame_ % 80 < 40 ? 1.f : 0.f);
  }
  // Newest wins in the worker, so every edit may ask; a newer G (training, a new model) redraws too.
  const bool edited = canvas_dirty_ || canvas_.stamp() != sent_stamp_;
  if (edited || v.id != drawn_model_ || v.step != drawn_step_) {
    if (edited) sent_.push_back({0, std::chrono::steady_clock::now()});
    // The truth only while the canvas descends from the picture it came with (not after Clear, nor
    // after an undo back past that picture; an undo of Clear brings it back).
    last_request_ = lab.draw(canvas_.image(), to_, canvas_.origin() == truth_origin_ ? truth_ : ImageBuffer{});
    if (edited) sent_.back().first = last_request_;
    canvas_dirty_ = false, sent_stamp_ = canvas_.stamp(), drawn_model_ = v.id, drawn_step_ = v.step;
  }

  auto answer = lab.canvas().get();
  if (answer) {
    const TranslateCanvasView& a = answer->value;
    // Latency: from the edit that asked to the first frame that draws its answer. Superseded
    // requests never get an answer and drop out here.
    while (!sent_.empty() && sent_.front().first < a.request) sent_.pop_front();
    if (!sent_.empty() && sent_.front().first == a.request) {
      latencies_ms_.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent_.front().second).count());
      sent_.pop_front();
    }
    output_image_.update(renderer, answer->stamp, a.output);
    verdict_image_.update(renderer, answer->stamp, a.verdict, ImageStyle::Signed, 1.f);
    if (!a.truth.empty()) truth_image_.update(renderer, answer->stamp, a.truth);
    ImGui::SameLine();
    ImGui::BeginGroup();
    const std::string to_name = !pix2pix && size_t(a.to) < c.domain_names.size() ? c.domain_names[size_t(a.to)] : "";
    if (pix2pix) ImGui::TextUnformatted("G(x)");
    else if (c.kind == TranslateKind::CycleGan) ImGui::Text("%s(x): to %s", a.to == 1 ? "G" : "F", to_name.c_str());
    else ImGui::Text("G(x, %s)", to_name.c_str());
    ImGui::Image(output_image_.texture_id(), ImVec2(kCanvasSide, kCanvasSide));
    if (show_verdict_ && verdict_image_.ready())
      ImGui::GetWindowDrawList()->AddImage(verdict_image_.texture_id(), ImGui::GetItemRectMin(), ImGui::GetItemRectMax(),
                                           ImVec2(0, 0), ImVec2(1, 1), IM_COL32(255, 255, 255, 100));
    ImGui::EndGroup();
    if (!a.truth.empty() && truth_image_.ready()) {
      ImGui::SameLine();
      ImGui::BeginGroup();
      ImGui::TextUnformatted("ground truth y");
      ImGui::Image(truth_image_.texture_id(), ImVec2(kCanvasSide, kCanvasSide));
      ImGui::EndGroup();
    }
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::Dummy(ImVec2(0, ImGui::GetTextLineHeight()));
    // The answer is for an older canvas while another request is on its way.
    if (a.request == last_request_) ImGui::TextDisabled("%.0f ms in the worker", a.ms);
    else ImGui::TextColored(kWarn, "updating…");
    if (!latencies_ms_.empty()) {
      std::vector<double> sorted = latencies_ms_;
      std::sort(sorted.begin(), sorted.end());
      ImGui::TextDisabled("stroke → output: median %.0f ms", sorted[sorted.size() / 2]);
    }
    if (a.l1 >= 0) {
      ImGui::Text("to the truth:");
      ImGui::Text("L1 %.3f", a.l1);
      ImGui::Text("PSNR %.1f dB", a.psnr);
    }
    ImGui::Checkbox("D's verdict over the output", &show_verdict_);
    if (show_verdict_) {
      ImGui::TextColored(ImVec4(.7f, .1f, .17f, 1), "■ D says real");
      ImGui::TextColored(ImVec4(.13f, .4f, .67f, 1), "■ D says fake");
      caption("one verdict per patch D sees");
    }
    ImGui::EndGroup();
  }

  canvas_.controls();
  ImGui::SameLine();
  caption(pix2pix && c.task == PairedTask::Inpaint ? "left: grey hole · right: black" : "left: paint · right: erase");
  help_marker("Or drop a picture on the window: it goes onto the canvas, resized to the model's images.");
  auto open = session.dataset().get();
  const int64_t tests = open ? open->value.data->test.count : 0;
  ImGui::SetNextItemWidth(110);
  ImGui::InputInt("##test-index", &test_index_);
  test_index_ = int(std::clamp<int64_t>(test_index_, 0, std::max<int64_t>(0, tests - 1)));
  ImGui::SameLine();
  if (ImGui::Button("From test image")) lab.canvas_from_test(test_index_);
  ImGui::SameLine();
  if (ImGui::Button("Next") && tests > 0) {
    // The next test image (of one of the model's domains, for CycleGAN and StarGAN).
    const std::vector<int>& labels = open->value.data->test.labels;
    for (int64_t i = 1; i <= tests; ++i) {
      const int64_t at = (test_index_ + i) % tests;
      if (pix2pix || std::count(c.domains.begin(), c.domains.end(), labels[size_t(at)]) > 0) {
        test_index_ = int(at);
        break;
      }
    }
    lab.canvas_from_test(test_index_);
  }
  if (!pix2pix) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(160);
    const char* shown = size_t(to_) < c.domain_names.size() ? c.domain_names[size_t(to_)].c_str() : "?";
    if (ImGui::BeginCombo("to domain", shown)) {
      for (int d = 0; d < c.domain_count(); ++d)
        if (ImGui::Selectable(c.domain_names[size_t(d)].c_str(), d == to_)) to_ = d, canvas_dirty_ = true;
      ImGui::EndCombo();
    }
  }
  warning(canvas_note_);
}

void TranslatePanel::draw_tables(ImageRenderer& renderer, const TranslateLabView& v, uint64_t stamp) {
  size_t count = 0;
  for (const TranslateTable& table : v.tables)
    for (const TranslateColumn& column : table.columns) count += column.cells.size();
  if (cells_.size() != count) cells_.resize(count);
  const float zoom = std::max(1.f, std::floor(kCellSide / float(std::max(1, v.config.height))));
  size_t first = 0;  // the table's first cell in cells_
  for (size_t t = 0; t < v.tables.size(); ++t) {
    const TranslateTable& table = v.tables[t];
    ImGui::PushID(int(t));
    ImGui::Text("%s", table.title.c_str());
    size_t rows = 0;
    std::vector<size_t> column_first;  // each column's first cell in cells_
    for (const TranslateColumn& column : table.columns) {
      column_first.push_back(first);
      first += column.cells.size();
      rows = std::max(rows, column.cells.size());
    }
    if (ImGui::BeginTable("table", int(table.columns.size()),
                          ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_NoHostExtendX | ImGuiTableFlags_BordersInnerV)) {
      for (const TranslateColumn& column : table.columns) ImGui::TableSetupColumn(column.title.c_str());
      ImGui::TableHeadersRow();
      for (size_t r = 0; r < rows; ++r) {
        ImGui::TableNextRow();
        for (size_t col = 0; col < table.columns.size(); ++col) {
          ImGui::TableSetColumnIndex(int(col));
          const TranslateColumn& column = table.columns[col];
          if (r >= column.cells.size()) continue;
          DisplayImage& cell = cells_[column_first[col] + r];
          // Heat: D's verdicts (+1 real, -1 fake) and errors |a - b| on the diverging map.
          cell.update(renderer, stamp, column.cells[r], column.heat ? ImageStyle::Signed : ImageStyle::Natural, 1.f);
          if (cell.ready()) ImGui::Image(cell.texture_id(), ImVec2(float(cell.width()) * zoom, float(cell.height()) * zoom));
          if (r < column.notes.size()) ImGui::TextDisabled("%s", column.notes[r].c_str());
        }
      }
      ImGui::EndTable();
    }
    ImGui::PopID();
    ImGui::Spacing();
  }
  ImGui::PushTextWrapPos(visible_right());
  if (!v.rows_summary.empty()) ImGui::TextDisabled("%s", v.rows_summary.c_str());
  caption("heat columns: D's verdict red where it says real, blue where fake; errors from white (none) to red (1)");
  ImGui::PopTextWrapPos();
}

void TranslatePanel::draw_metrics(Session& session, const TranslateLabView& v, bool training) {
  TranslateLab& lab = session.lab<TranslateLab>();
  auto metrics = lab.metrics().get();
  const bool running = metrics && metrics->value.running;
  ImGui::BeginDisabled(!v.exists || training || running);
  if (ImGui::Button("Measure test set")) lab.measure(500);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (training) caption("stop training first");
  else if (running) caption("measuring…");
  else caption(v.config.kind == TranslateKind::Pix2Pix ? "the first 500 test images, beside the task's trivial baselines"
                                                        : "up to 500 test images of each domain, to every other domain and back");
  if (!metrics || running) return;
  if (!metrics->value.error.empty()) {
    warning(metrics->value.error);
    return;
  }
  if (metrics->stamp != metrics_stamp_) {  // new figures: into rows of text once
    metrics_stamp_ = metrics->stamp;
    metrics_header_.clear(), metrics_rows_.clear(), metrics_note_.clear();
    try {
      const nlohmann::json j = nlohmann::json::parse(metrics->value.json);
      char note[160];
      if (j.contains("figures")) {
        const bool fid = j["figures"].contains("fid");
        metrics_header_ = {"", "L1 ↓", "PSNR ↑", "SSIM ↑"};
        if (fid) metrics_header_.push_back("FID-LeNet ↓");
        auto row = [&](const std::string& name, const nlohmann::json& f) {
          std::vector<std::string> cells = {name, number(f, "l1", "%.4f"), number(f, "psnr", "%.2f dB"), number(f, "ssim", "%.3f")};
          if (fid) cells.push_back(number(f, "fid", "%.2f"));
          metrics_rows_.push_back(cells);
        };
        const nlohmann::json baselines = j.value("baselines", nlohmann::json::object());
        row("Pix2Pix", j["figures"]);
        for (const auto& [name, figures] : baselines.items()) row(name, figures);
        snprintf(note, sizeof note, "%s, step %" PRId64 ", %d test images%s", j.value("title", "").c_str(), j.value("step", int64_t(0)),
                 j.value("test_images", 0), baselines.empty() ? " (no trivial baseline for this task)" : "");
      } else {
        const bool share = j.contains("mean_target_share");
        metrics_header_ = {"from → to", "images"};
        if (share) metrics_header_.push_back("target share ↑");
        metrics_header_.insert(metrics_header_.end(), {"cycle L1 ↓", "silhouette IoU ↑"});
        if (share) metrics_header_.push_back("FID-LeNet ↓");
        for (const nlohmann::json& d : j.value("directions", nlohmann::json::array())) {
          std::vector<std::string> cells = {d.value("from", "") + " → " + d.value("to", ""), number(d, "images", "%.0f")};
          if (share) cells.push_back(number(d, "target_share", "%.1f%%", 100));
          cells.push_back(number(d, "cycle_l1", "%.4f"));
          cells.push_back(number(d, "silhouette_iou", "%.3f"));
          if (share) cells.push_back(number(d, "fid", "%.2f"));
          metrics_rows_.push_back(cells);
        }
        snprintf(note, sizeof note, "%s, step %" PRId64 "%s", j.value("title", "").c_str(), j.value("step", int64_t(0)),
                 share ? ("; mean target share " + number(j, "mean_target_share", "%.1f%%", 100)).c_str() : "");
      }
      metrics_note_ = note;
    } catch (const nlohmann::json::exception& e) {
      metrics_note_ = std::string("unreadable figures: ") + e.what();
    }
  }
  ImGui::TextDisabled("%s", metrics_note_.c_str());
  if (!metrics_header_.empty() &&
      ImGui::BeginTable("translate-metrics", int(metrics_header_.size()),
                        ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_NoHostExtendX | ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg)) {
    for (const std::string& title : metrics_header_) ImGui::TableSetupColumn(title.c_str());
    ImGui::TableHeadersRow();
    for (const std::vector<std::string>& row : metrics_rows_) {
      ImGui::TableNextRow();
      for (const std::string& cell : row) {
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(cell.c_str());
      }
    }
    ImGui::EndTable();
  }
  ImGui::PushTextWrapPos(visible_right());
  if (v.config.kind == TranslateKind::Pix2Pix)
    caption("L1: mean |G(x) − y|; PSNR: 10·log10(1 / MSE); SSIM: local structure (1: the same); FID-LeNet: how far "
            "the outputs' features lie from real images'. The baselines are the trivial answers a model must beat.");
  else
    caption("target share: the outputs the Fashion-MNIST classifier calls the target class; cycle L1: |x − back(G(x))|; "
            "silhouette IoU: how much of the input's shape the output kept.");
  ImGui::PopTextWrapPos();
}

void TranslatePanel::draw(Session& session, ImageRenderer& renderer) {
  auto snapshot = session.lab<TranslateLab>().view().get();
  const TranslateLabView empty;
  const TranslateLabView& v = snapshot ? snapshot->value : empty;
  if (v.exists && v.id != synced_model_) sync_to_model(session, v);

  ImGui::BeginChild("translate-controls", ImVec2(300, 0), true);
  draw_controls(session, v);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("translate-views", ImVec2(0, 0));
  if (!v.exists) {
    ImGui::TextWrapped(
        "No image-to-image model yet. Pick a kind under \"New model\", press Create, then Train (or Load a saved one). "
        "Pix2Pix learns a paired task: with edges → image, as in the edges2cats demo, draw an outline on the canvas and "
        "watch G fill it in, stroke by stroke. CycleGAN learns to turn one class into another with no pairs "
        "(Sneaker ↔ Ankle boot), kept honest by the cycle back; StarGAN does it among several classes with one "
        "generator.");
    warning(canvas_note_);
    ImGui::EndChild();
    return;
  }
  const bool training = session.worker().status()->value.job == kTrainJob;
  if (ImGui::CollapsingHeader("Canvas", ImGuiTreeNodeFlags_DefaultOpen)) draw_canvas(session, renderer, v);
  // Below the canvas: the test rows (and the metrics) beside the loss curves, so a 1280 x 800
  // window shows the canvas, the first rows and the curves at once.
  const float height = std::max(240.f, ImGui::GetContentRegionAvail().y), curves_width = 320;
  ImGui::BeginChild("translate-rows", ImVec2(ImGui::GetContentRegionAvail().x - curves_width - 8, height), false,
                    ImGuiWindowFlags_HorizontalScrollbar);
  if (ImGui::CollapsingHeader("Test rows", ImGuiTreeNodeFlags_DefaultOpen)) draw_tables(renderer, v, snapshot->stamp);
  if (ImGui::CollapsingHeader("Metrics: the test set")) draw_metrics(session, v, training);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("translate-curves", ImVec2(0, height));
  draw_curves(v);
  ImGui::EndChild();
  ImGui::EndChild();
}

bool TranslatePanel::take_picture(Session& session, const std::string& path) {
  auto snapshot = session.lab<TranslateLab>().view().get();
  if (!snapshot || !snapshot->value.exists) {
    canvas_note_ = file_name(path) + ": create or load a model first (the canvas takes its image size)";
    return true;
  }
  const TranslateConfig& c = snapshot->value.config;
  try {
    const ImageFileShape shape = image_file_shape(path);
    ImageBuffer picture = read_image(path, c.channels, c.height);
    canvas_note_.clear();
    if (shape.width != c.width_px || shape.height != c.height || (shape.channels >= 3) != (c.channels == 3))
      canvas_note_ = file_name(path) + " is " + std::to_string(shape.width) + "x" + std::to_string(shape.height) +
                     (shape.channels >= 3 ? " colour" : " grey") + ": resized to " + std::to_string(c.width_px) + "x" +
                     std::to_string(c.height) + (c.channels == 3 ? " colour" : " grey");
    if (snapshot->value.id != synced_model_) sync_to_model(session, snapshot->value);  // before, not over, the picture
    set_canvas(std::move(picture), {});
  } catch (const std::exception& e) {  // unreadable: one line under the canvas
    canvas_note_ = e.what();
  }
  return true;
}

}  // namespace genlab::app
