#include "app/vae/vq_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "app/image_view.h"
#include "app/plot.h"
#include "app/save_state.h"
#include "app/widgets.h"

namespace genlab::app {

namespace {

// In the order of VqPanel::View.
const char* const kViewNames[] = {"usage", "codemap", "codebook", "prior"};
const char* const kViewTitles[] = {"Code usage", "Code map", "Codebook", "Prior sampling"};
constexpr int kViews = int(sizeof kViewNames / sizeof kViewNames[0]);
static_assert(sizeof kViewTitles == sizeof kViewNames, "one title per view");

const ImU32 kPerplexity = IM_COL32(90, 170, 255, 255), kUsed = IM_COL32(120, 230, 120, 255),
            kCeiling = IM_COL32(230, 230, 230, 110), kRecon = IM_COL32(230, 230, 230, 255),
            kCommit = IM_COL32(255, 150, 60, 255), kRestarts = IM_COL32(220, 120, 220, 255),
            kTest = IM_COL32(120, 230, 120, 255), kFrame = IM_COL32(255, 255, 255, 255);
const ImVec4 kError(1.f, .45f, .35f, 1.f);
constexpr float kImageSide = 180;  // on-screen side of a single decoded image, about
constexpr float kPlayRate = 12;    // positions a second in prior playback
constexpr int kBatch = 16;         // finished samples per prior run

void caption(const char* text) { ImGui::TextDisabled("%s", text); }

// A code no cell of the test set uses (recent usage is a moving average: it never reaches 0).
bool dead(const VqModelView& m, int code) {
  return size_t(code) < m.test_usage.size() && m.test_usage[size_t(code)] == 0.f;
}

bool training(Session& session) { return session.worker().status()->value.job.rfind("train", 0) == 0; }

// The per-code palette of the code maps and the bar charts: golden-ratio hues so that neighbouring
// codes differ, light enough for black numbers. No code (not drawn yet) is gray.
ImU32 code_color(int code, int alpha = 255) {
  if (code < 0) return IM_COL32(70, 70, 78, alpha);
  float r, g, b;
  ImGui::ColorConvertHSVtoRGB(std::fmod(0.618034f * float(code), 1.f), 0.35f + 0.2f * float(code % 3), 1.f, r, g, b);
  return IM_COL32(int(r * 255), int(g * 255), int(b * 255), alpha);
}

// The zoom, in half-pixel steps, that shows an image `width` pixels wide at about kImageSide.
float image_zoom(int width) { return std::clamp(std::floor(2.f * kImageSide / float(std::max(1, width))) / 2.f, 1.f, 8.f); }

// The largest half-pixel zoom (1x..max_zoom) at which `image` fits `width`.
float fit_zoom(const DisplayImage& image, float width, float max_zoom) {
  return std::clamp(std::floor(2.f * width / float(std::max(1, image.width()))) / 2.f, 1.f, max_zoom);
}

ImageHover show_fitted(const DisplayImage& image, float width, float max_zoom) {
  float zoom = fit_zoom(image, width, max_zoom);
  return image_view(image, zoom, zoom, zoom);
}

// The side of a code map cell that fits the widest number of a codebook of `codes`.
float number_cell(int codes) {
  char text[16];
  snprintf(text, sizeof text, "%d", std::max(0, codes - 1));
  return ImGui::CalcTextSize(text).x + 8;
}

// The screen rectangle (top left, bottom right) of cell `cell` of `grid`, drawn as the last item.
std::pair<ImVec2, ImVec2> cell_rect(const ImageGrid& grid, int cell) {
  const ImVec2 origin = ImGui::GetItemRectMin();
  const float zoom = ImGui::GetItemRectSize().x / float(std::max(1, grid.image.width));
  const ImVec2 lo(origin.x + zoom * float(grid.pad + (cell % grid.cols) * (grid.cell_w + grid.pad)),
                  origin.y + zoom * float(grid.pad + (cell / grid.cols) * (grid.cell_h + grid.pad)));
  return {lo, ImVec2(lo.x + zoom * float(grid.cell_w), lo.y + zoom * float(grid.cell_h))};
}

void frame_grid_cell(const ImageGrid& grid, int cell, ImU32 color) {
  const auto [lo, hi] = cell_rect(grid, cell);
  ImGui::GetWindowDrawList()->AddRect(ImVec2(lo.x - 1, lo.y - 1), ImVec2(hi.x + 1, hi.y + 1), color, 0.f, 0, 2.f);
}

// Frames the patch of the last drawn image that code map cell `cell` decodes to.
void frame_patch(int cell, int grid_h, int grid_w) {
  const ImVec2 origin = ImGui::GetItemRectMin(), size = ImGui::GetItemRectSize();
  const float w = size.x / float(grid_w), h = size.y / float(grid_h);
  const ImVec2 lo(origin.x + w * float(cell % grid_w), origin.y + h * float(cell / grid_w));
  ImGui::GetWindowDrawList()->AddRect(lo, ImVec2(lo.x + w, lo.y + h), kFrame, 0.f, 0, 2.f);
}

struct GridHover {
  int cell = -1;  // under the mouse, -1 none
  bool clicked = false;
};

// A code map as cells coloured by code, each with its number where it fits; -1 (not drawn yet) is
// gray. `outlined` (a cell, or -1) is framed; where `encoded` is given, cells that differ from it carry
// a dot (edited).
GridHover code_grid(const char* id, const std::vector<int>& codes, int rows, int cols, float cell, int outlined,
                    const std::vector<int>& encoded = {}) {
  ImGui::PushID(id);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("cells", ImVec2(cell * float(cols), cell * float(rows)));
  GridHover hover;
  hover.clicked = ImGui::IsItemClicked(ImGuiMouseButton_Left);
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (ImGui::IsItemHovered()) {
    const int row = std::clamp(int((mouse.y - origin.y) / cell), 0, rows - 1);
    hover.cell = row * cols + std::clamp(int((mouse.x - origin.x) / cell), 0, cols - 1);
  }
  for (int i = 0; i < rows * cols; ++i) {
    const int code = size_t(i) < codes.size() ? codes[size_t(i)] : -1;
    const ImVec2 lo(origin.x + cell * float(i % cols), origin.y + cell * float(i / cols)), hi(lo.x + cell, lo.y + cell);
    draw->AddRectFilled(ImVec2(lo.x + 1, lo.y + 1), ImVec2(hi.x - 1, hi.y - 1), code_color(code));
    char text[16];
    snprintf(text, sizeof text, "%d", code);
    const ImVec2 text_size = ImGui::CalcTextSize(text);
    if (code >= 0 && text_size.x + 4 <= cell && text_size.y + 2 <= cell)
      draw->AddText(ImVec2(lo.x + (cell - text_size.x) / 2, lo.y + (cell - text_size.y) / 2), IM_COL32(0, 0, 0, 255),
                    text);
    if (size_t(i) < encoded.size() && encoded[size_t(i)] != code)
      draw->AddCircleFilled(ImVec2(hi.x - 5, lo.y + 5), 2.5f, IM_COL32(0, 0, 0, 220));
  }
  if (outlined >= 0 && outlined < rows * cols) {
    const ImVec2 lo(origin.x + cell * float(outlined % cols), origin.y + cell * float(outlined / cols));
    draw->AddRect(lo, ImVec2(lo.x + cell, lo.y + cell), kFrame, 0.f, 0, 3.f);
  }
  ImGui::PopID();
  return hover;
}

// One bar per code, in `order`, coloured like the code map. `lit` (a code, or -1) is framed and the
// others dimmed; `reference` > 0 draws a line at that value. Returns the code under the mouse, or -1.
int code_bars(const char* id, const std::vector<float>& values, const std::vector<int>& order, ImVec2 size, int lit,
              float reference) {
  ImGui::PushID(id);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("bars", size);
  const bool hovered = ImGui::IsItemHovered();
  draw->AddRectFilled(origin, ImVec2(origin.x + size.x, origin.y + size.y), IM_COL32(25, 25, 30, 255), 3.f);
  float peak = std::max(reference, 1e-6f);
  for (float v : values) peak = std::max(peak, v);
  const float pad = 4, base = origin.y + size.y - pad, plot_h = size.y - 2 * pad - ImGui::GetTextLineHeight();
  const float slot = (size.x - 2 * pad) / float(std::max<size_t>(1, order.size()));
  auto y_of = [&](float v) { return base - plot_h * std::max(0.f, v) / peak; };
  const float mouse_x = ImGui::GetIO().MousePos.x;
  int under = -1;
  for (size_t i = 0; i < order.size(); ++i) {
    const int code = order[i];
    if (size_t(code) >= values.size()) continue;
    const float x = origin.x + pad + slot * float(i);
    // With K up to 512 a bar may get under a pixel: keep each one visible, with a gap where there is room.
    const float right = x + std::max(slot - (slot >= 3 ? 1.f : 0.f), 1.f), top = y_of(values[size_t(code)]);
    draw->AddRectFilled(ImVec2(x, top), ImVec2(right, base), code_color(code, lit < 0 || code == lit ? 255 : 110));
    if (code == lit) draw->AddRect(ImVec2(x - 2, top - 2), ImVec2(right + 2, base + 2), kFrame, 0.f, 0, 2.f);
    if (hovered && mouse_x >= x && mouse_x < x + slot) under = code;
  }
  if (reference > 0)
    draw->AddLine(ImVec2(origin.x + pad, y_of(reference)), ImVec2(origin.x + size.x - pad, y_of(reference)), kCeiling);
  char text[32];
  snprintf(text, sizeof text, "%.3g", peak);
  draw->AddText(ImVec2(origin.x + pad, origin.y + 1), IM_COL32(170, 170, 170, 255), text);
  ImGui::PopID();
  return under;
}

// The class names a prior's labels stand for: the open data set's when they match its class count.
std::vector<std::string> class_names(Session& session, int classes) {
  auto open = session.dataset().get();
  if (open && open->value.data->class_names.size() == size_t(classes)) return open->value.data->class_names;
  std::vector<std::string> names;
  for (int c = 0; c < classes; ++c) names.push_back("class " + std::to_string(c));
  return names;
}

}  // namespace

std::vector<std::string> VqPanel::view_names() { return {kViewNames, kViewNames + kViews}; }

void VqPanel::select_view(const std::string& name) {
  for (int i = 0; i < kViews; ++i)
    if (name == kViewNames[i]) view_ = requested_view_ = View(i), view_from_flag_ = true;
}

void VqPanel::encode_file(Session& session, const std::string& path) {
  VqLab& lab = session.lab<VqLab>();
  auto view = lab.view().get();
  if (!view || !view->value.vq.exists) return;
  const VqModelView& m = view->value.vq;
  try {
    dropped_ = read_image(path, m.config.channels, m.config.height);
    lab.encode_image(dropped_);
    code_map_for_ = m.id;
    selected_ = -1;
    select_view("codemap");
  } catch (const DataError& e) {
    session.worker().submit("encode " + path, [message = std::string(e.what())](JobContext&) {
      throw std::runtime_error(message);  // errors reach the status bar through the worker
    });
  }
}

void VqPanel::encode_source(VqLab& lab) {
  if (dropped_.empty()) lab.encode_test_image(test_index_);
  else lab.encode_image(dropped_);
}

void VqPanel::draw_controls(Session& session, const VqLabView& lab) {
  VqLab& vq = session.lab<VqLab>();
  const VqModelView& m = lab.vq;
  if (m.exists && m.id != controls_for_) {  // a new or loaded model: the live controls show its settings
    restarts_ = m.config.restarts;
    learning_rate_ = m.config.learning_rate;
    controls_for_ = m.id;
  }
  const ImGuiSliderFlags log_scale = ImGuiSliderFlags_Logarithmic | ImGuiSliderFlags_AlwaysClamp;
  ImGui::Text("New VQ-VAE");
  ImGui::SetNextItemWidth(120);
  ImGui::SliderInt("codes K", &new_config_.codes, 8, 512, "%d", log_scale);
  hint("The codebook's size: every grid cell of an image becomes one of K codes.");
  ImGui::SetNextItemWidth(120);
  ImGui::SliderInt("code dim", &new_config_.code_dim, 2, 64, "%d", log_scale);
  ImGui::SetNextItemWidth(120);
  ImGui::SliderFloat("commitment β", &new_config_.commitment, 0.f, 10.f, "%.2f", log_scale);
  hint("β·‖z_e − sg(e)‖²: keeps the encoder's outputs close to the codes they pick.");
  int update = int(new_config_.update);
  ImGui::SetNextItemWidth(120);
  if (ImGui::Combo("codebook update", &update, "loss term\0EMA\0")) new_config_.update = CodebookUpdate(update);
  hint("loss term: the codes learn from ‖sg(z_e) − e‖²; EMA: each code moves to a moving average of the encoder "
       "outputs that chose it.");
  if (new_config_.update == CodebookUpdate::Ema) {
    ImGui::SetNextItemWidth(120);
    ImGui::SliderFloat("EMA decay", &new_config_.ema_decay, 0.9f, 0.9999f, "%.4f", ImGuiSliderFlags_AlwaysClamp);
  }
  if (ImGui::Button("New VQ-VAE")) {
    new_config_.restarts = restarts_;
    new_config_.learning_rate = learning_rate_;
    vq.new_model(new_config_);
  }
  ImGui::SameLine();
  caption("on the open data set");
  ImGui::Separator();

  if (m.exists) {
    ImGui::Text("K = %d codes of %d dims · %s, β = %.2f", m.config.codes, m.config.code_dim,
                m.config.update == CodebookUpdate::Ema ? "EMA" : "loss", m.config.commitment);
    ImGui::Text("step %" PRId64 " · epoch %.2f", m.step, m.epoch);
    if (m.images_per_s > 0) {
      ImGui::SameLine();
      ImGui::TextDisabled("· %.0f images/s", m.images_per_s);
    }
    ImGui::Text("test perplexity %.1f", m.test_perplexity);
    hint("exp(entropy of the test set's code usage): K when every code is used equally often.");
    ImGui::Text("used codes %d/%d", m.test_used, m.config.codes);
    hint("Codes that at least one grid cell of the test set chose.");
    ImGui::Text("test recon BCE %.1f nats · MSE %.4f", m.test_recon_bce, m.test_recon_mse);
    hint("BCE: nats per image against the test images; MSE: per pixel.");
  }
  ImGui::Text("Train");
  ImGui::SetNextItemWidth(120);
  ImGui::InputFloat("epochs", &epochs_, 1.f, 5.f, "%.1f");
  epochs_ = std::clamp(epochs_, 0.01f, 1000.f);
  ImGui::BeginDisabled(!m.exists);
  if (ImGui::Button("Train")) vq.train(epochs_);
  ImGui::SameLine();
  if (ImGui::Button("Stop")) session.worker().cancel();
  ImGui::EndDisabled();
  if (ImGui::Checkbox("restart dead codes (live)", &restarts_)) vq.set_restarts(restarts_);
  hint("A code no grid cell chose for a while moves onto an encoder output of the batch, so it can win again.");
  ImGui::SetNextItemWidth(120);
  if (ImGui::SliderFloat("learning rate", &learning_rate_, 1e-5f, 1e-2f, "%.5f", log_scale))
    vq.set_learning_rate(learning_rate_);
  ImGui::Separator();

  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##path", path_, sizeof path_);
  ImGui::BeginDisabled(!m.exists);
  if (ImGui::Button("Save")) vq.save(path_);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Load")) vq.load(path_);
  if (m.exists) draw_save_state(m.saved, m.step);
  ImGui::Separator();
  draw_prior_controls(session, lab);
}

void VqPanel::draw_prior_controls(Session& session, const VqLabView& lab) {
  VqLab& vq = session.lab<VqLab>();
  const VqPriorView& p = lab.prior;
  ImGui::Text("Prior over the codes");
  hint("A small causal transformer: reads the code grid in raster order, the class first, and predicts each code "
       "from the ones before it.");
  const ImGuiSliderFlags clamped = ImGuiSliderFlags_AlwaysClamp;
  ImGui::SetNextItemWidth(120);
  ImGui::SliderInt("width", &new_prior_.width, 16, 512, "%d", clamped | ImGuiSliderFlags_Logarithmic);
  ImGui::SetNextItemWidth(120);
  ImGui::SliderInt("layers", &new_prior_.layers, 1, 8, "%d", clamped);
  ImGui::SetNextItemWidth(120);
  ImGui::SliderInt("heads", &new_prior_.heads, 1, 8, "%d", clamped);
  new_prior_.width = std::max(new_prior_.heads, new_prior_.width / new_prior_.heads * new_prior_.heads);  // heads split it
  ImGui::BeginDisabled(!lab.vq.exists);
  if (ImGui::Button("New prior")) {
    const VqConfig& c = lab.vq.config;
    new_prior_.codes = c.codes, new_prior_.grid_h = c.grid_h(), new_prior_.grid_w = c.grid_w();
    vq.new_prior(new_prior_);  // the lab sets the classes from the data set
  }
  ImGui::EndDisabled();
  ImGui::SameLine();
  caption("over this VQ-VAE's codes");

  if (!p.error.empty()) {
    ImGui::PushTextWrapPos(0.f);
    ImGui::TextColored(kError, "%s", p.error.c_str());
    ImGui::PopTextWrapPos();
  }
  if (p.exists) {
    ImGui::Text("width %d, %d layers, %d heads", p.config.width, p.config.layers, p.config.heads);
    if (p.config.classes > 0) ImGui::TextDisabled("conditional on %d classes", p.config.classes);
    else ImGui::TextDisabled("unconditional");
    ImGui::Text("step %" PRId64 " · epoch %.2f", p.step, p.epoch);
    if (p.images_per_s > 0) {
      ImGui::SameLine();
      ImGui::TextDisabled("· %.0f images/s", p.images_per_s);
    }
    ImGui::Text("test %.3f nats per code", p.test_nats);
    hint("Cross-entropy of the test set's codes under the prior; log K when it has learned nothing.");
  }
  ImGui::SetNextItemWidth(120);
  ImGui::InputFloat("epochs##prior", &prior_epochs_, 1.f, 5.f, "%.1f");
  prior_epochs_ = std::clamp(prior_epochs_, 0.01f, 1000.f);
  ImGui::BeginDisabled(!p.exists);
  if (ImGui::Button("Train prior")) vq.train_prior(prior_epochs_);
  ImGui::EndDisabled();
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##prior-path", prior_path_, sizeof prior_path_);
  ImGui::BeginDisabled(!p.exists);
  if (ImGui::Button("Save prior")) vq.save_prior(prior_path_);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Load##prior")) vq.load(prior_path_);
  hint("A prior checkpoint also opens the VQ-VAE it was trained on, unless that one is open.");
  if (p.exists) draw_save_state(p.saved, p.step);
}

void VqPanel::draw_view_tabs() {
  if (!ImGui::BeginTabBar("vq-view-tabs")) return;
  for (int i = 0; i < kViews; ++i) {
    const bool select = view_from_flag_ && requested_view_ == View(i);
    if (ImGui::BeginTabItem(kViewTitles[i], nullptr, select ? ImGuiTabItemFlags_SetSelected : 0)) {
      view_ = View(i);
      ImGui::EndTabItem();
    }
  }
  view_from_flag_ = false;
  ImGui::EndTabBar();
}

void VqPanel::draw_usage(ImageRenderer& renderer, const VqModelView& m, uint64_t stamp) {
  const int K = m.config.codes;
  const float half = (ImGui::GetContentRegionAvail().x - 8) / 2;
  ImGui::BeginGroup();
  ImGui::Checkbox("sort by frequency", &sort_usage_);
  std::vector<int> order(m.usage.size());
  std::iota(order.begin(), order.end(), 0);
  if (sort_usage_)
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return m.usage[size_t(a)] > m.usage[size_t(b)]; });
  const int under = code_bars("usage", m.usage, order, ImVec2(half, 170), -1, 1.f / float(K));
  if (under >= 0) {
    const float test = size_t(under) < m.test_usage.size() ? m.test_usage[size_t(under)] : 0.f;
    ImGui::SetTooltip("code %d: %.2f %% of the grid cells over recent steps\n%.2f %% of the test set's cells%s", under,
                      100 * m.usage[size_t(under)], 100 * test, dead(m, under) ? "\ndead: no test image uses it" : "");
  }
  caption("share of the grid cells each code took, recent steps; line: 1/K");
  ImGui::EndGroup();
  ImGui::SameLine();

  PlotSeries perplexity{"perplexity", kPerplexity, {}, {}}, used{"used codes", kUsed, {}, {}};
  PlotSeries ceiling{"K", kCeiling, {}, {}};
  PlotSeries recon{"recon", kRecon, {}, {}}, commit{"commitment", kCommit, {}, {}}, restarts{"restarts", kRestarts, {}, {}};
  for (const VqCurvePoint& p : m.curve) {
    const float step = float(p.step);
    perplexity.x.push_back(step), perplexity.y.push_back(p.perplexity);
    used.x.push_back(step), used.y.push_back(float(p.used));
    recon.x.push_back(step), recon.y.push_back(p.recon);
    commit.x.push_back(step), commit.y.push_back(p.commit);
    restarts.x.push_back(step), restarts.y.push_back(float(p.restarts));
  }
  if (!m.curve.empty()) {
    ceiling.x = {float(m.curve.front().step), float(m.curve.back().step)};
    ceiling.y = {float(K), float(K)};
  }
  ImGui::BeginGroup();
  line_plot("perplexity", {ceiling, used, perplexity}, ImVec2(half, 170));
  caption("per training batch");
  ImGui::EndGroup();
  note("Perplexity = exp(entropy of the code usage): K when all K codes are used equally often, 1 when one code "
       "takes every cell. A code that never wins the nearest-code search for any encoder output gets no updates and "
       "dies: its bar goes flat and stays flat. Restarts move dead codes onto encoder outputs of the batch, where "
       "they win again.");

  line_plot("losses", {recon, commit}, ImVec2(half, 130));
  ImGui::SameLine();
  ImGui::BeginGroup();
  line_plot("restarts", {restarts}, ImVec2(half, 110));
  ImGui::Text("dead codes restarted so far: %" PRId64, m.curve.empty() ? int64_t(0) : m.curve.back().restarts);
  ImGui::EndGroup();

  originals_.update(renderer, stamp, m.originals.image);
  reconstructions_.update(renderer, stamp, m.reconstructions.image);
  ImGui::BeginGroup();
  caption("fixed test images");
  if (!m.originals.image.empty()) show_fitted(originals_, half, 4);
  ImGui::EndGroup();
  ImGui::SameLine();
  ImGui::BeginGroup();
  caption("their reconstructions from the codes, live");
  if (!m.reconstructions.image.empty()) show_fitted(reconstructions_, half, 4);
  ImGui::EndGroup();
}

