#include "app/diffusion/prompt_panel.h"

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "app/image_view.h"
#include "app/widgets.h"

namespace genlab::app {

namespace {

const char* const kSamplers[] = {"ddpm", "ddim", "dpmpp2m"};
const char* const kSamplerTitles = "DDPM (ancestral)\0DDIM\0DPM-Solver++(2M)\0";
constexpr int kMaxSteps = 100, kMaxImages = 16;
constexpr float kMaxCfg = 10.f;
const ImVec4 kWarning(1.f, .75f, .3f, 1.f), kError(1.f, .45f, .35f, 1.f);
const ImU32 kSelected = IM_COL32(255, 200, 80, 255);

int sampler_index(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kSamplers[i]) return i;
  return -1;
}

bool same(const PromptParams& a, const PromptParams& b) {
  return a.prompt == b.prompt && a.negative == b.negative && a.sampler == b.sampler && a.steps == b.steps &&
         a.cfg == b.cfg && a.seed == b.seed && a.n == b.n;
}

// Keeps the next item of width `width` on the line of the previous one when it fits (word wrap for
// chips and buttons).
void flow(float width, bool first) {
  if (first) return;
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  if (ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x + width < right) ImGui::SameLine();
}

// A token as a small framed label.
void chip(const char* text, bool dim) {
  const ImVec2 pad(5, 1), size = ImGui::CalcTextSize(text);
  const ImVec2 box(size.x + 2 * pad.x, size.y + 2 * pad.y);
  const ImVec2 at = ImGui::GetCursorScreenPos();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(at, ImVec2(at.x + box.x, at.y + box.y), dim ? IM_COL32(50, 50, 56, 255) : IM_COL32(40, 70, 110, 255), 4.f);
  draw->AddText(ImVec2(at.x + pad.x, at.y + pad.y), dim ? IM_COL32(150, 150, 150, 255) : IM_COL32(235, 235, 235, 255), text);
  ImGui::Dummy(box);
}

float chip_width(const char* text) { return ImGui::CalcTextSize(text).x + 10; }

// A pixel of cell `cell` of `grid` (channel c, row y, column x of the cell).
float cell_pixel(const ImageGrid& grid, int cell, int c, int y, int x) {
  const int row = cell / std::max(1, grid.cols), col = cell % std::max(1, grid.cols);
  return grid.image.at(c, grid.pad + row * (grid.cell_h + grid.pad) + y, grid.pad + col * (grid.cell_w + grid.pad) + x);
}

// The screen rectangle of cell `cell` of `grid`, drawn as the last item at any zoom.
void frame_cell(const ImageGrid& grid, int cell, ImU32 color) {
  if (grid.image.width <= 0 || grid.cols <= 0) return;
  const ImVec2 origin = ImGui::GetItemRectMin();
  const float zoom = ImGui::GetItemRectSize().x / float(grid.image.width);
  const int row = cell / grid.cols, col = cell % grid.cols;
  const ImVec2 lo(origin.x + zoom * float(grid.pad + col * (grid.cell_w + grid.pad)),
                  origin.y + zoom * float(grid.pad + row * (grid.cell_h + grid.pad)));
  const ImVec2 hi(lo.x + zoom * float(grid.cell_w), lo.y + zoom * float(grid.cell_h));
  ImGui::GetWindowDrawList()->AddRect(ImVec2(lo.x - 1, lo.y - 1), ImVec2(hi.x + 1, hi.y + 1), color, 0.f, 0, 2.f);
}

// The latent grid (a row per image, a cell per channel) laid out like the decoded grid: each image's
// channels in a square block, blocks `cols` to a row.
ImageBuffer tile_latent(const ImageGrid& latent, int images, int channels, int cols) {
  const int side = int(std::ceil(std::sqrt(double(std::max(1, channels)))));
  const int h = latent.cell_h, w = latent.cell_w, gap = 1, outer = 3;
  const int block_w = side * w + (side - 1) * gap, block_h = side * h + (side - 1) * gap;
  cols = std::max(1, std::min(cols, images));
  const int rows = (images + cols - 1) / cols;
  ImageBuffer out;
  out.channels = 1;
  out.width = cols * block_w + (cols + 1) * outer;
  out.height = rows * block_h + (rows + 1) * outer;
  out.pixels.assign(size_t(out.width) * size_t(out.height), 0.25f);
  const int cells = latent.cols * latent.rows;
  for (int i = 0; i < images; ++i)
    for (int c = 0; c < channels; ++c) {
      const int cell = i * channels + c;
      if (cell >= cells) continue;
      const int x0 = outer + (i % cols) * (block_w + outer) + (c % side) * (w + gap);
      const int y0 = outer + (i / cols) * (block_h + outer) + (c / side) * (h + gap);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          out.pixels[size_t(y0 + y) * size_t(out.width) + size_t(x0 + x)] = cell_pixel(latent, cell, 0, y, x);
    }
  return out;
}

// A heat ramp (inferno-like): dark purple, red, orange, pale yellow.
void heat(float v, float rgb[3]) {
  static const float stops[5][3] = {{0.f, 0.f, .02f}, {.34f, .06f, .43f}, {.74f, .22f, .33f}, {.98f, .56f, .04f}, {.99f, 1.f, .64f}};
  v = std::clamp(v, 0.f, 1.f) * 4.f;
  const int i = std::min(3, int(v));
  const float f = v - float(i);
  for (int c = 0; c < 3; ++c) rgb[c] = stops[i][c] * (1 - f) + stops[i + 1][c] * f;
}

// Cell `cell` of `base` (gray or RGB in [0, 1]) with `map` (side x side) upscaled bilinearly to the
// cell, normalised to [0, 1], laid over it as heat: the higher the weight, the more heat shows.
ImageBuffer overlay(const ImageGrid& base, int cell, const float* map, int side) {
  const int h = base.cell_h, w = base.cell_w, channels = base.image.channels;
  float lo = map[0], hi = map[0];
  for (int i = 1; i < side * side; ++i) lo = std::min(lo, map[i]), hi = std::max(hi, map[i]);
  const float span = hi - lo > 1e-8f ? hi - lo : 1.f;
  ImageBuffer out;
  out.channels = 3, out.height = h, out.width = w;
  out.pixels.resize(size_t(3) * size_t(h) * size_t(w));
  const size_t plane = size_t(h) * size_t(w);
  auto at = [&](int y, int x) { return (map[std::clamp(y, 0, side - 1) * side + std::clamp(x, 0, side - 1)] - lo) / span; };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float sy = (float(y) + .5f) * float(side) / float(h) - .5f, sx = (float(x) + .5f) * float(side) / float(w) - .5f;
      const int y0 = int(std::floor(sy)), x0 = int(std::floor(sx));
      const float fy = sy - float(y0), fx = sx - float(x0);
      const float m = (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy) + (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy;
      float gray = 0;
      for (int c = 0; c < channels; ++c) gray += cell_pixel(base, cell, c, y, x) / float(channels);
      float rgb[3];
      heat(m, rgb);
      const float a = 0.8f * m;
      for (int c = 0; c < 3; ++c) out.pixels[size_t(c) * plane + size_t(y) * size_t(w) + size_t(x)] = gray * (1 - a) + rgb[c] * a;
    }
  return out;
}

}  // namespace

