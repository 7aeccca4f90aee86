#include "app/gan/gan_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "app/image_view.h"
#include "app/metrics_view.h"
#include "app/plot.h"
#include "app/save_state.h"
#include "app/widgets.h"

namespace genlab::app {

namespace {

const ImU32 kD = IM_COL32(255, 120, 90, 255), kG = IM_COL32(90, 170, 255, 255), kV = IM_COL32(230, 230, 230, 255),
            kHalf = IM_COL32(255, 255, 255, 90), kNow = IM_COL32(255, 255, 255, 255), kScrub = IM_COL32(255, 190, 60, 255);
const ImVec4 kNowText(1.f, 1.f, 1.f, 1.f), kScrubText(1.f, .75f, .24f, 1.f);
constexpr float kStyleControls = 290;  // the controls' column beside a StyleGAN view's images
constexpr int kPathLengthPaths = 2000;

// In the order of GanPanel::View.
const char* const kViewNames[] = {"samples", "fade", "style-mixing", "truncation", "noise", "z-vs-w", "path-length", "layers"};
const char* const kViewTitles[] = {"Samples", "Fade-in", "Style mixing", "Truncation ψ", "Noise", "z vs w", "Path length", "Layers"};
constexpr int kViews = int(sizeof kViewNames / sizeof kViewNames[0]);
static_assert(sizeof kViewTitles == sizeof kViewNames, "one title per view");
const char* const kMixLayers[] = {"coarse", "middle", "fine"};

void caption(const char* text) { ImGui::TextDisabled("%s", text); }

void show_fitted(DisplayImage& image, float width, float max_zoom) {
  if (!image.ready()) return;
  // Half-pixel steps: whole-pixel zoom left small grids at 1x in wide panels.
  float zoom = std::clamp(std::floor(2.f * width / float(image.width())) / 2.f, 1.f, max_zoom);
  image_view(image, zoom, zoom, zoom);
}

// The zoom, in half-pixel steps from 1x to max_zoom, at which `image` fits into width x height.
float fit_zoom(const DisplayImage& image, float width, float height, float max_zoom) {
  if (!image.ready()) return 1.f;
  const float zoom = std::min(width / float(image.width()), height / float(image.height()));
  return std::clamp(std::floor(2.f * zoom) / 2.f, 1.f, max_zoom);
}

void show_in(DisplayImage& image, float width, float height, float max_zoom) {
  float zoom = fit_zoom(image, width, height, max_zoom);
  image_view(image, zoom, zoom, zoom);
}

// The side of a progressive GAN's images at `level` (0: H/4, 1: H/2, 2: H).
int side_at(const GanConfig& c, int level) { return Growth{level, 1.f}.resolution(c.height); }

double median_of_last(const std::vector<double>& values, size_t n) {
  std::vector<double> last(values.end() - std::ptrdiff_t(std::min(n, values.size())), values.end());
  std::nth_element(last.begin(), last.begin() + std::ptrdiff_t(last.size() / 2), last.end());
  return last[last.size() / 2];
}

bool seed_input(const char* id, uint64_t& seed, float width) {
  ImGui::SetNextItemWidth(width);
  return ImGui::InputScalar(id, ImGuiDataType_U64, &seed);
}

}  // namespace

bool GanPanel::has_view(View view, GanArch arch) {
  switch (view) {
    case View::Fade: return arch == GanArch::ProGan;
    case View::Mixing: case View::Truncation: case View::Noise: case View::ZvsW: return arch == GanArch::StyleGan;
    case View::PathLength: return arch != GanArch::StyleGan;  // StyleGAN's sits under z vs w, beside w's
    case View::Samples: case View::Layers: return true;
  }
  return false;
}

bool GanPanel::Refresh::due(const GanLabView& view, uint64_t answer_stamp) const {
  if (view.id != model) return true;
  if (view.step == step) return false;
  // New weights: ask again once the last answer is in, or a second on (a failed preview publishes nothing).
  return answer_stamp > asked || std::chrono::steady_clock::now() - asked_at > std::chrono::seconds(1);
}

void GanPanel::Refresh::ask(const GanLabView& view) {
  model = view.id, step = view.step;
  asked = next_stamp(), asked_at = std::chrono::steady_clock::now();
}

void GanPanel::use_arch_defaults() {
  const bool dcgan = GanArch(arch_) == GanArch::Dcgan;
  new_config_.width = dcgan ? 64 : 32;
  lr_g_ = lr_d_ = dcgan ? 2e-4f : 1e-3f;
  new_config_.r1_gamma = default_r1_gamma(GanArch(arch_));
}

void GanPanel::select_arch(GanArch arch) {
  arch_ = int(arch);
  use_arch_defaults();
  new_config_.conditional = false;
}

GanConfig GanPanel::new_model_config() const {
  GanConfig c = new_config_;
  c.mode = mode_ == 0 ? GanMode::Images : GanMode::Toy;
  c.toy = mode_ == 2 ? ToyData::Spiral : ToyData::Ring;
  c.arch = c.mode == GanMode::Images ? GanArch(arch_) : GanArch::Dcgan;
  if (c.arch != GanArch::Dcgan) c.conditional = false;  // ProGAN and StyleGAN are unconditional here
  if (c.mode == GanMode::Toy) c.latent = 8, c.batch_size = 256, c.conditional = false;
  c.loss = GanLoss(loss_);
  c.optimizer = GanOptimizer(optimizer_);
  c.lr_g = lr_g_;
  c.lr_d = lr_d_;
  c.d_steps = d_steps_;
  return c;
}

std::vector<std::string> GanPanel::view_names() { return {kViewNames, kViewNames + kViews}; }

void GanPanel::select_view(const std::string& name) {
  for (int i = 0; i < kViews; ++i)
    if (name == kViewNames[i]) requested_view_ = View(i), view_from_flag_ = true;
}

void GanPanel::draw_new_model(Session& session) {
  ImGui::Text("New GAN");
  ImGui::SetNextItemWidth(150);
  ImGui::Combo("data", &mode_, "images (open data set)\0toy: ring of 8\0toy: spiral\0");
  if (mode_ == 0) {
    ImGui::SetNextItemWidth(150);
    if (ImGui::Combo("architecture", &arch_, "DCGAN\0ProGAN\0StyleGAN\0")) use_arch_defaults();
    const GanArch arch = GanArch(arch_);
    if (arch == GanArch::Dcgan) ImGui::Checkbox("conditional (cGAN)", &new_config_.conditional);
    ImGui::SetNextItemWidth(150);
    if (ImGui::InputInt("width (channels)", &new_config_.width, 8, 32)) new_config_.width = std::clamp(new_config_.width, 8, 512);
    if (arch == GanArch::ProGan) {
      ImGui::SetNextItemWidth(150);
      if (ImGui::InputInt("steps per stage", &new_config_.stage_steps, 100, 1000))
        new_config_.stage_steps = std::max(1, new_config_.stage_steps);
      ImGui::SetNextItemWidth(150);
      if (ImGui::InputInt("fade steps", &new_config_.fade_steps, 100, 1000))
        new_config_.fade_steps = std::max(1, new_config_.fade_steps);
      ImGui::PushTextWrapPos(0.f);
      caption("H/4, a fade to H/2, H/2, a fade to H, then H; 300 each shows the whole growth within minutes here");
      ImGui::PopTextWrapPos();
    }
    if (arch == GanArch::StyleGan) {
      ImGui::SetNextItemWidth(150);
      ImGui::SliderInt("mapping depth", &new_config_.mapping_depth, 1, 8);
      ImGui::SetNextItemWidth(150);
      ImGui::SliderInt("w size", &new_config_.w_dim, 4, 512, "%d", ImGuiSliderFlags_Logarithmic);
      ImGui::SetNextItemWidth(150);
      ImGui::SliderFloat("mixing probability", &new_config_.mixing_prob, 0.f, 1.f, "%.2f");
    }
  }
  if (ImGui::Button("New GAN")) {
    session.lab<GanLab>().new_model(new_model_config());
    timeline_index_ = -1;
  }
}

void GanPanel::draw_controls(Session& session, const GanLabView& view) {
  GanLab& gan = session.lab<GanLab>();
  draw_new_model(session);
  ImGui::Separator();

  ImGui::Text("Train");
  ImGui::BeginDisabled(!view.exists);
  const WorkerStatus status = session.worker().status()->value;
  const bool training = status.job == "train GAN";
  if (!training) {
    if (ImGui::Button("Play")) gan.train(0);
  } else if (ImGui::Button(status.state == WorkerState::Paused ? "Resume" : "Pause")) {
    session.worker().set_paused(status.state != WorkerState::Paused);
  }
  ImGui::SameLine();
  if (ImGui::Button("Stop")) session.worker().cancel();
  if (ImGui::Button("Step D")) gan.single_step(GanLab::Single::D);
  ImGui::SameLine();
  if (ImGui::Button("Step G")) gan.single_step(GanLab::Single::G);
  ImGui::SameLine();
  if (ImGui::Button("Step both")) gan.single_step(GanLab::Single::Both);
  ImGui::EndDisabled();
  ImGui::SetNextItemWidth(150);
  if (ImGui::Combo("loss (live)", &loss_, "minimax (saturating)\0non-saturating\0LSGAN\0WGAN-GP\0hinge\0"))
    gan.set_loss(GanLoss(loss_));
  ImGui::SetNextItemWidth(150);
  if (ImGui::Combo("optimizer (live)", &optimizer_, "Adam\0RMSprop\0SGD\0")) gan.set_optimizer(GanOptimizer(optimizer_));
  ImGui::SetNextItemWidth(150);
  bool lr_changed = ImGui::SliderFloat("lr G", &lr_g_, 1e-5f, 1e-2f, "%.5f", ImGuiSliderFlags_Logarithmic);
  ImGui::SetNextItemWidth(150);
  lr_changed |= ImGui::SliderFloat("lr D", &lr_d_, 1e-5f, 1e-2f, "%.5f", ImGuiSliderFlags_Logarithmic);
  if (lr_changed) gan.set_learning_rates(lr_g_, lr_d_);
  ImGui::SetNextItemWidth(150);
  if (ImGui::SliderInt("D steps per G step", &d_steps_, 1, 10)) gan.set_d_steps(d_steps_);
  ImGui::SetNextItemWidth(150);
  if (ImGui::SliderInt("slow motion (ms)", &slow_ms_, 0, 500)) gan.set_slow_motion_ms(slow_ms_);
  if (view.exists)
    ImGui::TextDisabled("step %" PRId64 " · epoch %.2f · %.1f steps/s", view.step, view.epoch, view.steps_per_s);
  ImGui::Separator();

  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##gan-path", path_, sizeof path_);
  ImGui::BeginDisabled(!view.exists);
  if (ImGui::Button("Save")) gan.save(path_);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Load")) gan.load(path_);
  draw_save_state(view.saved, view.step);
  ImGui::Separator();

  // The game with its live numbers.
  ImGui::Text("V(D,G) = E[log D(x)] + E[log(1 − D(G(z)))]");
  if (!view.history.empty()) {
    const GanHistoryPoint& h = view.history.back();
    ImGui::Text("  ≈ %.3f   (−log 4 = −1.386 at D = ½)", h.value);
    ImGui::Text("D(x) = %.2f   D(G(z)) = %.2f", h.d_real, h.d_fake);
    ImGui::Text("L_D = %.3f   L_G = %.3f", h.loss_d, h.loss_g);
  }
  ImGui::PushTextWrapPos(0.f);
  switch (GanLoss(loss_)) {
    case GanLoss::Minimax: caption("G minimises log(1 − D(G(z))): flat when D wins"); break;
    case GanLoss::NonSaturating: caption("G maximises log D(G(z)): strong gradient when D wins"); break;
    case GanLoss::LeastSquares: caption("½(D(x) − 1)² + ½D(G(z))²; G: ½(D(G(z)) − 1)²"); break;
    case GanLoss::WassersteinGP: caption("critic D(G(z)) − D(x) + λ(‖∇D(x')‖ − 1)² at x' between x and G(z); G: −D(G(z))"); break;
    case GanLoss::Hinge: caption("max(0, 1 − D(x)) + max(0, 1 + D(G(z))); G: −D(G(z))"); break;
  }
  ImGui::PopTextWrapPos();
}

void GanPanel::draw_monitor(const GanLabView& v) {
  PlotSeries ld{"L_D", kD, {}, {}}, lg{"L_G", kG, {}, {}}, value{"V(D,G)", kV, {}, {}};
  PlotSeries dx{"D(x)", kD, {}, {}}, dgz{"D(G(z))", kG, {}, {}}, half{"½", kHalf, {}, {}};
  PlotSeries gd{"|∇D|", kD, {}, {}}, gg{"|∇G|", kG, {}, {}};
  for (const GanHistoryPoint& h : v.history) {
    const float s = float(h.step);
    ld.x.push_back(s), ld.y.push_back(h.loss_d);
    lg.x.push_back(s), lg.y.push_back(h.loss_g);
    value.x.push_back(s), value.y.push_back(h.value);
    dx.x.push_back(s), dx.y.push_back(h.d_real);
    dgz.x.push_back(s), dgz.y.push_back(h.d_fake);
    gd.x.push_back(s), gd.y.push_back(h.grad_d);
    gg.x.push_back(s), gg.y.push_back(h.grad_g);
  }
  if (!v.history.empty()) {
    half.x = {float(v.history.front().step), float(v.history.back().step)};
    half.y = {0.5f, 0.5f};
  }
  // Exponential smoothing of the noisy per-step figures (the ½ line stays as it is).
  for (PlotSeries* series : {&ld, &lg, &value, &dx, &dgz, &gd, &gg})
    for (size_t i = 1; i < series->y.size(); ++i)
      series->y[i] = smoothing_ * series->y[i - 1] + (1 - smoothing_) * series->y[i];
  ImGui::SetNextItemWidth(120);
  ImGui::SliderFloat("smoothing", &smoothing_, 0.f, 0.99f, "%.2f");
  const float w = (ImGui::GetContentRegionAvail().x - 16) / 3;
  line_plot("losses", {ld, lg, value}, ImVec2(w, 150));
  ImGui::SameLine();
  line_plot("d-out", {dx, dgz, half}, ImVec2(w, 150));
  ImGui::SameLine();
  line_plot("grads", {gd, gg}, ImVec2(w, 150));

  // The mode-collapse meter.
  if (v.modes_covered >= 0) {
    ImGui::Text("modes covered: %d / %d", v.modes_covered, v.modes_total);
  } else if (v.real_diversity > 0) {
    float ratio = v.diversity / v.real_diversity;
    ImGui::Text("sample diversity: %.2f × that of real images", ratio);
    ImGui::SameLine();
    ImGui::ProgressBar(std::min(1.f, ratio), ImVec2(160, 0), "");
  }
  if (v.collapse_warning) {
    ImGui::SameLine();
    ImGui::TextColored(ImVec4(1.f, .45f, .35f, 1.f), "mode collapse: G covers only part of the data");
  }
}

void GanPanel::draw_images(Session& session, ImageRenderer& renderer, const GanLabView& v, uint64_t stamp) {
  const float half = (ImGui::GetContentRegionAvail().x - 8) / 2;
  ImGui::BeginGroup();
  const int last = int(v.timeline.size()) - 1;
  ImGui::SetNextItemWidth(half - 120);
  int shown = timeline_index_ < 0 ? last : std::min(timeline_index_, last);
  if (ImGui::SliderInt("timeline", &shown, 0, std::max(0, last))) timeline_index_ = shown >= last ? -1 : shown;
  const bool live = timeline_index_ < 0;
  const ImageGrid& grid = live || last < 0 ? v.samples : *v.timeline[size_t(shown)].samples;
  const int64_t grid_step = live || last < 0 ? v.step : v.timeline[size_t(shown)].step;
  ImGui::Text("fixed noise z through G at step %" PRId64 "%s", grid_step, live ? " (live)" : "");
  if (v.config.conditional) caption("row r asks for class r");
  if (v.config.g_ema > 0)
    ImGui::TextDisabled("drawn by the average of G's weights (decay %.3f), not the live G", v.config.g_ema);
  samples_.update(renderer, live ? stamp : stamp * 1024 + uint64_t(shown), grid.image);
  show_fitted(samples_, half, 6);
  ImGui::EndGroup();
  ImGui::SameLine();

  ImGui::BeginGroup();
  ImGui::Text("Explore seeds");
  bool changed = false;
  for (int i = 0; i < 4; ++i) {
    ImGui::SetNextItemWidth(70);
    char label[16];
    snprintf(label, sizeof label, "##seed%d", i);
    changed |= ImGui::InputInt(label, &seeds_[i], 0);
    if (i < 3) ImGui::SameLine();
  }
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("steps", &explore_steps_, 2, 12);
  ImGui::SameLine();
  changed |= ImGui::Checkbox("slerp", &slerp_);
  if (v.config.conditional) changed |= class_combo(session, "class", explore_label_);
  if (changed || explored_for_ != v.id + uint64_t(v.step)) {
    session.lab<GanLab>().explore(uint64_t(seeds_[0]), uint64_t(seeds_[1]), uint64_t(seeds_[2]), uint64_t(seeds_[3]),
                          explore_steps_, slerp_, explore_label_);
    explored_for_ = v.id + uint64_t(v.step);
  }
  auto explored = session.lab<GanLab>().exploration().get();
  if (explored) {
    caption("seed 1 → seed 2");
    strip_.update(renderer, explored->stamp, explored->value.strip.image);
    show_fitted(strip_, half, 4);
    caption("the four seeds at the corners, blended");
    seed_grid_.update(renderer, explored->stamp, explored->value.seed_grid.image);
    show_fitted(seed_grid_, std::min(half, ImGui::GetContentRegionAvail().y), 4);
  }
  ImGui::EndGroup();
}

void GanPanel::draw_toy(ImageRenderer& renderer, const GanLabView& v, uint64_t stamp) {
  const int last = int(v.timeline.size()) - 1;
  ImGui::SetNextItemWidth(300);
  int shown = timeline_index_ < 0 ? last : std::min(timeline_index_, last);
  if (ImGui::SliderInt("timeline (D's surface)", &shown, 0, std::max(0, last))) timeline_index_ = shown >= last ? -1 : shown;
  const bool live = timeline_index_ < 0 || last < 0;
  const ImageBuffer& surface = live ? v.surface : v.timeline[size_t(shown)].samples->image;
  // D's output as a diverging map around ½: red where D says real, blue where it says fake.
  ImageBuffer centred = surface;
  for (float& p : centred.pixels) p -= 0.5f;
  surface_.update(renderer, live ? stamp : stamp * 1024 + uint64_t(shown), centred, ImageStyle::Signed, 0.5f);
  float side = std::min(ImGui::GetContentRegionAvail().x - 200, ImGui::GetContentRegionAvail().y - 8);
  ImVec2 origin = ImGui::GetCursorScreenPos();
  float zoom = side / float(std::max(1, surface_.width()));
  image_view(surface_, zoom, zoom, zoom);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  auto to_screen = [&](float x, float y) {
    return ImVec2(origin.x + (x / v.extent * 0.5f + 0.5f) * side, origin.y + (0.5f - y / v.extent * 0.5f) * side);
  };
  for (size_t i = 0; i + 1 < v.real_xy.size(); i += 2)
    draw->AddCircleFilled(to_screen(v.real_xy[i], v.real_xy[i + 1]), 2.f, IM_COL32(40, 40, 40, 200), 6);
  if (live)
    for (size_t i = 0; i + 1 < v.fake_xy.size(); i += 2)
      draw->AddCircleFilled(to_screen(v.fake_xy[i], v.fake_xy[i + 1]), 2.5f, IM_COL32(20, 170, 60, 255), 6);
  ImGui::SameLine();
  ImGui::BeginGroup();
  ImGui::TextColored(ImVec4(.08f, .67f, .24f, 1), "● G(z), generated");
  ImGui::TextColored(ImVec4(.6f, .6f, .6f, 1), "● real data");
  ImGui::TextColored(ImVec4(.7f, .1f, .17f, 1), "■ D says real");
  ImGui::TextColored(ImVec4(.13f, .4f, .67f, 1), "■ D says fake");
  caption("white: D = ½, undecided");
  ImGui::EndGroup();
}

void GanPanel::draw_metrics(Session& session, const GanLabView& v) {
  if (v.config.mode != GanMode::Images) {  // greyed out, with the reason
    draw_quality_controls(quality_controls_, session.worker(), false, "the toy GAN draws 2-D points: no images to score");
    return;
  }
  ImGui::BeginGroup();
  if (draw_quality_controls(quality_controls_, session.worker(), false))
    session.lab<GanLab>().measure_quality(quality_controls_.options());
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + 260);
  caption(v.config.conditional ? "G(z, c) for fresh z, asking for each class in turn, scored against the test images"
                               : "G(z) for fresh z, scored against the test images");
  ImGui::PopTextWrapPos();
  ImGui::EndGroup();
  ImGui::SameLine(0, 16);
  ImGui::BeginGroup();
  auto open = session.dataset().get();
  const std::vector<std::string> no_names;
  auto quality = session.lab<GanLab>().quality().get();
  draw_quality(quality ? &quality->value : nullptr, open ? open->value.data->class_names : no_names);
  ImGui::EndGroup();
}