void VqPanel::draw_code_map(Session& session, ImageRenderer& renderer, const VqModelView& m, uint64_t stamp) {
  VqLab& lab = session.lab<VqLab>();
  auto open = session.dataset().get();
  const int test_count = open ? int(std::max<int64_t>(1, open->value.data->test.count)) : 1;
  bool picked = false;
  ImGui::SetNextItemWidth(120);
  picked |= ImGui::InputInt("test image #", &test_index_);
  ImGui::SameLine();
  if (ImGui::Button("random")) test_index_ = std::uniform_int_distribution<int>(0, test_count - 1)(random_), picked = true;
  test_index_ = std::clamp(test_index_, 0, test_count - 1);
  if (picked) dropped_ = {}, selected_ = -1;
  // A new or loaded model encodes the picture again; while a model trains, the lab redraws the map itself
  // (edits kept).
  if (picked || code_map_for_ != m.id) {
    encode_source(lab);
    code_map_for_ = m.id;
  }

  auto snapshot = lab.code_map().get();
  const bool answered = snapshot && snapshot->value.model_id == m.id &&
                        snapshot->value.codes.size() == size_t(snapshot->value.grid_h * snapshot->value.grid_w) &&
                        snapshot->value.encoded.size() == snapshot->value.codes.size();
  if (!answered || snapshot->value.codes.empty()) {
    caption("encoding…");
    return;
  }
  const CodeMapView& map = snapshot->value;
  const int cells = map.grid_h * map.grid_w;
  if (selected_ >= cells) selected_ = -1;
  int edited = 0;
  for (size_t i = 0; i < map.codes.size(); ++i) edited += map.codes[i] != map.encoded[i];
  ImGui::SameLine();
  ImGui::BeginDisabled(edited == 0);
  if (ImGui::Button("reset edits")) lab.reset_edits();
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::TextDisabled("%d of %d cells edited%s", edited, cells, edit_request_ > map.request ? " · decoding…" : "");

  original_.update(renderer, snapshot->stamp, map.original);
  decoded_.update(renderer, snapshot->stamp, map.decoded);
  unedited_.update(renderer, snapshot->stamp, map.decoded_unedited);
  float zoom = image_zoom(map.decoded.width);
  // Each titled image with the selected cell's patch framed on it.
  auto picture = [&](const char* title, DisplayImage& image, const ImageBuffer& buffer) {
    ImGui::BeginGroup();
    caption(title);
    if (!buffer.empty()) {
      image_view(image, zoom, zoom, zoom);
      if (selected_ >= 0) frame_patch(selected_, map.grid_h, map.grid_w);
    }
    ImGui::EndGroup();
    ImGui::SameLine();
  };
  char title[64];
  if (map.source_index >= 0) snprintf(title, sizeof title, "test image #%" PRId64, map.source_index);
  else snprintf(title, sizeof title, "dropped picture");
  picture(title, original_, map.original);

  ImGui::BeginGroup();
  ImGui::TextDisabled("codes, %d×%d of K = %d", map.grid_h, map.grid_w, m.config.codes);
  const float side = zoom * float(std::max(1, map.decoded.width));
  const GridHover hover =
      code_grid("code-map", map.codes, map.grid_h, map.grid_w,
                std::max(side / float(map.grid_w), number_cell(m.config.codes)), selected_, map.encoded);
  if (hover.cell >= 0) {
    const int code = map.codes[size_t(hover.cell)], was = map.encoded[size_t(hover.cell)];
    const int row = hover.cell / map.grid_w, col = hover.cell % map.grid_w;
    if (code != was) ImGui::SetTooltip("row %d, col %d: code %d (edited; encoded as %d)", row, col, code, was);
    else ImGui::SetTooltip("row %d, col %d: code %d\nclick to pick another code for it", row, col, code);
    if (hover.clicked) selected_ = hover.cell == selected_ ? -1 : hover.cell;
  }
  ImGui::EndGroup();
  ImGui::SameLine();
  picture("decoded, with your edits", decoded_, map.decoded);
  picture("decoded as encoded", unedited_, map.decoded_unedited);
  ImGui::NewLine();
  if (!map.original.empty()) ImGui::Text("recon BCE of the unedited decode: %.1f nats", map.recon_bce);
  note("Each cell is one code: the index of the codebook vector nearest to the encoder's output there, and the "
       "decoder draws its patch of the image from it and its neighbours. Change a cell's code and only that "
       "neighbourhood changes.");
  ImGui::Separator();

  if (selected_ >= 0) {
    ImGui::Text("row %d, col %d: code %d — click a code below to put it there", selected_ / map.grid_w,
                selected_ % map.grid_w, map.codes[size_t(selected_)]);
  } else {
    caption("click a cell of the code map, then a code below to put it there");
  }
  codebook_.update(renderer, stamp, m.codebook.image);
  draw_code_picker(lab, m, map);

  // The decoder's layers for this code map: asked again for every new map (an edit, another image, new
  // weights) and when another layer is picked.
  if (ImGui::CollapsingHeader("Decoder layers for this code map")) {
    auto layers = lab.layers().get();
    if (draw_layer_view(layers_, renderer, layers.get()) || snapshot->stamp != layers_for_) {
      lab.inspect_layers(layers_.layer);
      layers_for_ = snapshot->stamp;
    }
  }
}