bool PromptPanel::set(const std::string& key, const std::string& value) {
  auto text = [&](char* buffer, size_t size) {
    snprintf(buffer, size, "%s", value.c_str());
    last_text_key_ = key;
  };
  if (key == "prompt") text(prompt_, sizeof prompt_);
  else if (key == "negative") text(negative_, sizeof negative_);
  else if (key == "cfg") params_.cfg = std::clamp(std::stod(value), 0.0, double(kMaxCfg));
  else if (key == "steps") params_.steps = std::clamp(std::stoi(value), 1, kMaxSteps);
  else if (key == "seed") params_.seed = std::stoull(value);
  else if (key == "n") params_.n = std::clamp(std::stoi(value), 1, kMaxImages);
  else if (key == "step") show_when_done_ = std::max(0, std::stoi(value) - 1);
  else if (key == "image") selected_ = std::max(0, std::stoi(value));
  else if (key == "cost") pending_cost_ = open_cost_ = scroll_to_cost_ = std::stoi(value) != 0;
  else if (key == "measures") open_measures_ = scroll_to_measures_ = std::stoi(value) != 0;
  else if (key == "sampler") {
    if (sampler_index(value) < 0) throw std::invalid_argument(value);
    params_.sampler = value;
  } else {
    return false;
  }
  if (key != "prompt" && key != "negative") last_text_key_.clear();
  params_.prompt = prompt_, params_.negative = negative_;
  changed_ = true;
  return true;
}