bool GanPanel::class_combo(Session& session, const char* label, int& value) {
  auto open = session.dataset().get();
  return open && app::class_combo(label, value, open->value.data->class_names);
}

void GanPanel::draw_view_tabs(const GanLabView& v) {
  const GanArch arch = v.config.arch;
  if (ImGui::BeginTabBar("gan-view-tabs")) {
    bool requested_shown = false;
    for (int i = 0; i < kViews; ++i) {
      if (!has_view(View(i), arch)) continue;
      const bool select = view_from_flag_ && requested_view_ == View(i);
      requested_shown |= select;
      if (ImGui::BeginTabItem(kViewTitles[i], nullptr, select ? ImGuiTabItemFlags_SetSelected : 0)) {
        view_ = View(i);
        ImGui::EndTabItem();
      }
    }
    // A view asked for at start waits for a model that has it (a shipped cGAN opens before a new StyleGAN).
    if (requested_shown) view_from_flag_ = false;
    ImGui::EndTabBar();
  }
  if (!has_view(view_, arch)) view_ = View::Samples;  // the frame the model changed, before its tabs settle
}

void GanPanel::draw_growth(const GanLabView& v) {
  const GanConfig& c = v.config;
  const Growth& g = v.growth;
  const int64_t s = c.stage_steps, f = c.fade_steps, grown = 2 * (s + f);
  const int now = side_at(c, g.level);
  if (g.fading()) {
    const int old = side_at(c, g.level - 1);
    ImGui::Text("stage: %d×%d, fading in %d×%d, α = %.2f", old, old, now, now, g.alpha);
  } else if (g.level < 2) {
    const int next = side_at(c, g.level + 1);
    ImGui::Text("stage: %d×%d; the fade to %d×%d starts at step %" PRId64, now, now, next, next, g.level == 0 ? s : 2 * s + f);
  } else {
    ImGui::Text("stage: %d×%d, fully grown", now, now);
  }

  // The growth as a bar over the steps: stable stages in one colour per size, fades as gradients.
  const int64_t end = std::max({v.step, grown, int64_t(1)});
  struct Segment {
    int64_t from, to;
    int level;
    bool fade;
  };
  const Segment segments[] = {{0, s, 0, false},         {s, s + f, 1, true},   {s + f, 2 * s + f, 1, false},
                              {2 * s + f, grown, 2, true}, {grown, end, 2, false}};
  const ImU32 colors[] = {IM_COL32(55, 75, 125, 255), IM_COL32(65, 115, 175, 255), IM_COL32(85, 160, 220, 255)};
  const float width = ImGui::GetContentRegionAvail().x, bar = 20;
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("growth", ImVec2(width, bar + 8));
  ImDrawList* draw = ImGui::GetWindowDrawList();
  auto x_of = [&](int64_t step) { return origin.x + width * float(double(step) / double(end)); };
  for (const Segment& seg : segments) {
    if (seg.to <= seg.from) continue;
    const ImVec2 a(x_of(seg.from), origin.y), b(x_of(seg.to), origin.y + bar);
    if (seg.fade) {
      const ImU32 before = colors[seg.level - 1], after = colors[seg.level];
      draw->AddRectFilledMultiColor(a, b, before, after, after, before);
    } else {
      draw->AddRectFilled(a, b, colors[seg.level]);
    }
    draw->AddLine(ImVec2(a.x, a.y), ImVec2(a.x, b.y), IM_COL32(20, 20, 25, 255));
    char label[32];
    if (seg.fade) snprintf(label, sizeof label, "fade → %d", side_at(c, seg.level));
    else snprintf(label, sizeof label, "%d", side_at(c, seg.level));
    const ImVec2 size = ImGui::CalcTextSize(label);
    if (size.x + 4 < b.x - a.x)
      draw->AddText(ImVec2((a.x + b.x - size.x) / 2, origin.y + (bar - size.y) / 2), IM_COL32(240, 240, 240, 255), label);
  }
  auto marker = [&](int64_t step, ImU32 color) {
    const float x = x_of(step);
    draw->AddLine(ImVec2(x, origin.y - 2), ImVec2(x, origin.y + bar), color, 2.f);
    draw->AddTriangleFilled(ImVec2(x - 4, origin.y + bar + 7), ImVec2(x + 4, origin.y + bar + 7), ImVec2(x, origin.y + bar + 1),
                            color);
  };
  const bool scrubbed = timeline_index_ >= 0 && size_t(timeline_index_) < v.timeline.size();
  if (scrubbed) marker(v.timeline[size_t(timeline_index_)].step, kScrub);
  marker(v.step, kNow);
  if (ImGui::IsItemHovered()) {
    const int64_t at = std::clamp(int64_t(double(ImGui::GetIO().MousePos.x - origin.x) / width * double(end)), int64_t(0), end);
    const Growth there = c.growth_at(at);
    const int side = side_at(c, there.level);
    if (there.fading()) ImGui::SetTooltip("step %" PRId64 ": fading in %d×%d, α = %.2f", at, side, side, there.alpha);
    else ImGui::SetTooltip("step %" PRId64 ": %d×%d", at, side, side);
  }
  ImGui::TextColored(kNowText, "▲ now, step %" PRId64, v.step);
  if (scrubbed) {
    ImGui::SameLine(0, 16);
    ImGui::TextColored(kScrubText, "▲ the samples' timeline, step %" PRId64, v.timeline[size_t(timeline_index_)].step);
  }
  ImGui::SameLine(0, 16);
  ImGui::TextDisabled("steps 0 … %" PRId64, end);
}