void VqPanel::draw_code_picker(VqLab& lab, const VqModelView& m, const CodeMapView& map) {
  const ImageGrid& book = m.codebook;
  if (book.image.empty()) {
    caption("decoding the codebook…");
    return;
  }
  // A large codebook scrolls in a box of its own, so the layer view below stays in reach.
  float zoom = fit_zoom(codebook_, ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ScrollbarSize, 2.f);
  ImGui::BeginChild("code-picker", ImVec2(0, std::min(zoom * float(codebook_.height()) + 4, 330.f)));
  const ImageHover hover = image_view(codebook_, zoom, zoom, zoom);
  if (selected_ >= 0) frame_grid_cell(book, map.codes[size_t(selected_)], IM_COL32(255, 200, 80, 255));
  const int code = hover.hovered ? book.cell_at(hover.x, hover.y) : -1;
  if (code >= 0 && code < m.config.codes) {
    frame_grid_cell(book, code, kFrame);
    const float share = size_t(code) < m.usage.size() ? m.usage[size_t(code)] : 0.f;
    ImGui::SetTooltip("code %d: %.2f %% of the grid cells%s", code, 100 * share,
                      selected_ >= 0 ? "\nclick to put it in the cell" : "");
    if (hover.clicked && selected_ >= 0) edit_request_ = lab.edit_code(selected_ / map.grid_w, selected_ % map.grid_w, code);
  }
  ImGui::EndChild();
}