bool PromptPanel::continue_text(const std::string& text) {
  if (last_text_key_.empty()) return false;
  char* buffer = last_text_key_ == "prompt" ? prompt_ : negative_;
  const size_t size = last_text_key_ == "prompt" ? sizeof prompt_ : sizeof negative_;
  const std::string joined = std::string(buffer) + "," + text;
  snprintf(buffer, size, "%s", joined.c_str());
  params_.prompt = prompt_, params_.negative = negative_;
  changed_ = true;
  return true;
}

void PromptPanel::request(Session& session) {
  params_.prompt = prompt_, params_.negative = negative_;
  errors_before_ = session.worker().status()->value.error_stamp;
  session.lab<LdmLab>().sample(params_);
  playback_.follow();
  changed_ = false;
  awaited_ = params_;
  awaiting_ = true, awaited_first_seen_ = false;
  asked_at_ = std::chrono::steady_clock::now();
}

void PromptPanel::draw_load(Session& session, const PromptModelView* model) {
  LdmLab& lab = session.lab<LdmLab>();
  if (model) {
    if (sampled_for_model_ == 0 && !model->checkpoint.empty())
      snprintf(path_, sizeof path_, "%s", model->checkpoint.c_str());
    ImGui::Text("%s", file_name(model->checkpoint).c_str());
    hint(model->checkpoint.c_str());
    ImGui::SameLine();
    ImGui::TextDisabled("step %" PRId64, model->step);
    ImGui::TextDisabled("on %s", file_name(model->autoencoder).c_str());
    hint(("the autoencoder it diffuses in: " + model->autoencoder).c_str());
  }
  ImGui::SetNextItemWidth(-60);
  ImGui::InputText("##ldm-path", path_, sizeof path_);
  ImGui::SameLine();
  if (ImGui::Button("Load")) lab.load(path_), load_errors_before_ = session.worker().status()->value.error_stamp;
  hint("an ldm checkpoint (genlab-cli train --model ldm); it names the autoencoder it was trained on");
  // A file the lab refused (missing, a klae alone, another family's model): said here too.
  const WorkerStatus status = session.worker().status()->value;
  if (!model && load_errors_before_ != ~uint64_t(0) && status.error_stamp != load_errors_before_ &&
      status.error.rfind("load ", 0) == 0) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kError, "%s", status.error.c_str());
    ImGui::PopTextWrapPos();
  }
}

void PromptPanel::draw_prompt_boxes(Session& session, const PromptRunView* run) {
  ImGui::TextUnformatted("Prompt");
  ImGui::SetNextItemWidth(-1);
  changed_ |= ImGui::InputTextWithHint("##prompt", "a dark wide pullover", prompt_, sizeof prompt_);
  // The tokens the encoder read for the run on screen (dimmed while it is not this prompt's run).
  const bool current = run && run->params.prompt == prompt_;
  if (run && !run->tokens.empty()) {
    ImGui::TextDisabled("read:");
    for (size_t k = 0; k < run->tokens.size(); ++k) {  // on the line of "read:" while they fit
      const char* word = run->tokens[k].c_str();
      flow(chip_width(word), false);
      chip(word, !current || k == 0);
    }
    if (!current) {
      flow(120, false);
      ImGui::TextDisabled("(of \"%s\")", run->params.prompt.c_str());
    }
    if (current && !run->note.empty()) {
      ImGui::PushTextWrapPos(0.f);
      ImGui::TextColored(kWarning, "%s", run->note.c_str());
      ImGui::PopTextWrapPos();
    }
  }
  ImGui::TextUnformatted("Negative prompt");
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  hint("Guidance pushes away from it: ε̃ = ε(neg) + w·(ε(c) − ε(neg)). Empty: the empty prompt, <start> alone (plain "
       "classifier-free guidance).");
  ImGui::SetNextItemWidth(-1);
  changed_ |= ImGui::InputTextWithHint("##negative", "empty: unconditional", negative_, sizeof negative_);
  if (run && run->params.negative == negative_ && !run->negative_note.empty()) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kWarning, "%s", run->negative_note.c_str());
    ImGui::PopTextWrapPos();
  }
  // A request the lab refused (unknown words only, a value out of range): its error, the last run
  // stays on screen.
  const WorkerStatus status = session.worker().status()->value;
  PromptParams typed = params_;
  typed.prompt = prompt_, typed.negative = negative_;
  refused_ = status.error_stamp != errors_before_ && !status.error.empty() && !(run && same(run->params, typed));
  if (refused_) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kError, "%s", status.error.c_str());
    ImGui::PopTextWrapPos();
    if (run) ImGui::TextDisabled("showing the last run that worked");
  }
}