void GanPanel::draw_fade(ImageRenderer& renderer, const GanLabView& v, uint64_t stamp) {
  const GanConfig& c = v.config;
  const Growth& g = v.growth;
  const float a = g.alpha;
  if (g.fading()) {
    const int side = side_at(c, g.level);
    ImGui::Text("x = (1 − α)·up(rgb_old) + α·rgb_new = %.2f·up(rgb_old) + %.2f·rgb_new", 1 - a, a);
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextDisabled(
        "%d×%d fades in over %d steps: α rises from 0 to 1, so the new block takes over from the old to-RGB "
        "gradually instead of disturbing the trained layers at once",
        side, side, c.fade_steps);
    ImGui::PopTextWrapPos();
  } else {
    ImGui::Text("x = (1 − α)·up(rgb_old) + α·rgb_new, α = 1: x = rgb_new");
    const int64_t s = c.stage_steps, f = c.fade_steps;
    const int64_t next = v.step < s ? s : v.step >= s + f && v.step < 2 * s + f ? 2 * s + f : -1;
    if (next >= 0) {
      const int side = side_at(c, g.level + 1);
      ImGui::TextDisabled("Not fading now: the three rows are equal. The fade to %d×%d starts at step %" PRId64 ".", side,
                          side, next);
    } else {
      caption("Fully grown: no fades left, the three rows are equal.");
    }
  }
  fade_old_.update(renderer, stamp, v.fade_old.image);
  fade_new_.update(renderer, stamp, v.fade_new.image);
  fade_blended_.update(renderer, stamp, v.fade_blended.image);
  // Three rows, each caption beside its strip, so a sample reads down its column across the paths.
  constexpr float kCaption = 250;
  const float room = std::max(60.f, ImGui::GetContentRegionAvail().y / 3 - ImGui::GetStyle().ItemSpacing.y);
  float zoom = fit_zoom(fade_old_, ImGui::GetContentRegionAvail().x - kCaption - 8, room, 4);
  char old_caption[96], new_caption[64];
  snprintf(old_caption, sizeof old_caption, "old path: to-RGB at the previous size, upsampled — weight 1−α = %.2f", 1 - a);
  snprintf(new_caption, sizeof new_caption, "new block's output — weight α = %.2f", a);
  const std::pair<const char*, DisplayImage*> rows[] = {
      {old_caption, &fade_old_}, {new_caption, &fade_new_}, {"blend that G draws", &fade_blended_}};
  for (const auto& [text, image] : rows) {
    ImGui::BeginGroup();
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + kCaption);
    caption(text);
    ImGui::PopTextWrapPos();
    ImGui::Dummy(ImVec2(kCaption, 0));
    ImGui::EndGroup();
    ImGui::SameLine(0, 8);
    image_view(*image, zoom, zoom, zoom);
  }
}