void VqPanel::draw_codebook(ImageRenderer& renderer, const VqModelView& m, uint64_t stamp) {
  note("Every code decoded alone: the whole grid set to code k. A code is a patch, not an image: most decode to a "
       "texture or a stroke repeated over the grid. Dimmed: dead codes, used by no test image.");
  if (m.codebook.image.empty()) {
    caption("decoding the codebook…");
    return;
  }
  codebook_.update(renderer, stamp, m.codebook.image);
  const ImageHover hover = show_fitted(codebook_, ImGui::GetContentRegionAvail().x, 6.f);
  const ImageGrid& g = m.codebook;
  for (int k = 0; k < m.config.codes; ++k) {
    if (!dead(m, k)) continue;
    const auto [lo, hi] = cell_rect(g, k);
    ImGui::GetWindowDrawList()->AddRectFilled(lo, hi, IM_COL32(0, 0, 0, 170));
  }
  const int code = hover.hovered ? g.cell_at(hover.x, hover.y) : -1;
  if (code < 0 || code >= m.config.codes) return;
  frame_grid_cell(g, code, kFrame);
  const float share = size_t(code) < m.usage.size() ? m.usage[size_t(code)] : 0.f;
  const float test = size_t(code) < m.test_usage.size() ? m.test_usage[size_t(code)] : 0.f;
  ImGui::SetTooltip("code %d: %.2f %% of the grid cells over recent steps\n%.2f %% of the test set's cells%s", code,
                    100 * share, 100 * test, dead(m, code) ? "\ndead: no test image uses it" : "");
}