void PromptPanel::draw_sampling_controls() {
  int sampler = std::max(0, sampler_index(params_.sampler));
  ImGui::SetNextItemWidth(170);
  if (ImGui::Combo("sampler", &sampler, kSamplerTitles)) params_.sampler = kSamplers[sampler], changed_ = true;
  ImGui::SetNextItemWidth(170);
  changed_ |= ImGui::SliderInt("steps", &params_.steps, 1, kMaxSteps, "%d", ImGuiSliderFlags_Logarithmic);
  float cfg = float(params_.cfg);
  ImGui::SetNextItemWidth(170);
  if (ImGui::SliderFloat("CFG scale w", &cfg, 0.f, kMaxCfg, "%.2f")) params_.cfg = cfg, changed_ = true;
  hint("0: ignore the prompt (the negative alone); 1: the prompt's own prediction; above 1: further from the "
       "negative, toward the prompt");
  ImGui::SetNextItemWidth(170);
  changed_ |= ImGui::InputScalar("seed", ImGuiDataType_U64, &params_.seed);
  ImGui::SetNextItemWidth(170);
  changed_ |= ImGui::SliderInt("images", &params_.n, 1, kMaxImages);
}

void PromptPanel::draw_formulas(const PromptModelView& m, const PromptRunView* run, int shown) {
  if (!ImGui::BeginTable("formulas", 2, ImGuiTableFlags_SizingStretchSame)) return;
  ImGui::TableNextColumn();
  ImGui::PushTextWrapPos(0.f);
  ImGui::Text("ε̃ = ε(z_t, neg) + w·(ε(z_t, c) − ε(z_t, neg))");
  if (negative_[0]) ImGui::TextDisabled("   w = %.2f, neg = \"%s\"", params_.cfg, negative_);
  else ImGui::TextDisabled("   w = %.2f, neg = the empty prompt (<start> alone)", params_.cfg);
  if (run && !run->frames.empty()) {
    const PromptStepFrame& f = *run->frames[size_t(std::min<int>(shown, int(run->frames.size()) - 1))];
    ImGui::TextDisabled("   step %d of %d: t = %d → %d", shown + 1, run->total, f.t, f.t_next);
  }
  ImGui::PopTextWrapPos();
  ImGui::TableNextColumn();
  ImGui::PushTextWrapPos(0.f);
  ImGui::Text("z = s · E(x),  x ≈ D(z / s)");
  ImGui::TextDisabled("   s = %.4g (measured: the latents to unit variance)", m.scale_factor);
  const int pixels = m.image_size * m.image_size, values = m.latent_channels * m.latent_size * m.latent_size;
  ImGui::Text("%d×%d → %d×%d×%d", m.image_size, m.image_size, m.latent_channels, m.latent_size, m.latent_size);
  ImGui::TextDisabled("   %d → %d values per image (%.1f× fewer)", pixels, values, double(pixels) / std::max(1, values));
  ImGui::PopTextWrapPos();
  ImGui::EndTable();
}

void PromptPanel::draw_vocabulary(const PromptModelView& m) {
  ImGui::TextUnformatted("Vocabulary");
  ImGui::SameLine();
  ImGui::TextDisabled("click a word to add it");
  bool first = true;
  for (const std::string& word : m.vocabulary) {
    flow(ImGui::CalcTextSize(word.c_str()).x + 2 * ImGui::GetStyle().FramePadding.x, first);
    first = false;
    if (ImGui::SmallButton(word.c_str())) {
      std::string text = prompt_;
      while (!text.empty() && text.back() == ' ') text.pop_back();
      text += (text.empty() ? "" : " ") + word;
      snprintf(prompt_, sizeof prompt_, "%s", text.c_str());
      changed_ = true;
    }
  }
  if (!m.held_out.empty()) {
    ImGui::Spacing();
    ImGui::TextUnformatted("Held out of training");
    ImGui::SameLine();
    ImGui::TextDisabled("(?)");
    hint("No training caption put these words together. Click one to ask for it: does the model compose words it "
         "only saw apart?");
    first = true;
    for (const std::string& pair : m.held_out) {
      flow(ImGui::CalcTextSize(pair.c_str()).x + 2 * ImGui::GetStyle().FramePadding.x, first);
      first = false;
      if (ImGui::SmallButton(pair.c_str())) {
        snprintf(prompt_, sizeof prompt_, "a %s", pair.c_str());
        changed_ = true;
      }
    }
  }
}

