#include "app/diffusion/edit_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "app/diffusion/guidance_curve.h"
#include "app/diffusion/sampling_controls.h"
#include "app/image_view.h"
#include "app/widgets.h"
#include "core/diffusion/guidance_schedule.h"

namespace genlab::app {

namespace {

constexpr float kCanvasSide = 224;
constexpr int kMaxImages = 10;
const ImVec4 kError(1.f, .45f, .35f, 1.f), kWarning(1.f, .75f, .3f, 1.f);

// A built-in sketch: strokes in the units of a 28-pixel image, scaled to the model's size. Fills
// (grey, wide) come before outlines (white, thin), like a rough drawing of the data set's
// white-on-black pictures; shoes point the way Fashion-MNIST's do (sneakers' toes to the right).
struct SketchStroke {
  float ink, brush;
  std::vector<ImVec2> points;
};
struct Sketch {
  const char* name;
  std::vector<SketchStroke> strokes;
};
const Sketch kSketches[] = {
    {"shoe",
     {{.6f, 1.5f, {{5, 15}, {22, 17}}},
      {.6f, 1.5f, {{6, 18}, {24, 18}}},
      {.6f, 1.f, {{8, 13}, {14, 15}}},
      {1.f, .8f, {{3, 12}, {3, 20}, {25, 20}, {26, 18}, {23, 16}, {16, 14}, {11, 11}, {7, 11}, {5, 13}, {3, 12}}}}},
    {"shirt",
     {{.7f, 3.f, {{10, 9}, {10, 24}}},
      {.7f, 3.f, {{14, 8}, {14, 24}}},
      {.7f, 3.f, {{18, 9}, {18, 24}}},
      {.7f, 1.5f, {{9, 8}, {5, 13}}},
      {.7f, 1.5f, {{19, 8}, {23, 13}}},
      {1.f, .8f, {{11, 4}, {14, 6}, {17, 4}}},
      {1.f, .8f, {{11, 4}, {6, 6}, {2, 13}, {6, 15}, {8, 12}, {8, 25}, {20, 25}, {20, 12}, {22, 15}, {26, 13}, {22, 6}, {17, 4}}}}},
    {"bag",
     {{.6f, 3.f, {{8, 15}, {20, 15}}},
      {.6f, 3.f, {{8, 21}, {20, 21}}},
      {1.f, .8f, {{4, 11}, {24, 11}, {24, 25}, {4, 25}, {4, 11}}},
      {1.f, .8f, {{9, 11}, {9, 5}, {19, 5}, {19, 11}}}}},
};

const Sketch* find_sketch(const std::string& name) {
  for (const Sketch& s : kSketches)
    if (name == s.name) return &s;
  return nullptr;
}

const char* const kModeKeys[] = {"sdedit", "inpaint", "restore", "superres"};

// "X0:Y0:X1:Y1", image pixels (X1 and Y1 excluded), or std::invalid_argument.
std::vector<int> parse_box(const std::string& text) {
  std::vector<int> v;
  std::stringstream parts(text);
  for (std::string part; std::getline(parts, part, ':');) v.push_back(std::stoi(part));
  if (v.size() != 4 || v[2] <= v[0] || v[3] <= v[1])
    throw std::invalid_argument("box '" + text + "' is not X0:Y0:X1:Y1 with X0 < X1 and Y0 < Y1");
  return v;
}

}  // namespace

bool EditPanel::set(const std::string& key, const std::string& value) {
  if (key == "mode") {
    const auto* found = std::find(std::begin(kModeKeys), std::end(kModeKeys), value);
    if (found == std::end(kModeKeys)) throw std::invalid_argument("edit mode '" + value + "' is not sdedit, inpaint, restore or superres");
    set_mode(Mode(found - std::begin(kModeKeys)));
  } else if (key == "strength") {
    settings_.strength = std::clamp(std::stod(value), 0.0, 1.0);
  } else if (key == "resample") {
    settings_.resample = std::clamp(std::stoi(value), 1, 10);
  } else if (key == "factor") {
    const int factor = std::stoi(value);
    if (factor != 2 && factor != 4) throw std::invalid_argument("super-resolution factor " + value + " is not 2 or 4");
    settings_.factor = factor;
  } else if (key == "sigma") {
    settings_.sigma = std::clamp(std::stod(value), .05, 1.0);
  } else if (key == "noise") {
    (void)std::stod(value);  // a number, or std::invalid_argument now; used as the noise goes on
    pending_.emplace_back(key, value);
  } else if (key == "test") {
    if (std::stoi(value) < 0) throw std::invalid_argument("test image " + value + " is negative");
    pending_.emplace_back(key, value);
  } else if (key == "sketch") {
    if (!find_sketch(value)) throw std::invalid_argument("sketch '" + value + "' is not shoe, shirt or bag");
    pending_.emplace_back(key, value);
  } else if (key == "hole" || key == "erase") {
    if (key == "hole" || value != "1") parse_box(value);
    pending_.emplace_back(key, value);
  } else if (key == "class") {
    params_.label = std::max(-1, std::stoi(value));
  } else if (key == "cfg") {
    params_.cfg = std::clamp(std::stod(value), 0.0, 20.0);
  } else if (key == "steps") {
    params_.steps = std::clamp(std::stoi(value), 1, 1000);
  } else if (key == "sampler") {
    if (!known_sampler(value)) throw std::invalid_argument("sampler '" + value + "' is not ddpm, ddim or dpmpp2m");
    params_.sampler = value;
  } else if (key == "seed") {
    params_.seed = std::stoull(value);
  } else if (key == "n") {
    images_[int(mode_)] = std::clamp(std::stoi(value), 1, kMaxImages);
  } else if (key == "schedule") {
    params_.cfg_schedule = parse_guidance_schedule(value).name();
  } else if (key == "step") {
    show_when_done_ = std::max(0, std::stoi(value) - 1);
  } else {
    return false;
  }
  const bool action = key == "noise" || key == "test" || key == "sketch" || key == "hole" || key == "erase";
  if (!action && !pending_.empty()) pending_.emplace_back(key, value);  // so an action before it does not undo it
  changed_ = true;
  return true;
}

// The model's image shape; before any model, the last one's (at first 1 x 28 x 28).
void EditPanel::update_shape(Session& session) {
  auto model = session.lab<DiffusionLab>().model().get();
  if (!model || !model->value.exists) return;
  channels_ = model->value.channels;
  size_ = model->value.image_size;
}

void EditPanel::set_truth(ImageBuffer truth, int label) {
  truth_ = std::move(truth);
  truth_origin_ = canvas_.origin();
  truth_label_ = label;
  aim_at_truth();
}

void EditPanel::set_mode(Mode mode) {
  mode_ = mode;
  aim_at_truth();
}

void EditPanel::aim_at_truth() {
  if (mode_ != Mode::SDEdit && has_truth() && truth_label_ >= 0) params_.label = truth_label_, changed_ = true;
}

void EditPanel::load_test_image(Session& session, int64_t index) {
  auto open = session.dataset().get();
  if (!open || !open->value.data || open->value.data->test.count == 0) {
    set_note("no test images: open a data set first");
    return;
  }
  const Dataset& data = *open->value.data;
  test_index_ = int(std::clamp<int64_t>(index, 0, data.test.count - 1));
  ImageBuffer image{data.channels, data.height, data.width, std::vector<float>(size_t(data.image_bytes()))};
  const uint8_t* bytes = data.image(Split::Test, test_index_);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float(bytes[i]) / 255.f;
  const int label = data.test.labels.empty() ? -1 : data.label(Split::Test, test_index_);
  canvas_.set_image(image);
  set_truth(std::move(image), label);
  set_note("test image #" + std::to_string(test_index_) + (label >= 0 ? ": " + data.class_name(label) : ""));
}

void EditPanel::draw_sketch(const std::string& name) {
  const Sketch* sketch = find_sketch(name);
  canvas_.set_mask_mode(false);
  canvas_.set_image({channels_, size_, size_, std::vector<float>(size_t(channels_) * size_t(size_) * size_t(size_), 0.f)});
  const float scale = float(size_) / 28.f, user_brush = canvas_.brush;
  for (const SketchStroke& stroke : sketch->strokes) {
    canvas_.brush = stroke.brush * scale;
    for (size_t i = 1; i < stroke.points.size(); ++i)
      canvas_.paint(stroke.points[i - 1].x * scale, stroke.points[i - 1].y * scale, stroke.points[i].x * scale,
                    stroke.points[i].y * scale, stroke.ink);
  }
  canvas_.brush = user_brush;
  set_note(std::string("a rough ") + name + ": draw over it, or start from a test image");
}

void EditPanel::add_noise() {
  // Damage again replaces the damage before it: the noise goes onto the clean image.
  ImageBuffer clean = damaged() && has_truth() ? truth_ : canvas_.image(), noisy = clean;
  const int label = has_truth() ? truth_label_ : -1;
  std::mt19937_64 noise_rng(params_.seed);
  // sigma is in the model's [-1, 1] units, so sigma / 2 in the canvas's [0, 1]. Not clamped: the image
  // is then exactly x0 + sigma eps, the form denoising undoes.
  std::normal_distribution<float> normal(0.f, float(settings_.sigma) / 2);
  for (float& p : noisy.pixels) p += normal(noise_rng);
  canvas_.set_image(std::move(noisy));
  damage_ = Damage::Noise, damage_origin_ = canvas_.origin(), noise_sigma_ = settings_.sigma;
  mode_ = Mode::Restore;
  set_truth(std::move(clean), label);
}

EditPanel::Box EditPanel::random_box() {
  // Three eighths of the side (10 px of 28), wholly inside the image.
  const int side = std::max(2, size_ * 3 / 8);
  std::uniform_int_distribution<int> at(0, size_ - side);
  Box box;
  box.x0 = at(rng_), box.y0 = at(rng_);
  box.x1 = box.x0 + side, box.y1 = box.y0 + side;
  return box;
}

void EditPanel::erase_box(Box box) {
  ImageBuffer clean = damaged() && has_truth() ? truth_ : canvas_.image(), erased = clean;
  const int label = has_truth() ? truth_label_ : -1;
  for (int c = 0; c < erased.channels; ++c)
    for (int y = std::max(0, box.y0); y < std::min(erased.height, box.y1); ++y)
      for (int x = std::max(0, box.x0); x < std::min(erased.width, box.x1); ++x)
        erased.pixels[(size_t(c) * size_t(erased.height) + size_t(y)) * size_t(erased.width) + size_t(x)] = 0.f;
  canvas_.set_image(std::move(erased));
  damage_ = Damage::Box, damage_origin_ = canvas_.origin();
  mode_ = Mode::Restore;
  set_truth(std::move(clean), label);
  canvas_.clear_mask();
  paint_mask_box(box);
}

void EditPanel::paint_mask_box(Box box) {
  ImageBuffer mask = canvas_.mask();
  for (int y = std::max(0, box.y0); y < std::min(mask.height, box.y1); ++y)
    for (int x = std::max(0, box.x0); x < std::min(mask.width, box.x1); ++x)
      mask.pixels[size_t(y) * size_t(mask.width) + size_t(x)] = 1.f;
  canvas_.set_mask(std::move(mask));
}

void EditPanel::restore(const SamplingRecord& record) {
  params_ = record.params;
  settings_ = record.edit;
  switch (record.edit.mode) {
    case EditMode::SDEdit: mode_ = Mode::SDEdit; break;
    case EditMode::Inpaint: mode_ = Mode::Inpaint; break;
    case EditMode::SuperRes: mode_ = Mode::SuperRes; break;
    case EditMode::Denoise: mode_ = Mode::Restore; break;
  }
  images_[int(mode_)] = std::clamp(record.params.n, 1, kMaxImages);
  changed_ = true;
}

void EditPanel::apply_pending(Session& session) {
  const auto queue = std::move(pending_);
  pending_.clear();
  for (const auto& [key, value] : queue) {
    if (key == "test") load_test_image(session, std::stoi(value));
    else if (key == "sketch") draw_sketch(value);
    else if (key == "noise") set("sigma", value), add_noise();  // its own sigma, whatever came after it
    else if (key == "erase" && value == "1") erase_box(random_box());
    else if (key != "hole" && key != "erase") set(key, value);
    else {
      const std::vector<int> v = parse_box(value);
      if (key == "erase") erase_box({v[0], v[1], v[2], v[3]});
      else paint_mask_box({v[0], v[1], v[2], v[3]});
    }
  }
}

bool EditPanel::take_picture(Session& session, const std::string& path) {
  update_shape(session);
  try {
    const ImageFileShape shape = image_file_shape(path);
    ImageBuffer picture = read_image(path, channels_, size_);
    std::string resized;
    if (shape.width != size_ || shape.height != size_ || (shape.channels >= 3) != (channels_ == 3))
      resized = file_name(path) + " is " + std::to_string(shape.width) + "x" + std::to_string(shape.height) +
                (shape.channels >= 3 ? " colour" : " grey") + ": resized to " + std::to_string(size_) + "x" +
                std::to_string(size_) + (channels_ == 3 ? " colour" : " grey");
    canvas_.set_image(std::move(picture));
    set_note(resized);
  } catch (const std::exception& e) {  // unreadable: one line under the canvas
    set_note(e.what());
  }
  return true;
}

EditSettings EditPanel::settings_to_send() const {
  EditSettings s = settings_;
  switch (mode_) {
    case Mode::SDEdit: s.mode = EditMode::SDEdit; break;
    case Mode::Inpaint: s.mode = EditMode::Inpaint; break;
    case Mode::SuperRes: s.mode = EditMode::SuperRes; break;
    case Mode::Restore:
      s.mode = damage_ == Damage::Noise ? EditMode::Denoise : EditMode::Inpaint;
      s.sigma = noise_sigma_;
      break;
  }
  return s;
}

void EditPanel::send(Session& session) {
  not_sent_.clear();
  if (mode_ == Mode::Restore && !damaged()) {
    not_sent_ = "Restore undoes damage: add noise or erase a box first";
    return;
  }
  EditRequest request;
  request.settings = settings_to_send();
  if (request.settings.mode == EditMode::Inpaint && !canvas_.has_mask()) {
    not_sent_ = "paint the part to fill in (it shows red)";
    return;
  }
  request.params = params_;
  request.params.n = images_[int(mode_)];
  request.image = canvas_.image();
  if (request.settings.mode == EditMode::Inpaint) request.mask = canvas_.mask();
  if (has_truth()) request.truth = truth_;
  errors_before_ = session.worker().status()->value.error_stamp;
  request_ = session.lab<DiffusionLab>().edit(request);
  playback_.follow();
}

void EditPanel::draw_canvas(Session& session, ImageRenderer& renderer) {
  canvas_.set_mask_mode(mode_ == Mode::Inpaint || (mode_ == Mode::Restore && damaged() && damage_ == Damage::Box));
  canvas_.draw(renderer, kCanvasSide, "edit-canvas");
  canvas_.controls();
  if (ImGui::Button("From test image")) load_test_image(session, test_index_);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(110);
  if (ImGui::InputInt("##test-index", &test_index_)) test_index_ = std::max(0, test_index_);
  ImGui::SameLine();
  if (ImGui::Button("Random")) {
    auto open = session.dataset().get();
    const int64_t count = open && open->value.data ? open->value.data->test.count : 0;
    if (count > 0) load_test_image(session, std::uniform_int_distribution<int64_t>(0, count - 1)(rng_));
  }
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  hint("Or drop a picture on the window: it goes onto the canvas, resized to the model's images.");
  if (!canvas_note_.empty() && canvas_.origin() == note_origin_) note(canvas_note_.c_str());
}

void EditPanel::draw_mode_settings(const DiffusionModelView& model) {
  int mode = int(mode_);
  changed_ |= ImGui::RadioButton("Sketch → image (SDEdit)", &mode, int(Mode::SDEdit));
  ImGui::SameLine();
  changed_ |= ImGui::RadioButton("Inpaint", &mode, int(Mode::Inpaint));
  changed_ |= ImGui::RadioButton("Restore", &mode, int(Mode::Restore));
  ImGui::SameLine();
  changed_ |= ImGui::RadioButton("Super-resolution", &mode, int(Mode::SuperRes));
  if (mode != int(mode_)) set_mode(Mode(mode));
  ImGui::Spacing();
  ImGui::PushTextWrapPos(0.f);
  switch (mode_) {
    case Mode::SDEdit: {
      float strength = float(settings_.strength);
      ImGui::SetNextItemWidth(200);
      if (ImGui::SliderFloat("strength s", &strength, 0.f, 1.f, "%.2f")) settings_.strength = strength, changed_ = true;
      const int t0 = int(std::lround(settings_.strength * model.T));
      ImGui::Text("t₀ = s·T = %.2f·%d = %d", settings_.strength, model.T, t0);
      ImGui::Text("x_t₀ = √ᾱ·x₀ + √(1−ᾱ)·ε");
      if (noise_.T > 0 && t0 <= noise_.T)
        ImGui::Text("     = %.3f·x₀ + %.3f·ε   (ᾱ_%d = %.4f)", noise_.signal(t0), noise_.noise(t0), t0, noise_.alpha_bar_at(t0));
      ImGui::TextDisabled("The drawing x₀ jumps to t₀ by the forward process and is denoised from there. s = 0 gives "
                          "it back; s = 1 starts from pure noise and forgets it; between, its layout survives the "
                          "noise and the model paints the details.");
      break;
    }
    case Mode::Inpaint:
      ImGui::SetNextItemWidth(200);
      changed_ |= ImGui::SliderInt("resample r", &settings_.resample, 1, 10);
      ImGui::TextDisabled("Paint the hole in red (right button erases the mask). RePaint: each step done r times, "
                          "x_{t−1}'s known part replaced by the forward-noised original, then re-noised to t and "
                          "redone, so the fill agrees with its surroundings.");
      if (ImGui::Button("Clear the mask")) canvas_.clear_mask();
      break;
    case Mode::Restore: {
      float sigma = float(settings_.sigma);
      ImGui::SetNextItemWidth(200);
      ImGui::SliderFloat("σ", &sigma, .05f, 1.f, "%.2f");
      settings_.sigma = sigma;
      hint("the noise's standard deviation in the model's [−1, 1] units (σ/2 of the canvas's [0, 1])");
      // The noise is drawn again when the slider is let go, not at every value it passes.
      if (ImGui::IsItemDeactivatedAfterEdit() && damaged() && damage_ == Damage::Noise) add_noise();
      if (ImGui::Button("Add noise σ")) add_noise();
      ImGui::SameLine();
      if (ImGui::Button("Erase a box")) erase_box(random_box());
      if (!damaged()) {
        ImGui::TextDisabled("Damage the image on the canvas (a test image: its scores come back), then watch it restored.");
      } else if (damage_ == Damage::Noise) {
        ImGui::Text("denoising: the image is x₀ + %.2f·ε", noise_sigma_);
        ImGui::TextDisabled("x_t / √ᾱ_t = x₀ + σ_t·ε, so the noisy image scaled by √ᾱ_t is x_t at the t whose "
                            "σ_t = √(1−ᾱ_t)/√ᾱ_t is %.2f: the run starts there, not at T.", noise_sigma_);
      } else {
        ImGui::Text("filling the erased box (inpainting)");
        ImGui::SetNextItemWidth(200);
        changed_ |= ImGui::SliderInt("resample r", &settings_.resample, 1, 10);
      }
      break;
    }
    case Mode::SuperRes:
      for (int factor : {2, 4}) {
        char label[48];
        snprintf(label, sizeof label, "×%d (%d×%d)", factor, size_ / factor, size_ / factor);
        ImGui::BeginDisabled(size_ % factor != 0);
        if (ImGui::RadioButton(label, settings_.factor == factor)) changed_ |= settings_.factor != factor, settings_.factor = factor;
        ImGui::EndDisabled();
        if (factor == 2) ImGui::SameLine();
      }
      ImGui::TextDisabled("The canvas image is averaged down by the factor. ILVR: after every step the low-pass of x "
                          "(its factor×factor block means) is swapped for that of the forward-noised low-res image, so "
                          "the result keeps the low-res image and the model invents the detail.");
      break;
  }
  ImGui::PopTextWrapPos();
}

void EditPanel::draw_sampling_controls(const DiffusionModelView& model) {
  changed_ |= sampler_combo("sampler", params_.sampler);
  ImGui::SetNextItemWidth(160);
  changed_ |= ImGui::SliderInt("steps", &params_.steps, 1, model.T, "%d", ImGuiSliderFlags_Logarithmic);
  if (model.classes > 0) {
    float cfg = float(params_.cfg);
    ImGui::SetNextItemWidth(160);
    if (ImGui::SliderFloat("CFG w", &cfg, 0.f, 20.f, "%.2f")) params_.cfg = cfg, changed_ = true;
    changed_ |= guidance_schedule_combo(params_.cfg_schedule);
    changed_ |= class_or_each_combo("class", params_.label, model.class_names);
  }
  int seed = int(params_.seed);
  ImGui::SetNextItemWidth(160);
  if (ImGui::InputInt("seed", &seed)) params_.seed = uint64_t(std::max(0, seed)), changed_ = true;
  ImGui::SetNextItemWidth(160);
  changed_ |= ImGui::SliderInt("images", &images_[int(mode_)], 1, kMaxImages);
}

void EditPanel::draw_scores(const EditView& view) {
  if (view.scores.empty()) return;
  const ImGuiTableFlags flags =
      ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_NoHostExtendX;
  ImGui::BeginGroup();
  ImGui::TextUnformatted("against the original");
  if (ImGui::BeginTable("edit-scores", 3, flags)) {
    ImGui::TableSetupColumn("");
    ImGui::TableSetupColumn("PSNR dB");
    ImGui::TableSetupColumn("SSIM");
    ImGui::TableHeadersRow();
    for (const EditScore& s : view.scores) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(s.name.c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%.2f", s.psnr);
      ImGui::TableNextColumn();
      ImGui::Text("%.3f", s.ssim);
    }
    ImGui::EndTable();
  }
  ImGui::TextDisabled("the edit's: mean over its images");
  ImGui::EndGroup();
}

void EditPanel::draw_run(DiffusionLab& lab, ImageRenderer& renderer, const EditView& view, uint64_t stamp) {
  const SamplingView& run = view.run;
  const SamplingStepFrame& newest = *run.frames.back();
  const float avail = ImGui::GetContentRegionAvail().x;
  const float zoom = std::clamp(std::floor(2.f * avail / float(std::max(1, newest.x.image.width))) / 2.f, 1.f, 4.f);

  // What went in beside what came out: the input, super-resolution's baselines, the original.
  const bool superres = view.settings.mode == EditMode::SuperRes;
  input_.update(renderer, stamp, view.input);
  if (superres) {
    low_res_.update(renderer, stamp, view.low_res);
    char label[48];
    snprintf(label, sizeof label, "low-res %d×%d", view.low_res.width, view.low_res.height);
    labelled_image(label, low_res_, zoom * float(view.settings.factor));
    ImGui::SameLine();
    labelled_image("nearest", input_, zoom);
    ImGui::SameLine();
    bicubic_.update(renderer, stamp, view.bicubic);
    labelled_image("bicubic", bicubic_, zoom);
  } else {
    labelled_image(view.settings.mode == EditMode::Inpaint ? "input (hole grey)" : "input", input_, zoom);
  }
  if (has_truth()) {
    truth_image_.update(renderer, truth_origin_, truth_);
    ImGui::SameLine();
    labelled_image("original", truth_image_, zoom);
  }
  ImGui::SameLine(0, 24);
  draw_scores(view);

  result_.update(renderer, stamp, newest.x.image);
  if (run.done) {
    ImGui::Text("result: %d image%s from t₀ = %d", run.params.n, run.params.n == 1 ? "" : "s", view.t_start);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(160);
    ImGui::InputText("##edit-export", export_path_, sizeof export_path_);
    ImGui::SameLine();
    if (ImGui::Button("Export PNG")) lab.export_edit(view, export_path_);
    hint("the result images; the PNG carries the settings (dropped on the window, they come back here)");
  } else {
    ImGui::TextDisabled("step %d of %d…", int(run.frames.size()), run.total);
  }
  float z = zoom;
  image_view(result_, z, z, z);

  // The run, step by step, as the Sample view keeps it.
  ImGui::Separator();
  const int shown = playback_bar(playback_, int(run.frames.size()), run.total, run.done, 160);
  const SamplingStepFrame& f = *run.frames[size_t(shown)];
  ImGui::SameLine();
  ImGui::TextDisabled("t = %d → %d", f.t, f.t_next);
  if (noise_.T > 0 && run.params.cfg_schedule != "constant")
    guidance_curve("edit-w", run.params, noise_, f.t, ImVec2(std::min(ImGui::GetContentRegionAvail().x, 420.f), 56));
  const uint64_t key = stamp * 4096 + uint64_t(shown);
  x_.update(renderer, key, f.x.image);
  x0_.update(renderer, key, f.x0.image);
  ImGui::TextDisabled("x_%d after step %d", f.t_next, shown + 1);
  z = zoom;
  image_view(x_, z, z, z);
  ImGui::TextDisabled("x̂₀ predicted at t = %d", f.t);
  z = zoom;
  image_view(x0_, z, z, z);
}

void EditPanel::draw(Session& session, ImageRenderer& renderer) {
  DiffusionLab& lab = session.lab<DiffusionLab>();
  auto model_snapshot = lab.model().get();
  if (!model_snapshot || !model_snapshot->value.exists) {
    ImGui::TextWrapped("No diffusion model loaded: load one in the Sample view (the shipped "
                       "ddpm-fashion-cond.safetensors opens at start), then edit images with it here.");
    return;
  }
  const DiffusionModelView& model = model_snapshot->value;
  update_shape(session);
  if (model_snapshot->stamp != sent_for_model_) noise_ = NoiseSchedule::make(model.schedule, model.T);
  // An empty canvas (or one of another size) starts from a rough sketch, SDEdit's natural input.
  const ImageBuffer& image = canvas_.image();
  if (image.channels != channels_ || image.height != size_ || image.width != size_) draw_sketch("shoe");
  apply_pending(session);

  ImGui::BeginChild("edit-controls", ImVec2(450, 0), true);
  draw_canvas(session, renderer);
  ImGui::Separator();
  draw_mode_settings(model);
  ImGui::Separator();
  draw_sampling_controls(model);
  ImGui::EndChild();
  ImGui::SameLine();

  // Newest wins on the worker, so every change may ask; at most once a frame.
  if (changed_ || canvas_.stamp() != sent_stamp_ || model_snapshot->stamp != sent_for_model_) {
    send(session);
    changed_ = false, sent_stamp_ = canvas_.stamp(), sent_for_model_ = model_snapshot->stamp;
  }

  ImGui::BeginChild("edit-views", ImVec2(0, 0));
  if (!not_sent_.empty()) ImGui::TextColored(kWarning, "%s", not_sent_.c_str());
  const WorkerStatus status = session.worker().status()->value;
  auto view_snapshot = lab.edit_view().get();
  const bool newest_refused = request_ != 0 && status.error_stamp != errors_before_ &&
                              status.error.rfind("diffusion.edit", 0) == 0 &&
                              (!view_snapshot || view_snapshot->value.run.run != request_);
  if (newest_refused) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kError, "%s", status.error.c_str());
    ImGui::PopTextWrapPos();
  }
  if (!view_snapshot || view_snapshot->value.run.frames.empty()) {
    if (!newest_refused && not_sent_.empty()) ImGui::TextDisabled("editing…");
  } else {
    const EditView& view = view_snapshot->value;
    if (show_when_done_ >= 0 && view.run.done && view.run.run == request_) {
      playback_.frame = std::min(show_when_done_, int(view.run.frames.size()) - 1);
      show_when_done_ = -1;
    }
    draw_run(lab, renderer, view, view_snapshot->stamp);
  }
  ImGui::EndChild();
}

}  // namespace genlab::app