void VqPanel::draw_sampling_controls(Session& session, const VqLabView& lab) {
  VqLab& vq = session.lab<VqLab>();
  const VqPriorView& p = lab.prior;
  bool changed = false;
  if (p.config.classes > 0) {
    std::vector<std::string> names = class_names(session, p.config.classes);
    names.insert(names.begin(), "any (no class)");
    label_ = std::clamp(label_, -1, p.config.classes - 1);
    int index = label_ + 1;
    if (class_combo("class", index, names)) label_ = index - 1, changed = true;
  } else {
    label_ = -1;
    caption("unconditional prior: no class");
  }
  ImGui::SameLine();
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderFloat("temperature", &sampling_.temperature, 0.05f, 5.f, "%.2f",
                                ImGuiSliderFlags_Logarithmic | ImGuiSliderFlags_AlwaysClamp);
  hint("The logits are divided by it: below 1 the likeliest codes win more often (cleaner, less varied), above 1 "
       "the draws flatten toward uniform.");
  ImGui::SameLine();
  sampling_.top_k = std::clamp(sampling_.top_k, 0, p.config.codes);
  ImGui::SetNextItemWidth(160);
  changed |= ImGui::SliderInt("top-k", &sampling_.top_k, 0, p.config.codes, sampling_.top_k == 0 ? "all codes" : "%d",
                              ImGuiSliderFlags_AlwaysClamp);
  hint("Only the k likeliest codes can be drawn at each position (0: all).");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120);
  changed |= ImGui::InputScalar("seed", ImGuiDataType_U64, &seed_);
  ImGui::SameLine();
  changed |= ImGui::Button("Sample");
  // A new or loaded prior samples at once, new weights (the prior's or the decoder's) once training stops.
  const std::array<int64_t, 3> version{int64_t(p.id), p.step, lab.vq.step};
  const bool stale = version[0] != sampled_for_[0] || (!training(session) && version != sampled_for_);
  if (changed || stale) {
    vq.sample_prior(label_, sampling_, seed_, kBatch);  // newest wins: a drag restarts the run on the worker
    sampled_for_ = version;
    frame_ = -1, playing_ = false;  // follow the new run as it fills in
  }
}