void PromptPanel::draw_measures(const PromptModelView& m) {
  if (open_measures_) ImGui::SetNextItemOpen(true), open_measures_ = false;
  if (!ImGui::CollapsingHeader("Caption measures")) return;
  note("Each training image's caption names its class and, at random, some of four attributes measured on its "
       "pixels, each split at its class's median into a word pair.");
  const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp;
  if (ImGui::BeginTable("attributes", 3, flags)) {
    ImGui::TableSetupColumn("attribute");
    ImGui::TableSetupColumn("low / high");
    ImGui::TableSetupColumn("measured");
    ImGui::TableHeadersRow();
    for (const auto& a : m.attributes) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(a[0].c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%s / %s", a[1].c_str(), a[2].c_str());
      ImGui::TableNextColumn();
      ImGui::PushTextWrapPos(0.f);
      ImGui::TextDisabled("%s", a[3].c_str());
      ImGui::PopTextWrapPos();
    }
    ImGui::EndTable();
  }
  if (m.thresholds.empty()) return;
  ImGui::TextDisabled("thresholds per class (the medians):");
  const int columns = 1 + int(m.attributes.size());
  if (ImGui::BeginTable("thresholds", columns, flags)) {
    ImGui::TableSetupColumn("class");
    for (const auto& a : m.attributes) ImGui::TableSetupColumn(a[0].c_str());
    ImGui::TableHeadersRow();
    for (size_t c = 0; c < m.thresholds.size(); ++c) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(c < m.class_names.size() ? m.class_names[c].c_str() : "all");
      for (size_t a = 0; a < m.attributes.size(); ++a) {
        ImGui::TableNextColumn();
        if (a < m.thresholds[c].size()) ImGui::Text("%.3g", m.thresholds[c][a]);
      }
    }
    ImGui::EndTable();
  }
  if (scroll_to_measures_) ImGui::SetScrollHereY(1.f), scroll_to_measures_ = false;  // scripted: in view
}

void PromptPanel::draw_controls(Session& session, const PromptModelView* model, const PromptRunView* run) {
  draw_load(session, model);
  if (!model) return;
  ImGui::Separator();
  draw_prompt_boxes(session, run);
  ImGui::Separator();
  draw_sampling_controls();
  ImGui::Separator();
  draw_vocabulary(*model);
  ImGui::Spacing();
  draw_measures(*model);
}