void GanPanel::draw_style(Session& session, ImageRenderer& renderer, const GanLabView& v) {
  GanLab& gan = session.lab<GanLab>();
  auto snapshot = gan.style().get();
  // Redraw latency: from the frame a control changed to the first frame that draws the views it
  // asked for. Superseded requests never get an answer and drop out with the next match.
  if (snapshot && snapshot->stamp != style_seen_) {
    style_seen_ = snapshot->stamp;
    auto match = std::find_if(style_sent_.begin(), style_sent_.end(),
                              [&](const auto& sent) { return sent.first == snapshot->value.request; });
    if (match != style_sent_.end()) {
      style_latencies_ms_.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - match->second).count());
      style_sent_.erase(style_sent_.begin(), match + 1);
    }
  }
  if (snapshot) {
    const bool current = snapshot->value.request == style_;
    ImGui::TextDisabled("%.0f ms in the worker for all the StyleGAN views%s", snapshot->value.ms,
                        current ? "" : " · updating…");
    if (!style_latencies_ms_.empty()) {
      ImGui::SameLine();
      const size_t n = std::min<size_t>(20, style_latencies_ms_.size());
      ImGui::TextDisabled("· control → redraw: median %.0f ms over the last %zu changes",
                          median_of_last(style_latencies_ms_, n), n);
    }
  } else {
    caption("waiting for the first StyleGAN views…");
  }
  const Snapshot<StyleView>* style = snapshot.get();
  switch (view_) {
    case View::Mixing: draw_mixing(renderer, v.config, style); break;
    case View::Truncation: draw_truncation(renderer, style); break;
    case View::Noise: draw_noise(renderer, v.config, style); break;
    case View::ZvsW: draw_z_vs_w(session, renderer, v, style); break;
    default: break;
  }
  // Every control change asks at once (the newest wins in the worker); new weights ask again.
  const bool changed = style_asked_ && *style_asked_ != style_;
  if (changed || !style_asked_ || style_refresh_.due(v, snapshot ? snapshot->stamp : 0)) {
    gan.explore_style(style_);
    if (changed) {
      style_sent_.emplace_back(style_, std::chrono::steady_clock::now());
      if (style_sent_.size() > 64) style_sent_.pop_front();
    }
    style_asked_ = style_;
    style_refresh_.ask(v);
  }
}