void VqPanel::draw_sample_run(ImageRenderer& renderer, const PriorSampleView& run, uint64_t stamp) {
  const int positions = run.grid_h * run.grid_w, last = int(run.frames.size()) - 1;
  const bool done = run.filled >= positions;
  int shown = frame_ < 0 ? last : std::min(frame_, last);
  if (playing_) {
    play_clock_ += ImGui::GetIO().DeltaTime * kPlayRate;
    const int advance = int(play_clock_);
    play_clock_ -= float(advance);
    shown = std::min(shown + advance, last);
    frame_ = shown;
    if (shown == last) playing_ = false, frame_ = -1;  // caught up: follow the newest
  }
  if (ImGui::Button("|<")) frame_ = shown = 0, playing_ = false;
  ImGui::SameLine();
  if (ImGui::Button(playing_ ? "Pause" : "Play", ImVec2(52, 0))) {
    playing_ = !playing_;
    play_clock_ = 0;
    if (playing_ && shown == last) frame_ = shown = 0;  // play again from the start
  }
  ImGui::SameLine();
  if (ImGui::Button(">|")) frame_ = -1, shown = last, playing_ = false;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(std::max(120.f, ImGui::GetContentRegionAvail().x - 120));
  char label[64];
  snprintf(label, sizeof label, "position %d of %d", shown + 1, positions);
  if (ImGui::SliderInt("##position", &shown, 0, last, label)) {
    playing_ = false;
    frame_ = shown >= last && !done ? -1 : shown;
  }
  ImGui::SameLine();
  if (done) ImGui::TextDisabled("%.2f s", run.seconds);
  else ImGui::TextDisabled("drawing…");

  const std::vector<int>& codes = run.frames[size_t(shown)];
  const bool has_image = size_t(shown) < run.decoded.size() && !run.decoded[size_t(shown)].empty();
  float zoom = image_zoom(has_image ? run.decoded[size_t(shown)].width : 28);
  const float side = zoom * float(has_image ? run.decoded[size_t(shown)].width : 28);
  ImGui::BeginGroup();
  ImGui::TextDisabled("codes after position %d", shown + 1);
  const GridHover hover =
      code_grid("sample-map", codes, run.grid_h, run.grid_w,
                std::max(side / float(std::max(1, run.grid_w)), number_cell(int(run.probabilities.empty() ? 0 : run.probabilities[0].size()))), shown);
  if (hover.cell >= 0) {
    const int code = size_t(hover.cell) < codes.size() ? codes[size_t(hover.cell)] : -1;
    if (code >= 0) ImGui::SetTooltip("row %d, col %d: code %d", hover.cell / run.grid_w, hover.cell % run.grid_w, code);
    else ImGui::SetTooltip("row %d, col %d: not drawn yet", hover.cell / run.grid_w, hover.cell % run.grid_w);
  }
  ImGui::EndGroup();
  ImGui::SameLine();
  ImGui::BeginGroup();
  caption("decoded (undrawn cells: the commonest code)");
  if (has_image) {
    // One snapshot holds every frame: the frame on screen is part of what an upload shows.
    frame_image_.update(renderer, (stamp << 20) + uint64_t(shown), run.decoded[size_t(shown)]);
    image_view(frame_image_, zoom, zoom, zoom);
  }
  ImGui::EndGroup();
  ImGui::SameLine();
  ImGui::BeginGroup();
  if (size_t(shown) < run.probabilities.size()) {
    // The distribution of the position on screen (the newest while the run is followed).
    const std::vector<float>& p = run.probabilities[size_t(shown)];
    const int drawn = size_t(shown) < codes.size() ? codes[size_t(shown)] : -1;
    ImGui::TextDisabled("p(code) at position %d; framed: the code drawn", shown + 1);
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    const int under = code_bars("probabilities", p, order, ImVec2(std::max(200.f, ImGui::GetContentRegionAvail().x), side),
                               drawn, 0.f);
    if (under >= 0) ImGui::SetTooltip("code %d: p = %.4f%s", under, p[size_t(under)], under == drawn ? " (drawn)" : "");
  }
  ImGui::EndGroup();
  note("The prior draws the code map one position at a time in raster order, each code from a distribution over "
       "the K codes given the class and every code before it, after temperature and top-k.");
}