void PromptPanel::draw_attention(ImageRenderer& renderer, const PromptRunView& run, const PromptStepFrame& f,
                                 uint64_t key) {
  const ImageGrid& base = attention_on_x0_ ? f.decoded_x0 : f.decoded;
  const int images = params_.n;
  ImGui::Text("Which word paints where: image %d", selected_ + 1);
  ImGui::SameLine();
  if (ImGui::RadioButton("on decode(ẑ₀)", attention_on_x0_)) attention_on_x0_ = true;
  ImGui::SameLine();
  if (ImGui::RadioButton("on decode(z_t)", !attention_on_x0_)) attention_on_x0_ = false;
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  hint("Each prompt token's cross-attention over the picked image at the step on screen, averaged over heads and "
       "layers, normalised per map and laid over the image as heat. The share is the token's mean weight over the "
       "positions (the shares of a position sum to 100 %). Click another image above to see its maps.");
  if (f.attention.empty() || f.tokens <= 0 || f.map_size <= 0 || base.image.empty() ||
      f.attention.size() < size_t(images) * size_t(f.tokens) * size_t(f.map_size) * size_t(f.map_size)) {
    ImGui::TextDisabled("no attention maps at this step");
    return;
  }
  const int cells = base.cols * base.rows;
  const int image = std::min(selected_, std::min(images, cells) - 1);
  const uint64_t maps_key = key * 2 + (attention_on_x0_ ? 1 : 0);
  if (maps_key != maps_key_) {
    maps_.resize(size_t(f.tokens));
    map_share_.assign(size_t(f.tokens), 0.f);
    const int area = f.map_size * f.map_size;
    for (int k = 0; k < f.tokens; ++k) {
      const float* map = f.attention_map(image, k);
      double sum = 0;
      for (int i = 0; i < area; ++i) sum += map[i];
      map_share_[size_t(k)] = float(sum / area);
      maps_[size_t(k)].update(renderer, maps_key, overlay(base, image, map, f.map_size));
    }
    maps_key_ = maps_key;
  }
  const float cell = float(std::max(1, base.cell_w));
  const float zoom = std::clamp(std::floor((ImGui::GetContentRegionAvail().x / float(std::min(f.tokens, 8))) / (cell + 4)),
                                2.f, 4.f);
  bool first = true;
  for (int k = 0; k < f.tokens; ++k) {
    const std::string word = size_t(k) < run.tokens.size() ? run.tokens[size_t(k)] : "#" + std::to_string(k);
    const float width = zoom * cell;
    flow(width, first);
    first = false;
    ImGui::BeginGroup();
    const bool start = k == 0;
    char label[96];
    snprintf(label, sizeof label, "%s %.0f%%", word.c_str(), 100.f * map_share_[size_t(k)]);
    if (start) ImGui::TextDisabled("%s", label);
    else ImGui::TextUnformatted(label);
    float z = zoom;
    image_view(maps_[size_t(k)], z, z, z);
    if (start) {
      const ImVec2 lo = ImGui::GetItemRectMin(), hi = ImGui::GetItemRectMax();
      ImGui::GetWindowDrawList()->AddRectFilled(lo, hi, IM_COL32(20, 20, 24, 110));
      hint("<start>: every prompt begins with it; positions with no word to attend to rest their attention here");
    } else if (ImGui::IsItemHovered()) {
      ImGui::SetTooltip("\"%s\": %.1f %% of the attention, averaged over the positions", word.c_str(),
                        100.f * map_share_[size_t(k)]);
    }
    ImGui::EndGroup();
  }
}