void GanPanel::draw_mixing(ImageRenderer& renderer, const GanConfig& c, const Snapshot<StyleView>* style) {
  ImGui::BeginGroup();
  ImGui::PushItemWidth(kStyleControls);
  ImGui::Text("B's styles at the");
  int mix = 0;
  for (int i = 0; i < 3; ++i)
    if (style_.mix_layers == kMixLayers[i]) mix = i;
  for (int i = 0; i < 3; ++i) {
    const int side = side_at(c, i);
    char label[64];
    snprintf(label, sizeof label, "%s layers (%d×%d)", kMixLayers[i], side, side);
    if (ImGui::RadioButton(label, mix == i)) style_.mix_layers = kMixLayers[i], mix = i;
  }
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + kStyleControls);
  static const char* const kTakes[] = {
      "coarse: B sets the overall shape and layout (which garment, its silhouette, its pose); A keeps its details "
      "and shading",
      "middle: B brings the mid-scale features (parts, proportions, patterns); A keeps its overall shape",
      "fine: B brings only fine texture and contrast; the image stays A's"};
  caption(kTakes[mix]);
  ImGui::PopTextWrapPos();
  ImGui::Spacing();
  for (auto* sources : {&style_.sources_a, &style_.sources_b}) {
    ImGui::PushID(sources);
    ImGui::Text(sources == &style_.sources_a ? "sources A (rows)" : "sources B (columns)");
    for (size_t i = 0; i < sources->size(); ++i) {
      if (i > 0) ImGui::SameLine(0, 4);
      ImGui::PushID(int(i));
      seed_input("##seed", (*sources)[i], 52);
      ImGui::PopID();
    }
    ImGui::PopID();
  }
  if (ImGui::Button("randomise seeds")) {
    for (uint64_t& seed : style_.sources_a) seed = 1 + seed_rng_() % 99999;
    for (uint64_t& seed : style_.sources_b) seed = 1 + seed_rng_() % 99999;
  }
  ImGui::TextDisabled("ψ = %.2f (the Truncation ψ tab)", style_.psi);
  ImGui::PopItemWidth();
  ImGui::EndGroup();
  if (!style) return;
  ImGui::SameLine(0, 16);
  ImGui::BeginGroup();
  mixing_.update(renderer, style->stamp, style->value.mixing.image);
  show_in(mixing_, ImGui::GetContentRegionAvail().x, ImGui::GetContentRegionAvail().y - 2 * ImGui::GetTextLineHeightWithSpacing(), 6);
  ImGui::TextDisabled("top row: B · left column: A · inside: A with B's styles at the %s layers",
                      style->value.request.mix_layers.c_str());
  ImGui::EndGroup();
}