void VqPanel::draw_prior(Session& session, ImageRenderer& renderer, const VqLabView& lab) {
  VqLab& vq = session.lab<VqLab>();
  const VqPriorView& p = lab.prior;
  if (!p.exists) {
    if (!p.error.empty()) {
      ImGui::PushTextWrapPos(0.f);
      ImGui::TextColored(kError, "%s", p.error.c_str());
      ImGui::PopTextWrapPos();
    }
    note("No prior yet. Press \"New prior\", then \"Train prior\" — or load one. The VQ-VAE alone cannot create: "
         "random codes decode to a patchwork. The prior learns which codes follow which, and sampling it code by "
         "code gives new images.");
    return;
  }
  draw_sampling_controls(session, lab);
  auto run = vq.prior_sample().get();
  if (!run || run->value.frames.empty()) {
    caption("sampling…");
  } else {
    draw_sample_run(renderer, run->value, run->stamp);
    const float half = (ImGui::GetContentRegionAvail().x - 8) / 2;
    ImGui::BeginGroup();
    caption("finished samples of these settings");
    if (!run->value.batch.image.empty()) {
      batch_.update(renderer, run->stamp, run->value.batch.image);
      show_fitted(batch_, half, 4);
    }
    ImGui::EndGroup();
    ImGui::SameLine();
  }
  ImGui::BeginGroup();
  caption("prior loss, nats per code (train smoothed, test)");
  PlotSeries train{"train", kRecon, p.loss_steps, p.loss}, test{"test", kTest, {float(p.step)}, {float(p.test_nats)}, true};
  line_plot("prior-loss", {train, test}, ImVec2(std::max(200.f, ImGui::GetContentRegionAvail().x), 150));
  ImGui::EndGroup();

  if (ImGui::CollapsingHeader("Measure quality")) {
    note("Scores decoded prior samples drawn at the temperature and top-k above against the test images.");
    if (draw_quality_controls(quality_controls_, session.worker(), false))
      vq.measure_quality(sampling_, quality_controls_.options());
    auto quality = vq.quality().get();
    draw_quality(quality ? &quality->value : nullptr, class_names(session, p.config.classes));
  }
}