void PromptPanel::draw_run(ImageRenderer& renderer, const PromptModelView& m, const PromptRunView& run) {
  const int length = int(run.frames.size());
  const int shown = playback_bar(playback_, length, run.total, run.done, 230);
  ImGui::SameLine();
  ImGui::TextDisabled("first %.0f ms, last %.0f ms", 1000 * run.seconds_first, 1000 * run.seconds_last);
  hint("from the request to the first and to the last step, on the worker");
  const PromptStepFrame& f = *run.frames[size_t(shown)];
  const int images = std::max(1, run.params.n);
  selected_ = std::clamp(selected_, 0, images - 1);

  // Textures follow the frame on screen, uploaded when it changes: each publish of a run carries the
  // steps before it unchanged (shared), so a step on screen is not uploaded again as later steps arrive.
  if (run.frames[size_t(shown)] != frame_on_screen_) frame_on_screen_ = run.frames[size_t(shown)], ++frame_serial_;
  const uint64_t frame_key = frame_serial_;
  const uint64_t key = frame_key * 32 + uint64_t(selected_);
  decoded_.update(renderer, frame_key, f.decoded.image);
  decoded_x0_.update(renderer, frame_key, f.decoded_x0.image);
  if (latent_key_ != frame_key && !f.latent.image.empty()) {
    latent_tiles_ = tile_latent(f.latent, images, m.latent_channels, std::max(1, f.decoded.cols));
    latent_key_ = frame_key;
    // The values as the frame holds them, (z + 3) / 6 clamped to [0, 1]: spread, and how many lie beyond ±3.
    double sum = 0, squares = 0, beyond = 0, count = 0;
    const ImageGrid& g = f.latent;
    for (int cell = 0; cell < std::min(g.cols * g.rows, images * m.latent_channels); ++cell)
      for (int y = 0; y < g.cell_h; ++y)
        for (int x = 0; x < g.cell_w; ++x) {
          const double z = 6.0 * cell_pixel(g, cell, 0, y, x) - 3.0;
          sum += z, squares += z * z, count += 1, beyond += std::fabs(z) >= 2.999;
        }
    count = std::max(1.0, count);
    latent_std_ = float(std::sqrt(std::max(0.0, squares / count - (sum / count) * (sum / count))));
    latent_beyond_ = float(beyond / count);
  }
  latent_.update(renderer, frame_key, latent_tiles_);

  const float label_w = 150;
  const float avail = ImGui::GetContentRegionAvail().x - label_w - 8;
  const float height_budget = std::max(200.f, ImGui::GetContentRegionAvail().y - 300);
  const int grid_w = std::max(1, decoded_.width()), grid_h = std::max(1, decoded_.height());
  const float zoom = std::clamp(std::floor(2.f * std::min(avail / float(grid_w), height_budget / (3.2f * float(grid_h)))) / 2.f,
                                1.f, 4.f);
  auto row = [&](const char* title, const char* detail, DisplayImage& image, const ImageGrid* grid, float z) {
    ImGui::BeginGroup();
    ImGui::TextUnformatted(title);
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + label_w);
    ImGui::TextDisabled("%s", detail);
    ImGui::PopTextWrapPos();
    ImGui::Dummy(ImVec2(label_w, 0));
    ImGui::EndGroup();
    ImGui::SameLine();
    const ImageHover hover = image_view(image, z, z, z);
    if (!grid) {
      if (hover.hovered)
        ImGui::SetTooltip("each image's %d latent channels, gray = (z + 3) / 6 (black −3, white +3)\nsampling starts "
                          "from N(0, I) and should end near the training latents' spread: std ≈ 1, few values beyond ±3",
                          m.latent_channels);
      return;
    }
    frame_cell(*grid, selected_, kSelected);
    const int cell = hover.hovered ? grid->cell_at(hover.x, hover.y) : -1;
    if (cell >= 0 && cell < images) {
      ImGui::SetTooltip("image %d%s", cell + 1, cell == selected_ ? " (its attention maps are below)" : "\nclick for its attention maps");
      if (hover.clicked) selected_ = cell;
    }
  };
  char detail[96];
  snprintf(detail, sizeof detail, "z_%d after step %d", f.t_next, shown + 1);
  row("decode(z_t)", detail, decoded_, &f.decoded, zoom);
  snprintf(detail, sizeof detail, "predicted at t = %d", f.t);
  row("decode(ẑ₀)", detail, decoded_x0_, &f.decoded_x0, zoom);
  snprintf(detail, sizeof detail, "%d channels of %d×%d per image; std %.2f, %.0f%% beyond ±3", m.latent_channels,
           m.latent_size, m.latent_size, latent_std_, 100.0 * latent_beyond_);
  const float latent_zoom =
      std::clamp(std::floor(2.f * zoom * float(grid_w) / float(std::max(1, latent_.width()))) / 2.f, 1.f, 12.f);
  row("latent z", detail, latent_, nullptr, latent_zoom);
  ImGui::Separator();
  draw_attention(renderer, run, f, key);
  ImGui::Separator();
  draw_formulas(m, &run, shown);
}