void GanPanel::draw_truncation(ImageRenderer& renderer, const Snapshot<StyleView>* style) {
  ImGui::BeginGroup();
  ImGui::SetNextItemWidth(kStyleControls - 30);
  if (ImGui::SliderFloat("ψ", &psi_, -1.f, 1.f, "%.2f", ImGuiSliderFlags_AlwaysClamp)) style_.psi = psi_;
  if (ImGui::Button("ψ = 1: off")) psi_ = 1.f, style_.psi = 1.0;
  ImGui::SameLine();
  if (ImGui::Button("ψ = 0.7")) psi_ = .7f, style_.psi = double(psi_);
  ImGui::Text("w' = w̄ + ψ(w − w̄)");
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + kStyleControls);
  caption("ψ < 1 pulls every w toward the average w̄: cleaner, more typical images, less variety. ψ = 0 gives "
          "everyone w̄; below 0, w crosses to the opposite side of the average. The mixing grid and the layer "
          "view use ψ too.");
  ImGui::PopTextWrapPos();
  if (style) {
    mean_image_.update(renderer, style->stamp, style->value.mean_image);
    float zoom = 4;
    image_view(mean_image_, zoom, zoom, zoom);
    caption("w̄ (ψ = 0): the average style");
  }
  ImGui::EndGroup();
  if (!style) return;
  ImGui::SameLine(0, 16);
  ImGui::BeginGroup();
  caption("the first source A at ψ = 1 … −1");
  const ImageGrid& grid = style->value.truncation;
  truncation_.update(renderer, style->stamp, grid.image);
  float zoom = fit_zoom(truncation_, ImGui::GetContentRegionAvail().x, ImGui::GetContentRegionAvail().y - 40, 6);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  image_view(truncation_, zoom, zoom, zoom);
  const float y = ImGui::GetCursorScreenPos().y;
  const std::vector<double>& psis = style->value.truncation_psi;
  for (int i = 0; i < int(psis.size()) && i < grid.cols; ++i) {
    char label[16];
    snprintf(label, sizeof label, "%g", psis[size_t(i)]);
    const float cell = float(grid.cell_w) * zoom, width = ImGui::CalcTextSize(label).x;
    if (width > cell) break;
    const float x = origin.x + (float(grid.pad + i * (grid.cell_w + grid.pad)) + float(grid.cell_w) / 2) * zoom;
    ImGui::GetWindowDrawList()->AddText(ImVec2(x - width / 2, y), IM_COL32(200, 200, 200, 255), label);
  }
  ImGui::Dummy(ImVec2(0, ImGui::GetTextLineHeight()));
  ImGui::EndGroup();
}

