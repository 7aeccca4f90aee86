#include "app/gan/gan_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "app/image_view.h"
#include "app/metrics_view.h"
#include "app/plot.h"
#include "app/save_state.h"

namespace genlab::app {

namespace {

const ImU32 kD = IM_COL32(255, 120, 90, 255), kG = IM_COL32(90, 170, 255, 255), kV = IM_COL32(230, 230, 230, 255),
            kHalf = IM_COL32(255, 255, 255, 90);

void caption(const char* text) { ImGui::TextDisabled("%s", text); }

void show_fitted(DisplayImage& image, float width, float max_zoom) {
  if (!image.ready()) return;
  // Half-pixel steps: whole-pixel zoom left small grids at 1x in wide panels.
  float zoom = std::clamp(std::floor(2.f * width / float(image.width())) / 2.f, 1.f, max_zoom);
  image_view(image, zoom, zoom, zoom);
}

}  // namespace

void GanPanel::draw_controls(Session& session, const GanLabView& view) {
  GanLab& gan = session.lab<GanLab>();
  ImGui::Text("New GAN");
  ImGui::SetNextItemWidth(150);
  ImGui::Combo("data", &mode_, "images (open data set)\0toy: ring of 8\0toy: spiral\0");
  if (mode_ == 0) ImGui::Checkbox("conditional (cGAN)", &new_config_.conditional);
  if (ImGui::Button("New GAN")) {
    GanConfig c = new_config_;
    c.mode = mode_ == 0 ? GanMode::Images : GanMode::Toy;
    c.toy = mode_ == 2 ? ToyData::Spiral : ToyData::Ring;
    if (c.mode == GanMode::Toy) c.latent = 8, c.batch_size = 256, c.conditional = false;
    c.loss = GanLoss(loss_);
    c.optimizer = GanOptimizer(optimizer_);
    c.lr_g = lr_g_;
    c.lr_d = lr_d_;
    c.d_steps = d_steps_;
    gan.new_model(c);
    timeline_index_ = -1;
  }
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
  auto open = session.dataset().get();
  if (v.config.conditional && open) {
    const auto& names = open->value.data->class_names;
    ImGui::SetNextItemWidth(160);
    if (ImGui::BeginCombo("class", size_t(explore_label_) < names.size() ? names[size_t(explore_label_)].c_str() : "?")) {
      for (size_t c = 0; c < names.size(); ++c)
        if (ImGui::Selectable(names[c].c_str(), int(c) == explore_label_)) explore_label_ = int(c), changed = true;
      ImGui::EndCombo();
    }
  }
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
    timeline_index_ = -1;
    synced_model_ = v.id;
  }
  ImGui::BeginChild("gan-controls", ImVec2(320, 0), true);
  draw_controls(session, v);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("gan-views", ImVec2(0, 0));
  if (!v.exists) {
    ImGui::TextWrapped(
        "No GAN yet. Pick images (the open data set, optionally class-conditional) or a 2-D toy, and press "
        "\"New GAN\", then \"Play\". The generator G counterfeits, the discriminator D polices: watch D(x) and "
        "D(G(z)) approach ½, switch the loss mid-run, and see mode collapse on the ring of 8 Gaussians.");
    ImGui::EndChild();
    return;
  }
  draw_monitor(v);
  if (ImGui::CollapsingHeader("Metrics: FID-LeNet, precision, recall, class accuracy")) draw_metrics(session, v);
  ImGui::Separator();
  if (v.config.mode == GanMode::Images) draw_images(session, renderer, v, snapshot->stamp);
  else draw_toy(renderer, v, snapshot->stamp);
  ImGui::EndChild();
}

}  // namespace genlab::app