void PromptPanel::draw_cost(Session& session) {
  LdmLab& lab = session.lab<LdmLab>();
  if (pending_cost_) lab.measure_cost(), cost_requested_ = true, pending_cost_ = false;
  if (open_cost_) ImGui::SetNextItemOpen(true), open_cost_ = false;
  if (!ImGui::CollapsingHeader("Pixel vs latent cost")) return;
  note("Why Stable Diffusion diffuses in a latent space: the denoiser works on fewer values per image, so each of the "
       "many sampling steps (and each training step) is cheaper; the decoder turns the latent into pixels once, at "
       "the end.");
  auto cost = lab.cost().get();
  const bool running = session.worker().status()->value.state != WorkerState::Idle && cost_requested_ &&
                       (!cost || !cost->value.done);
  ImGui::BeginDisabled(running);
  if (ImGui::Button("Measure")) lab.measure_cost(), cost_requested_ = true;
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::TextDisabled(running ? "measuring on the worker…" : "a few seconds: times training and guided steps of both");
  if (!cost || cost->value.rows.empty()) return;
  const CostView& c = cost->value;
  const ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit;
  if (ImGui::BeginTable("cost", 7, flags)) {
    for (const char* name : {"", "values / image", "parameters", "train images/s", "ms/step, batch 1",
                             "ms/step, batch 64", "activations MB"})
      ImGui::TableSetupColumn(name);
    ImGui::TableHeadersRow();
    for (const DiffusionCost& r : c.rows) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(r.name.c_str());
      ImGui::TableNextColumn();
      ImGui::Text("%" PRId64, r.values_per_image);
      ImGui::TableNextColumn();
      ImGui::Text("%.3g M", double(r.parameters) / 1e6);
      ImGui::TableNextColumn();
      ImGui::Text("%.0f", r.train_images_per_s);
      ImGui::TableNextColumn();
      ImGui::Text("%.2f", r.step_ms_batch1);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f", r.step_ms_batch64);
      ImGui::TableNextColumn();
      ImGui::Text("%.1f", r.activation_mb_batch64);
    }
    ImGui::EndTable();
  }
  if (c.decode_ms_batch64 > 0) ImGui::Text("decode: %.1f ms for 64 images, once per sample", c.decode_ms_batch64);
  if (c.rows.size() >= 2) {
    const DiffusionCost &a = c.rows[0], &b = c.rows[1];
    auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
    ImGui::TextDisabled("%s against %s: %.1f× fewer values, %.1f× the training images/s, %.1f× faster steps at batch 64",
                        b.name.c_str(), a.name.c_str(), ratio(double(a.values_per_image), double(b.values_per_image)),
                        ratio(b.train_images_per_s, a.train_images_per_s), ratio(a.step_ms_batch64, b.step_ms_batch64));
  }
  if (scroll_to_cost_) {  // scripted: keep the table in view until it is complete
    ImGui::SetScrollHereY(1.f);
    scroll_to_cost_ = !c.done;
  }
}

void PromptPanel::draw(Session& session, ImageRenderer& renderer) {
  LdmLab& lab = session.lab<LdmLab>();
  auto model_snapshot = lab.model().get();
  const PromptModelView* model = model_snapshot && model_snapshot->value.exists ? &model_snapshot->value : nullptr;
  auto run_snapshot = lab.run().get();
  const PromptRunView* run = run_snapshot ? &run_snapshot->value : nullptr;

  // This frame draws the awaited run's newest step: time it from the edit (the prompt typed, a slider).
  if (awaiting_ && run && same(run->params, awaited_) && !run->frames.empty()) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked_at_).count();
    if (!awaited_first_seen_) first_step_ms_.push_back(ms), awaited_first_seen_ = true;
    if (run->done) last_step_ms_.push_back(ms), awaiting_ = false;
  }
  if (run && run->done && show_when_done_ >= 0 && same(run->params, params_) && !run->frames.empty()) {
    playback_.frame = std::min(show_when_done_, int(run->frames.size()) - 1);
    show_when_done_ = -1;
  }

  ImGui::BeginChild("prompt-controls", ImVec2(330, 0), true);
  draw_controls(session, model, run);
  ImGui::EndChild();
  ImGui::SameLine();

  // A new or loaded model samples at once; so does every edit of a control (newest wins on the worker).
  if (model && (changed_ || model_snapshot->stamp != sampled_for_model_)) {
    request(session);
    sampled_for_model_ = model_snapshot->stamp;
  }

  ImGui::BeginChild("prompt-views", ImVec2(0, 0));
  if (!model) {
    const std::string job = session.worker().status()->value.job;
    if (job.rfind("load", 0) == 0) ImGui::TextDisabled("Opening %s …", job.substr(5).c_str());
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextUnformatted("No text-to-image model loaded.");
    ImGui::TextDisabled("A latent diffusion model is trained in two stages: an autoencoder that squeezes each image into "
                        "a small latent, then a denoiser over those latents that reads a prompt. From a shell:");
    ImGui::PopTextWrapPos();
    ImGui::TextUnformatted("  genlab-cli train --model klae --out klae.safetensors");
    ImGui::TextUnformatted("  genlab-cli train --model ldm --autoencoder klae.safetensors --out ldm.safetensors");
    ImGui::TextDisabled("then Load ldm.safetensors at the left (or start genlab with --load ldm.safetensors).");
  } else if (!run || run->frames.empty()) {
    ImGui::TextDisabled(refused_ ? "nothing to show: the request was refused (the error at the left)" : "sampling…");
    draw_cost(session);
  } else {
    draw_run(renderer, *model, *run);
    ImGui::Spacing();
    draw_cost(session);
  }
  ImGui::EndChild();
}

}  // namespace genlab::app