void GanPanel::draw_noise(ImageRenderer& renderer, const GanConfig& c, const Snapshot<StyleView>* style) {
  ImGui::BeginGroup();
  ImGui::Text("noise per layer (off: zero noise)");
  const std::vector<float>* strengths = style ? &style->value.noise_strengths : nullptr;
  for (int layer = 0; layer < int(style_.noise_on.size()); ++layer) {
    const int side = side_at(c, std::min(2, layer / 2));
    char label[48];
    snprintf(label, sizeof label, "layer %d (%d×%d)", layer, side, side);
    bool on = style_.noise_on[size_t(layer)];
    if (ImGui::Checkbox(label, &on)) style_.noise_on[size_t(layer)] = on;
    if (strengths && size_t(layer) < strengths->size()) {
      ImGui::SameLine(170);
      ImGui::TextDisabled("strength %.3f", (*strengths)[size_t(layer)]);
    }
  }
  seed_input("image seed##noise", style_.noise_seed, 80);
  ImGui::SameLine();
  if (ImGui::Button("resample")) ++style_.noise_draw;
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + kStyleControls);
  caption("StyleGAN adds fresh per-pixel noise after each convolution, scaled per layer by a learned strength: the "
          "stochastic details change from draw to draw, what the image shows does not.");
  ImGui::PopTextWrapPos();
  ImGui::EndGroup();
  if (!style) return;
  ImGui::SameLine(0, 16);
  ImGui::BeginGroup();
  const StyleView& s = style->value;
  ImGui::TextDisabled("one w under 8 noise draws (draw %" PRIu64 ")", s.request.noise_draw);
  noise_draws_.update(renderer, style->stamp, s.noise_draws.image);
  show_fitted(noise_draws_, ImGui::GetContentRegionAvail().x, 4);
  // σ on the diverging map's warm half: white where the draws agree, red at the largest spread.
  noise_std_.update(renderer, style->stamp, s.noise_std, ImageStyle::Signed, std::max(s.noise_std_max, 1e-6f));
  float zoom = 6;
  image_view(noise_std_, zoom, zoom, zoom);
  ImGui::SameLine();
  ImGui::BeginGroup();
  ImGui::Text("per-pixel σ over 32 draws");
  ImGui::Text("max σ = %.4f", s.noise_std_max);
  caption("white: the draws agree · red: max σ");
  ImGui::EndGroup();
  ImGui::EndGroup();
}

void GanPanel::draw_z_vs_w(Session& session, ImageRenderer& renderer, const GanLabView& v, const Snapshot<StyleView>* style) {
  ImGui::BeginGroup();
  ImGui::Text("from");
  ImGui::SameLine();
  seed_input("##path-a", style_.path_a, 70);
  ImGui::SameLine();
  ImGui::Text("to");
  ImGui::SameLine();
  seed_input("##path-b", style_.path_b, 70);
  ImGui::SetNextItemWidth(150);
  ImGui::SliderInt("steps##path", &style_.path_steps, 2, 16);
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + kStyleControls);
  caption("z is drawn from a fixed Gaussian, so the mapping network has to warp it to fit the data; w is that "
          "learned space. Equal steps in w tend to change the image evenly, equal steps in z less so.");
  ImGui::PopTextWrapPos();
  ImGui::EndGroup();
  if (style) {
    ImGui::SameLine(0, 16);
    ImGui::BeginGroup();
    const float width = ImGui::GetContentRegionAvail().x;
    caption("slerp in z, then the mapping");
    z_path_.update(renderer, style->stamp, style->value.z_path.image);
    show_fitted(z_path_, width, 5);
    caption("lerp in w");
    w_path_.update(renderer, style->stamp, style->value.w_path.image);
    show_fitted(w_path_, width, 5);
    ImGui::EndGroup();
  }
  ImGui::Separator();
  draw_path_length(session, v);
}