void VqPanel::draw(Session& session, ImageRenderer& renderer) {
  auto snapshot = session.lab<VqLab>().view().get();
  const VqLabView empty;
  const VqLabView& lab = snapshot ? snapshot->value : empty;

  ImGui::BeginChild("vq-controls", ImVec2(300, 0), true);
  draw_controls(session, lab);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("vq-views", ImVec2(0, 0));
  if (!lab.vq.exists) {
    ImGui::Spacing();
    // The shipped pair opens on the worker when the mode first shows, behind any job before it.
    const std::string job = session.worker().status()->value.job;
    if (job.rfind("load", 0) == 0) ImGui::TextDisabled("Opening %s …", job.substr(5).c_str());
    ImGui::TextWrapped(
        "No VQ-VAE yet. Set its codebook and press \"New VQ-VAE\", then \"Train\" — or load a checkpoint. Its encoder "
        "gives a grid of vectors (7×7 for 28×28 images) and each is replaced by the nearest of K learned code "
        "vectors: an image becomes a grid of integers the decoder turns back into a picture. Codes can be counted, "
        "edited one cell at a time, and modelled by a prior that draws them one position after another.");
    ImGui::EndChild();
    return;
  }
  draw_view_tabs();
  switch (view_) {
    case View::Usage: draw_usage(renderer, lab.vq, snapshot->stamp); break;
    case View::CodeMap: draw_code_map(session, renderer, lab.vq, snapshot->stamp); break;
    case View::Codebook: draw_codebook(renderer, lab.vq, snapshot->stamp); break;
    case View::Prior: draw_prior(session, renderer, lab); break;
  }
  ImGui::EndChild();
}

}  // namespace genlab::app