void GanPanel::draw_path_length(Session& session, const GanLabView& v) {
  const WorkerStatus status = session.worker().status()->value;
  const bool measuring = status.job.rfind("measure", 0) == 0;
  const bool style = v.config.arch == GanArch::StyleGan;
  ImGui::BeginDisabled(measuring);
  if (ImGui::Button("Measure path length")) session.lab<GanLab>().measure_path_length("", kPathLengthPaths);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (measuring) {
    if (ImGui::Button("Stop")) session.worker().cancel();
    ImGui::SameLine();
    caption("measuring: the status bar shows how far");
  } else if (status.state != WorkerState::Idle) {
    ImGui::TextDisabled("waits for \"%s\" to end", status.job.c_str());
  } else {
    ImGui::TextDisabled("%d random paths%s, scored by the shipped classifier", kPathLengthPaths,
                        style ? " in z and in w" : " in z");
  }
  auto snapshot = session.lab<GanLab>().path_length().get();
  const PathLengthView* p = snapshot && snapshot->stamp > path_length_after_ ? &snapshot->value : nullptr;
  const bool has_w = p && p->w >= 0;
  if (p && p->z >= 0) {
    if (has_w)
      ImGui::Text("PPL in z: %.1f, in w: %.1f, over %d paths at step %" PRId64, p->z, p->w, p->paths, p->step);
    else
      ImGui::Text("PPL in z: %.1f, over %d paths at step %" PRId64, p->z, p->paths, p->step);
    if (p->step != v.step) {
      ImGui::SameLine();
      ImGui::TextDisabled("(the model is at step %" PRId64 " now)", v.step);
    }
  }
  ImGui::PushTextWrapPos(0.f);
  caption("Perceptual path length (StyleGAN, section 3): how far G's image moves in the FID-LeNet classifier's "
          "feature space per small step along random latent paths (the squared distance over ε², the 1 % tails "
          "dropped, the mean). Lower: a smoother latent space.");
  if (style) {
    ImGui::TextUnformatted("The StyleGAN paper reports W smoother than Z: a lower path length in w.");
    if (!has_w) ImGui::TextUnformatted("Here: measure to see.");
    else if (p->w < p->z) ImGui::Text("Here it holds: %.1f in w < %.1f in z.", p->w, p->z);
    else ImGui::Text("Here it does not hold (yet): %.1f in w ≥ %.1f in z.", p->w, p->z);
  }
  ImGui::PopTextWrapPos();
}

void GanPanel::draw_layers(Session& session, ImageRenderer& renderer, const GanLabView& v) {
  GanLab& gan = session.lab<GanLab>();
  const bool style = v.config.arch == GanArch::StyleGan;
  ImGui::Text("z of seed");
  ImGui::SameLine();
  seed_input("##layer-seed", layer_seed_, 80);
  if (v.config.conditional) {
    ImGui::SameLine();
    class_combo(session, "class##layers", layer_label_);
  }
  if (style) {
    ImGui::SameLine();
    ImGui::TextDisabled("ψ = %.2f (the Truncation ψ tab)", psi_);
  }
  auto snapshot = gan.layers().get();
  draw_layer_view(layer_, renderer, snapshot.get());
  // Any change of seed, layer, class or ψ asks at once; new weights ask again.
  const LayerRequest request{layer_seed_, layer_.layer, layer_label_, style ? double(psi_) : 1.0};
  const bool changed = !layer_asked_ || *layer_asked_ != request;
  if (changed || layer_refresh_.due(v, snapshot ? snapshot->stamp : 0)) {
    gan.inspect_layers(request);
    layer_asked_ = request;
    layer_refresh_.ask(v);
  }
}

void GanPanel::draw(Session& session, ImageRenderer& renderer) {
  auto snapshot = session.lab<GanLab>().view().get();
  GanLabView empty;
  const GanLabView& v = snapshot ? snapshot->value : empty;
  if (v.exists && v.id != synced_model_) {  // a new or loaded model: the controls show its settings
    loss_ = int(v.config.loss);
    optimizer_ = int(v.config.optimizer);
    lr_g_ = v.config.lr_g;
    lr_d_ = v.config.lr_d;
    d_steps_ = v.config.d_steps;
    // New GAN starts from the open model's architecture and settings.
    new_config_ = v.config;
    arch_ = int(v.config.arch);
    mode_ = v.config.mode == GanMode::Images ? 0 : v.config.toy == ToyData::Spiral ? 2 : 1;
    timeline_index_ = -1;
    layer_.layer = -1;  // another model's layers
    path_length_after_ = snapshot->stamp;
    synced_model_ = v.id;
  }
  ImGui::BeginChild("gan-controls", ImVec2(320, 0), true);
  draw_controls(session, v);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("gan-views", ImVec2(0, 0));
  if (!v.exists) {
    ImGui::TextWrapped(
        "No GAN yet. Pick images (the open data set: DCGAN, optionally class-conditional, ProGAN or StyleGAN) or "
        "a 2-D toy, and press \"New GAN\", then \"Play\". The generator G counterfeits, the discriminator D "
        "polices: watch D(x) and D(G(z)) approach ½, switch the loss mid-run, and see mode collapse on the ring "
        "of 8 Gaussians; watch ProGAN grow and StyleGAN's styles mix while they train.");
    ImGui::EndChild();
    return;
  }
  draw_monitor(v);
  if (ImGui::CollapsingHeader("Metrics: FID-LeNet, precision, recall, class accuracy")) draw_metrics(session, v);
  ImGui::Separator();
  if (v.config.mode != GanMode::Images) {
    draw_toy(renderer, v, snapshot->stamp);
    ImGui::EndChild();
    return;
  }
  if (v.config.arch == GanArch::ProGan) draw_growth(v);
  draw_view_tabs(v);
  switch (view_) {
    case View::Samples: draw_images(session, renderer, v, snapshot->stamp); break;
    case View::Fade: draw_fade(renderer, v, snapshot->stamp); break;
    case View::Mixing: case View::Truncation: case View::Noise: case View::ZvsW: draw_style(session, renderer, v); break;
    case View::PathLength: draw_path_length(session, v); break;
    case View::Layers: draw_layers(session, renderer, v); break;
  }
  ImGui::EndChild();
}

}  // namespace genlab::app
