#include "app/vae/vae_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "app/image_view.h"
#include "app/metrics_view.h"
#include "app/plot.h"
#include "app/save_state.h"
#include "core/io/shipped.h"

namespace genlab::app {

namespace {

const char* kViewNames[] = {"Training",      "Sliders",    "Manifold", "Interpolation",
                            "Prior samples", "Latent map", "Compare", "Metrics"};
constexpr int kViews = int(sizeof kViewNames / sizeof kViewNames[0]);
const ImU32 kTotalColor = IM_COL32(230, 230, 230, 255), kReconColor = IM_COL32(90, 170, 255, 255),
            kKlColor = IM_COL32(255, 150, 60, 255), kTestColor = IM_COL32(120, 230, 120, 255);

int slot(AutoencoderKind kind) { return int(kind); }
const char* kSlotNames[kAutoencoderKinds] = {"AE", "VAE", "VAE-GAN"};
// The slots as the lists show them: the VAE-GAN first, then the VAE and the AE it grew from.
constexpr int kSlotOrder[kAutoencoderKinds] = {2, 1, 0};

// The model's current identity: the views are requested again when it changes outside training.
std::string signature(const VaeModelView& m) {
  return m.exists ? std::to_string(m.config.latent) + "/" + arch_name(m.config.arch) + "/" + std::to_string(m.step) + "/" +
                        m.saved.checkpoint
                  : "";
}

void caption(const char* text) { ImGui::TextDisabled("%s", text); }

// Shows a grid texture fitted into `width` pixels.
void show_grid(DisplayImage& image, float width, float max_zoom = 8.f) {
  if (!image.ready()) return;
  // Half-pixel steps: whole-pixel zoom left small grids at 1x in wide panels.
  float zoom = std::clamp(std::floor(2.f * width / float(image.width())) / 2.f, 1.f, max_zoom);
  image_view(image, zoom, zoom, zoom);
}

}  // namespace

void VaePanel::select_view(const std::string& name) {
  // "vq-usage", "vq-codemap", ...: the discrete-code views.
  if (name.rfind("vq", 0) == 0) {
    vq_mode_ = true;
    vq_.select_view(name.size() > 3 ? name.substr(3) : "usage");
    return;
  }
  vq_mode_ = false;
  for (int i = 0; i < kViews; ++i) {
    std::string lower = kViewNames[i];
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (lower.rfind(name, 0) == 0) {  // the first match: "m" stays the manifold
      view_ = requested_view_ = View(i), view_from_flag_ = true;
      return;
    }
  }
}

void VaePanel::encode_file(Session& session, const std::string& path) {
  if (vq_mode_) return vq_.encode_file(session, path);
  auto lab = session.lab<VaeLab>().view().get();
  if (!lab || !lab->value.slot[slot(kind_)].exists) return;
  const VaeConfig& c = lab->value.slot[slot(kind_)].config;
  try {
    session.lab<VaeLab>().encode_image(kind_, read_image(path, c.channels, c.height));
    view_ = requested_view_ = View::Sliders;
    view_from_flag_ = true;
  } catch (const DataError& e) {
    session.worker().submit("encode " + path, [message = std::string(e.what())](JobContext&) {
      throw std::runtime_error(message);  // errors reach the status bar through the worker
    });
  }
}

void VaePanel::request_view(Session& session, const VaeModelView& model) {
  VaeLab& lab = session.lab<VaeLab>();
  const int latent = model.config.latent;
  switch (view_) {
    case View::Training: break;
    case View::Sliders:
      lab.decode(kind_, z_);
      break;
    case View::Manifold:
      lab.manifold(kind_, std::min(manifold_x_, latent - 1), std::min(manifold_y_, latent - 1), manifold_range_,
                   manifold_n_, z_);
      break;
    case View::Interpolation:
      lab.interpolate(interp_a_, interp_b_, interp_steps_, slerp_);
      break;
    case View::Prior:
      lab.prior_samples(uint64_t(prior_seed_), 32);
      break;
    case View::Compare: break;  // draw_compare asks whenever any slot changes
    case View::Metrics: break;  // measured on request only: it takes a while
    case View::Map:
      if (map_pca_) lab.latent_map(kind_, -1, -1, map_points_);
      else lab.latent_map(kind_, std::min(map_x_, latent - 1), std::min(map_y_, latent - 1), map_points_);
      break;
  }
}

void VaePanel::draw_controls(Session& session, const VaeLabView& lab) {
  VaeLab& vae = session.lab<VaeLab>();
  ImGui::Text("Model");
  int kind = slot(kind_);
  for (int k : kSlotOrder) {
    const VaeModelView& m = lab.slot[k];
    char label[160];
    if (m.exists)
      snprintf(label, sizeof label, "%-7s %s, %d-D · epoch %.1f", kSlotNames[k], arch_name(m.config.arch), m.config.latent,
               m.epoch);
    else
      snprintf(label, sizeof label, "%-7s (none yet)", kSlotNames[k]);
    if (ImGui::RadioButton(label, &kind, k)) kind_ = AutoencoderKind(kind), model_signature_.clear(), model_id_ = 0;
  }
  ImGui::Separator();

  ImGui::Text("New %s", kind_name(kind_));
  new_config_.kind = kind_;
  int arch = int(new_config_.arch);
  ImGui::SetNextItemWidth(120);
  if (kind_ == AutoencoderKind::VAEGAN) new_config_.arch = AutoencoderArch::Conv;  // D and G are conv nets
  ImGui::BeginDisabled(kind_ == AutoencoderKind::VAEGAN);
  if (ImGui::Combo("arch", &arch, "MLP\0conv\0")) new_config_.arch = AutoencoderArch(arch);
  ImGui::EndDisabled();
  ImGui::SetNextItemWidth(120);
  ImGui::SliderInt("latent dims", &new_config_.latent, 2, 64);
  int recon = int(new_config_.recon);
  ImGui::SetNextItemWidth(120);
  if (ImGui::Combo("decoder", &recon, "Bernoulli (BCE)\0Gaussian (MSE)\0")) new_config_.recon = ReconLoss(recon);
  ImGui::Checkbox("binarise training images", &new_config_.binarize);
  if (ImGui::Button("New model")) {
    new_config_.beta = beta_;
    new_config_.learning_rate = learning_rate_;
    new_config_.pixel_weight = gan_weights_[0];
    new_config_.feature_weight = gan_weights_[1];
    new_config_.adversarial_weight = gan_weights_[2];
    vae.new_model(new_config_);
  }
  ImGui::SameLine();
  caption("replaces this slot");
  ImGui::Separator();

  const VaeModelView& m = lab.slot[slot(kind_)];
  ImGui::Text("Train");
  ImGui::SetNextItemWidth(120);
  ImGui::InputFloat("epochs", &epochs_, 1.f, 5.f, "%.1f");
  epochs_ = std::clamp(epochs_, 0.01f, 1000.f);
  ImGui::BeginDisabled(!m.exists);
  if (ImGui::Button("Train")) vae.train(kind_, epochs_);
  ImGui::SameLine();
  bool paused = session.worker().paused();
  if (ImGui::Button(paused ? "Resume" : "Pause")) session.worker().set_paused(!paused);
  ImGui::SameLine();
  if (ImGui::Button("Step")) {
    if (!paused) session.worker().set_paused(true);
    session.worker().step_once();
  }
  ImGui::SameLine();
  if (ImGui::Button("Stop")) session.worker().cancel();
  ImGui::EndDisabled();
  ImGui::SetNextItemWidth(120);
  if (ImGui::SliderFloat("β (live)", &beta_, 0.f, 10.f, "%.2f")) vae.set_beta(beta_);
  ImGui::SetNextItemWidth(120);
  if (ImGui::SliderFloat("learning rate", &learning_rate_, 1e-5f, 1e-2f, "%.5f", ImGuiSliderFlags_Logarithmic))
    vae.set_learning_rate(learning_rate_);
  if (kind_ == AutoencoderKind::VAEGAN) {
    // Larsen et al.'s weights: the pixel term keeps colours honest, D's features carry the shapes,
    // the adversarial term pushes the decoder off the blurry average.
    const char* names[3] = {"pixel BCE weight", "D-feature recon weight", "adversarial weight"};
    bool changed = false;
    for (int i = 0; i < 3; ++i) {
      ImGui::SetNextItemWidth(120);
      changed |= ImGui::SliderFloat(names[i], &gan_weights_[size_t(i)], 0.f, 100.f, "%.2f", ImGuiSliderFlags_Logarithmic);
    }
    if (changed) vae.set_gan_weights(gan_weights_[0], gan_weights_[1], gan_weights_[2]);
  }
  if (m.exists && m.images_per_s > 0) ImGui::TextDisabled("%.0f images/s", m.images_per_s);
  ImGui::Separator();

  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##path", path_, sizeof path_);
  ImGui::BeginDisabled(!m.exists);
  if (ImGui::Button("Save")) vae.save(kind_, path_);
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Load")) vae.load(path_);
  draw_save_state(m.saved, m.step);
  ImGui::Separator();

  // The objective with its live numbers.
  if (m.exists) {
    const VaeLosses& l = m.last;
    if (m.config.kind == AutoencoderKind::VAEGAN) {
      const VaeConfig& c = m.config;
      ImGui::Text("L_enc = β·KL + w_px·BCE + w_f·‖D_l(x) − D_l(x̃)‖²/2");
      ImGui::Text("  = %.2f×%.1f + %.2f×%.1f + %.2f×%.1f", c.beta, l.kl, c.pixel_weight, l.recon, c.feature_weight, m.feature);
      ImGui::Text("L_dec = w_px·BCE + w_f·feat + w_adv·(−log D(x̃), −log D(x_p))");
      ImGui::Text("  adversarial %.3f × %.2f", m.adversarial, c.adversarial_weight);
      ImGui::Text("L_D = %.3f   D(x) %.2f   D(decoded) %.2f", m.d_loss, m.d_real, m.d_fake);
      ImGui::TextDisabled("x̃ = dec(z), z = μ + σ·ε;  x_p = dec(z_p), z_p ~ N(0, I)");
      ImGui::TextDisabled("D_l: D's second conv layer, the feature space");
    } else if (variational(m.config.kind)) {
      ImGui::Text("L = recon + β·KL");
      ImGui::Text("  = %.1f + %.2f × %.2f", l.recon, m.config.beta, l.kl);
      ImGui::Text("  = %.1f nats / image", l.total);
      ImGui::TextDisabled("z = μ + σ·ε,  ε ~ N(0, I)");
      ImGui::TextDisabled("KL = ½ Σ (μ² + σ² − 1 − log σ²)");
    } else {
      ImGui::Text("L = recon = %.1f", l.recon);
      ImGui::TextDisabled("z = encoder(x): no KL, no noise");
    }
  }
}

void VaePanel::draw_training(ImageRenderer& renderer, const VaeModelView& m, uint64_t stamp) {
  const float width = ImGui::GetContentRegionAvail().x;
  PlotSeries total{"train L", kTotalColor, {}, {}}, recon{"recon", kReconColor, {}, {}}, kl{"KL", kKlColor, {}, {}};
  PlotSeries test{"test L", kTestColor, {}, {}, true}, test_kl{"test KL", kTestColor, {}, {}, true};
  for (const VaeLosses& l : m.train) {
    total.x.push_back(float(l.step)), total.y.push_back(l.total);
    recon.x.push_back(float(l.step)), recon.y.push_back(l.recon);
    kl.x.push_back(float(l.step)), kl.y.push_back(l.kl);
  }
  for (const VaeLosses& l : m.test) {
    test.x.push_back(float(l.step)), test.y.push_back(l.total);
    test_kl.x.push_back(float(l.step)), test_kl.y.push_back(l.kl);
  }
  const float half = (width - 8) / 2;
  caption("loss per image (nats), train smoothed, test per epoch");
  line_plot("loss", {total, recon, test}, ImVec2(half, 170));
  ImGui::SameLine();
  if (variational(m.config.kind)) {
    line_plot("kl", {kl, test_kl}, ImVec2(half, 170));
  } else {
    ImGui::TextDisabled("the AE has no KL term");
  }

  if (variational(m.config.kind)) {
    caption("KL per latent dimension on 500 test images: near 0 = collapsed (unused), larger = carries information");
    std::vector<std::string> labels;
    for (size_t d = 0; d < m.kl_per_dim.size(); ++d) labels.push_back(std::to_string(d));
    bar_plot("kl-dims", m.kl_per_dim, labels, ImVec2(width, 90), kKlColor);
  }

  reconstructions_.update(renderer, stamp, m.reconstructions.image);
  ImGui::BeginGroup();
  caption("fixed test images");
  show_grid(originals_, half, 4);
  ImGui::EndGroup();
  ImGui::SameLine();
  ImGui::BeginGroup();
  caption("their reconstructions (decoder of μ), live");
  show_grid(reconstructions_, half, 4);
  ImGui::EndGroup();
}

void VaePanel::draw_sliders(Session& session, ImageRenderer& renderer, const VaeModelView& m) {
  const int latent = m.config.latent;
  if (int(z_.size()) != latent) z_.assign(size_t(latent), 0.f);
  auto decoded = session.lab<VaeLab>().decoded().get();
  if (decoded && decoded->stamp != decoded_stamp_) {
    decoded_stamp_ = decoded->stamp;
    if (decoded->value.from_encoding && int(decoded->value.z.size()) == latent) z_ = decoded->value.z;
  }
  bool changed = false;
  ImGui::BeginChild("sliders", ImVec2(330, 0));
  if (ImGui::Button("all zero")) std::fill(z_.begin(), z_.end(), 0.f), changed = true;
  ImGui::SameLine();
  if (ImGui::Button("sample N(0, I)")) {
    static uint32_t state = 12345;
    for (float& v : z_) {  // Box-Muller on a small LCG: UI-side randomness needs no torch
      state = state * 1664525u + 1013904223u;
      float u1 = (float(state >> 8) + 1.f) / 16777217.f;
      state = state * 1664525u + 1013904223u;
      float u2 = float(state >> 8) / 16777216.f;
      v = std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
    }
    changed = true;
  }
  caption(variational(m.config.kind) ? "dims ordered by KL (most used first)" : "AE dims");
  const std::vector<int>& order = m.dims_by_kl.size() == size_t(latent) ? m.dims_by_kl : std::vector<int>();
  for (int i = 0; i < latent; ++i) {
    int d = order.empty() ? i : order[size_t(i)];
    char label[64];
    if (variational(m.config.kind) && size_t(d) < m.kl_per_dim.size())
      snprintf(label, sizeof label, "z%d  KL %.2f", d, m.kl_per_dim[size_t(d)]);
    else
      snprintf(label, sizeof label, "z%d", d);
    constexpr float kSliderWidth = 170;
    ImGui::SetNextItemWidth(kSliderWidth);
    changed |= ImGui::SliderFloat(label, &z_[size_t(d)], -3.f, 3.f, "%.2f");
    if (i == 0) {  // the slider's frame, without its label
      ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
      first_slider_rect_ = {min.x, min.y, min.x + kSliderWidth, max.y};
    }
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("decoded", ImVec2(0, 0));
  if (decoded && int(decoded->value.z.size()) == latent) {
    decoded_.update(renderer, decoded->stamp, decoded->value.image);
    // Latency = the age of the slider position this image shows: from the change that asked for it
    // to the frame that draws it. Superseded requests never get an image and drop out here.
    while (!sent_.empty() && sent_.front().first < decoded->value.request) sent_.pop_front();
    if (!sent_.empty() && sent_.front().first == decoded->value.request) {
      latencies_ms_.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent_.front().second).count());
      sent_.pop_front();
    }
    float zoom = 10.f;
    image_view(decoded_, zoom, zoom, zoom);
    if (!latencies_ms_.empty()) {
      std::vector<double> sorted = latencies_ms_;
      std::sort(sorted.begin(), sorted.end());
      ImGui::TextDisabled("slider → image: median %.1f ms over %zu changes", sorted[sorted.size() / 2], sorted.size());
    }
    const LatentDecode& d = decoded->value;
    ImGui::Text("−log p(z) = ½‖z‖² + (L/2)·log 2π = %.2f nats", d.neg_log_prior);
    if (d.from_encoding) {
      if (d.source_index >= 0) ImGui::Text("encoded test image #%" PRId64 ": z = μ", d.source_index);
      else ImGui::Text("encoded a dropped picture: z = μ");
      if (variational(m.config.kind)) ImGui::Text("KL(q(z|x) ‖ p(z)) = %.2f nats", d.kl);
    }
  } else {
    caption("move a slider, or click a test image below");
  }
  if (sweep_ && !order.empty()) {
    z_[size_t(order[0])] = 2.5f * std::sin(0.05f * float(sweep_frame_++));
    changed = true;
  }
  if (changed) {
    sent_.emplace_back(session.lab<VaeLab>().decode(kind_, z_), std::chrono::steady_clock::now());
    if (sent_.size() > 256) sent_.pop_front();
  }
  // The decoder's layers for the code on the sliders: asked again for every new decoded image (a
  // slider moved, or training changed the weights) and when another layer is picked.
  if (ImGui::CollapsingHeader("Decoder layers for this z") && decoded) {
    VaeLab& lab = session.lab<VaeLab>();
    auto layers = lab.layers().get();
    if (draw_layer_view(layers_, renderer, layers.get()) || decoded->stamp != layers_for_) {
      lab.inspect_layers(kind_, decoded->value.z, layers_.layer);
      layers_for_ = decoded->stamp;
    }
  }
  ImGui::Separator();
  caption("click a test image to encode it (or drop a picture on the window)");
  show_grid(originals_, ImGui::GetContentRegionAvail().x, 3);
  if (ImGui::IsItemClicked()) {
    ImVec2 rect = ImGui::GetItemRectMin();
    float zoom = ImGui::GetItemRectSize().x / float(originals_.width());
    int x = int((ImGui::GetIO().MousePos.x - rect.x) / zoom), y = int((ImGui::GetIO().MousePos.y - rect.y) / zoom);
    int cell = m.originals.cell_at(x, y);
    if (cell >= 0) session.lab<VaeLab>().encode_test_image(kind_, m.originals.indices[size_t(cell)]);
  }
  ImGui::EndChild();
}

void VaePanel::draw_manifold(Session& session, ImageRenderer& renderer, const VaeModelView& m) {
  const int latent = m.config.latent;
  bool changed = false;
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("x dim", &manifold_x_, 0, latent - 1);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("y dim", &manifold_y_, 0, latent - 1);
  ImGui::SameLine();
  if (ImGui::Button("top-2 KL dims") && m.dims_by_kl.size() >= 2)
    manifold_x_ = m.dims_by_kl[0], manifold_y_ = m.dims_by_kl[1], changed = true;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("n", &manifold_n_, 3, 24);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderFloat("range ±", &manifold_range_, 0.5f, 5.f, "%.1f");
  caption("decoded codes on a grid over two dims; the other dims stay at the slider code");
  if (changed) request_view(session, m);
  auto view = session.lab<VaeLab>().manifold_view().get();
  if (!view) return;
  manifold_.update(renderer, view->stamp, view->value.grid.image);
  float side = std::min(ImGui::GetContentRegionAvail().x, ImGui::GetContentRegionAvail().y);
  float zoom = std::max(1.f, side / float(manifold_.width()));
  image_view(manifold_, zoom, zoom, zoom);
}

void VaePanel::draw_interpolation(Session& session, ImageRenderer& renderer, const VaeLabView& lab) {
  bool changed = false;
  const int64_t test_count = lab.slot[slot(kind_)].exists ? 10000 : 1;
  ImGui::SetNextItemWidth(120);
  changed |= ImGui::InputInt("from test #", &interp_a_);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(120);
  changed |= ImGui::InputInt("to test #", &interp_b_);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("steps", &interp_steps_, 2, 16);
  ImGui::SameLine();
  changed |= ImGui::Checkbox("slerp", &slerp_);
  interp_a_ = std::clamp(interp_a_, 0, int(test_count - 1));
  interp_b_ = std::clamp(interp_b_, 0, int(test_count - 1));
  if (changed) request_view(session, lab.slot[slot(kind_)]);
  caption("the two test images at the ends; between them, decoded codes along the line (lerp) or the arc (slerp)");
  auto view = session.lab<VaeLab>().interpolation().get();
  if (!view) return;
  for (int k : kSlotOrder) {
    ImGui::Text("%s", kSlotNames[k]);
    if (view->value.strip[k].image.empty()) {
      ImGui::SameLine();
      caption("none yet: create or load one to compare its in-betweens");
      continue;
    }
    strip_[k].update(renderer, view->stamp, view->value.strip[k].image);
    show_grid(strip_[k], ImGui::GetContentRegionAvail().x, 4);
  }
  // Play: step through the in-betweens one at a time, large, for both models.
  ImGui::Separator();
  const int last = view->value.steps - 1;
  if (ImGui::Button(playing_ ? "pause" : "play")) playing_ = !playing_;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(300);
  ImGui::SliderInt("in-between", &play_index_, 0, std::max(0, last));
  if (playing_ && ImGui::GetFrameCount() % 12 == 0) play_index_ = play_index_ >= last ? 0 : play_index_ + 1;
  play_index_ = std::clamp(play_index_, 0, std::max(0, last));
  for (int k : kSlotOrder) {
    const ImageGrid& strip = view->value.strip[k];
    if (strip.image.empty()) continue;
    const uint64_t frame_key = view->stamp * 64 + uint64_t(play_index_);  // changes with the strip or the index
    play_[k].update(renderer, frame_key, grid_cell(strip, play_index_ + 1));  // cell 0 is the start image
    ImGui::BeginGroup();
    ImGui::Text("%s  t = %.2f", kSlotNames[k], last > 0 ? float(play_index_) / float(last) : 0.f);
    float zoom = 6.f;
    image_view(play_[k], zoom, zoom, zoom);
    ImGui::EndGroup();
    ImGui::SameLine();
  }
  ImGui::NewLine();
}

void VaePanel::draw_prior(Session& session, ImageRenderer& renderer, const VaeLabView& lab) {
  ImGui::SetNextItemWidth(120);
  if (ImGui::InputInt("seed", &prior_seed_)) request_view(session, lab.slot[slot(kind_)]);
  caption("decoder(z) for z ~ N(0, I): the VAE's KL term shaped its codes to fit this prior; the AE's codes never were");
  auto view = session.lab<VaeLab>().prior().get();
  if (!view) return;
  const float third = (ImGui::GetContentRegionAvail().x - 16) / 3;
  for (int k : kSlotOrder) {
    ImGui::BeginGroup();
    ImGui::Text("%s samples", kSlotNames[k]);
    if (view->value.samples[k].image.empty()) {
      caption("none yet");
    } else {
      prior_[k].update(renderer, view->stamp, view->value.samples[k].image);
      show_grid(prior_[k], third, 4);
    }
    ImGui::EndGroup();
    if (k) ImGui::SameLine();
  }
}

void VaePanel::draw_compare(Session& session, ImageRenderer& renderer, const VaeLabView& lab) {
  // Asked again whenever any slot's model changes (one appears, trains, loads), not only the picked one.
  std::string slots;
  for (const VaeModelView& m : lab.slot) slots += std::to_string(m.id) + "/" + std::to_string(m.step) + " ";
  ImGui::SetNextItemWidth(120);
  const bool reseeded = ImGui::InputInt("seed", &prior_seed_);
  if (reseeded || slots != compare_slots_) {
    compare_slots_ = slots;
    session.lab<VaeLab>().compare(uint64_t(prior_seed_), 500);
  }
  ImGui::SameLine();
  caption("the same test images and the same N(0, I) draws through every model; sharpness = var(Laplacian) / real's");
  ImGui::TextWrapped(
      "VAE blur: the decoder is trained to the average of every image its code could have come from, and the KL "
      "term blurs the codes on purpose. VAE-GAN measures the reconstruction in a discriminator's features and "
      "adds its adversarial loss, so the decoder is paid for edges a real image would have.");
  auto view = session.lab<VaeLab>().comparison().get();
  if (!view) return;
  const CompareView& v = view->value;
  if (auto latest = session.lab<VaeLab>().quality().get())
    for (int k = 0; k < kAutoencoderKinds; ++k)
      if (latest->value.what.rfind(std::string(kind_name(AutoencoderKind(k))) + " ", 0) == 0) quality_[k] = latest;
  const float column = (ImGui::GetContentRegionAvail().x - 24) / 4;
  if (!ImGui::BeginTable("compare", 1 + kAutoencoderKinds, ImGuiTableFlags_SizingStretchSame)) return;
  // Row 1: the test images and each model's reconstructions of them.
  ImGui::TableNextColumn();
  ImGui::Text("test images");
  ImGui::TextDisabled("sharpness 1.00 by definition");
  compare_originals_.update(renderer, view->stamp, v.originals.image);
  show_grid(compare_originals_, column - 8, 3);
  for (int k : kSlotOrder) {
    ImGui::TableNextColumn();
    ImGui::Text("%s reconstructions", kSlotNames[k]);
    if (v.reconstructions[k].image.empty()) {
      caption("none yet");
      continue;
    }
    ImGui::Text("sharpness %.2f · BCE %.1f nats", v.recon_sharpness[k], v.recon_bce[k]);
    compare_recon_[k].update(renderer, view->stamp, v.reconstructions[k].image);
    show_grid(compare_recon_[k], column - 8, 3);
  }
  // Row 2: each model's decodes of the same prior draws.
  ImGui::TableNextColumn();
  ImGui::TextWrapped("prior samples: decoder(z), z ~ N(0, I), the same z for every model");
  for (int k : kSlotOrder) {
    ImGui::TableNextColumn();
    if (v.samples[k].image.empty()) continue;
    ImGui::Text("%s samples: sharpness %.2f", kSlotNames[k], v.sample_sharpness[k]);
    compare_samples_[k].update(renderer, view->stamp, v.samples[k].image);
    show_grid(compare_samples_[k], column - 8, 3);
    if (quality_[k] && quality_[k]->value.has_main) {
      const QualityReport& r = quality_[k]->value.main;
      ImGui::Text("FID-LeNet %.1f · P %.2f · R %.2f", r.fid, r.precision, r.recall);
    } else {
      caption("FID-LeNet: Metrics › Measure");
    }
  }
  ImGui::EndTable();
  ImGui::TextDisabled("%d test images and %d samples behind each sharpness figure", v.images, v.images);
}

void VaePanel::draw_map(Session& session, const VaeModelView& m) {
  const int latent = m.config.latent;
  bool changed = false;
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("x dim", &map_x_, 0, latent - 1);
  ImGui::SameLine();
  ImGui::SetNextItemWidth(100);
  changed |= ImGui::SliderInt("y dim", &map_y_, 0, latent - 1);
  ImGui::SameLine();
  if (ImGui::Button("top-2 KL dims##map") && m.dims_by_kl.size() >= 2)
    map_x_ = m.dims_by_kl[0], map_y_ = m.dims_by_kl[1], changed = true;
  ImGui::SameLine();
  changed |= ImGui::Checkbox("PCA", &map_pca_);
  if (changed) request_view(session, m);
  caption("μ of test images in two dims, coloured by label; click a point to decode it");
  auto view = session.lab<VaeLab>().latent_map_view().get();
  if (!view || view->value.x.empty()) return;
  const LatentMapView& v = view->value;
  float side = std::min(ImGui::GetContentRegionAvail().x - 160, ImGui::GetContentRegionAvail().y - 4);
  ImVec2 origin = ImGui::GetCursorScreenPos();
  ImGui::InvisibleButton("map", ImVec2(side, side));
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(origin, ImVec2(origin.x + side, origin.y + side), IM_COL32(25, 25, 30, 255));
  float extent = 1e-3f;
  for (size_t i = 0; i < v.x.size(); ++i) extent = std::max({extent, std::fabs(v.x[i]), std::fabs(v.y[i])});
  extent *= 1.05f;
  auto to_screen = [&](float x, float y) {
    return ImVec2(origin.x + (x / extent * 0.5f + 0.5f) * side, origin.y + (0.5f - y / extent * 0.5f) * side);
  };
  draw->AddLine(to_screen(-extent, 0), to_screen(extent, 0), IM_COL32(255, 255, 255, 40));
  draw->AddLine(to_screen(0, -extent), to_screen(0, extent), IM_COL32(255, 255, 255, 40));
  // The prior's 1σ and 2σ circles: where a VAE's codes should sit.
  for (float r : {1.f, 2.f}) draw->AddCircle(to_screen(0, 0), r / extent * 0.5f * side, IM_COL32(255, 255, 255, 50), 64);
  int nearest = -1;
  float nearest_d2 = 36.f;
  ImVec2 mouse = ImGui::GetIO().MousePos;
  for (size_t i = 0; i < v.x.size(); ++i) {
    ImVec2 p = to_screen(v.x[i], v.y[i]);
    draw->AddCircleFilled(p, 2.f, class_color(v.labels[i], 200), 6);
    float d2 = (p.x - mouse.x) * (p.x - mouse.x) + (p.y - mouse.y) * (p.y - mouse.y);
    if (ImGui::IsItemHovered() && d2 < nearest_d2) nearest_d2 = d2, nearest = int(i);
  }
  auto lab = session.lab<VaeLab>().view().get();
  auto open = session.dataset().get();
  if (nearest >= 0) {
    draw->AddCircle(to_screen(v.x[size_t(nearest)], v.y[size_t(nearest)]), 5.f, IM_COL32(255, 255, 255, 255));
    std::string name = open ? open->value.data->class_name(v.labels[size_t(nearest)]) : "";
    ImGui::SetTooltip("test #%" PRId64 " · %s\nμ = (%.2f, %.2f)", v.indices[size_t(nearest)], name.c_str(),
                      v.x[size_t(nearest)], v.y[size_t(nearest)]);
    if (ImGui::IsItemClicked()) {
      session.lab<VaeLab>().encode_test_image(kind_, v.indices[size_t(nearest)]);
      view_ = requested_view_ = View::Sliders;
      view_from_flag_ = true;
    }
  }
  ImGui::SameLine();
  ImGui::BeginGroup();
  if (v.dim_x < 0) ImGui::Text("PC1 →, PC2 ↑ (%.0f %% of the variance)", 100.f * v.explained);
  else ImGui::Text("z%d →, z%d ↑", v.dim_x, v.dim_y);
  if (open)
    for (size_t c = 0; c < open->value.data->class_names.size(); ++c)
      ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(class_color(int(c))), "■ %s", open->value.data->class_names[c].c_str());
  ImGui::EndGroup();
}

void VaePanel::draw_metrics(Session& session) {
  // The lab keeps one measurement; the panel keeps each slot's newest, told apart by what it says it
  // measured ("vae prior samples, ...").
  if (auto latest = session.lab<VaeLab>().quality().get())
    for (int k = 0; k < kAutoencoderKinds; ++k)
      if (latest->value.what.rfind(std::string(kind_name(AutoencoderKind(k))) + " ", 0) == 0) quality_[k] = latest;
  const int k = slot(kind_);
  char what[96];
  snprintf(what, sizeof what, "Measure scores the %s (picked on the left): decoder(z) for z ~ N(0, I).", kSlotNames[k]);
  caption(what);
  if (draw_quality_controls(quality_controls_, session.worker(), false))
    session.lab<VaeLab>().measure_quality(kind_, quality_controls_.options());
  for (int other : kSlotOrder) {
    if (other == k || !quality_[other] || !quality_[other]->value.has_main) continue;
    const QualityReport& r = quality_[other]->value.main;
    ImGui::TextDisabled("the %s, measured at step %" PRId64 ": FID-LeNet %.2f · precision %.3f · recall %.3f · sharpness %.2f",
                        kSlotNames[other], quality_[other]->value.model_step, r.fid, r.precision, r.recall, r.sharpness);
  }
  ImGui::Separator();
  auto open = session.dataset().get();
  const std::vector<std::string> no_names;
  draw_quality(quality_[k] ? &quality_[k]->value : nullptr, open ? open->value.data->class_names : no_names);
}

void VaePanel::draw(Session& session, ImageRenderer& renderer) {
  // Two labs share the tab: Gaussian latents (AE, VAE, VAE-GAN) and discrete codes (VQ-VAE). A VQ
  // model opened from the menu brings its mode forward.
  if (auto vq = session.lab<VqLab>().view().get(); vq && vq->value.vq.exists && vq->value.vq.id != vq_seen_) {
    vq_seen_ = vq->value.vq.id;
    vq_mode_ = true;
  }
  int mode = vq_mode_ ? 1 : 0;
  ImGui::RadioButton("Gaussian latent: AE · VAE · VAE-GAN", &mode, 0);
  ImGui::SameLine();
  ImGui::RadioButton("Discrete codes: VQ-VAE + prior", &mode, 1);
  vq_mode_ = mode == 1;
  if (vq_mode_ && !vq_opened_) {
    // The first time the mode shows without a VQ model: the shipped VQ-VAE and its prior.
    vq_opened_ = true;
    auto vq = session.lab<VqLab>().view().get();
    const std::string shipped = find_shipped_model("vqprior-fashion.safetensors");
    // (Queued behind the start's data set job, so it finds the data open.)
    if ((!vq || !vq->value.vq.exists) && !shipped.empty()) session.lab<VqLab>().load(shipped);
  }
  if (vq_mode_) return vq_.draw(session, renderer);

  auto lab_snapshot = session.lab<VaeLab>().view().get();
  VaeLabView empty;
  const VaeLabView& lab = lab_snapshot ? lab_snapshot->value : empty;
  // A model that appears (opened from the menu or --load) while an empty slot is picked comes forward;
  // picking an empty slot on purpose (to create a model there) stays as it is.
  for (int k : kSlotOrder) {
    if (lab.slot[k].id == slot_ids_[k]) continue;
    slot_ids_[k] = lab.slot[k].id;
    if (lab.slot[k].exists && !lab.slot[slot(kind_)].exists) kind_ = AutoencoderKind(k);
  }
  const VaeModelView& model = lab.slot[slot(kind_)];

  ImGui::BeginChild("vae-controls", ImVec2(300, 0), true);
  draw_controls(session, lab);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("vae-views", ImVec2(0, 0));
  if (!model.exists) {
    ImGui::Spacing();
    ImGui::TextWrapped(
        "No %s yet. Pick an architecture and press \"New model\", then \"Train\" — or load a checkpoint. "
        "An autoencoder compresses but cannot create: its codes leave holes. A VAE's KL term pulls every code "
        "toward N(0, I) and fills the space, at the price of blur; VAE-GAN adds a discriminator to take the blur "
        "back. Train them and compare them here.",
        kind_name(kind_));
    ImGui::EndChild();
    return;
  }
  if (ImGui::BeginTabBar("vae-views-tabs")) {
    for (int i = 0; i < kViews; ++i) {
      ImGuiTabItemFlags flags = (view_from_flag_ && int(requested_view_) == i) ? ImGuiTabItemFlags_SetSelected : 0;
      if (ImGui::BeginTabItem(kViewNames[i], nullptr, flags)) {
        if (View(i) != view_) view_ = View(i), model_signature_.clear();
        ImGui::EndTabItem();
      }
    }
    view_from_flag_ = false;
    ImGui::EndTabBar();
  }
  // Ask for the open view when the model changed outside training (new, loaded, trained further);
  // while training, the lab redraws the requested views itself.
  const bool training = session.worker().status()->value.job.rfind("train", 0) == 0;
  if (!training && signature(model) != model_signature_) {
    if (model.dims_by_kl.size() >= 2 && model.id != model_id_) {
      // A new model: start the two-dim views on its two most informative dims.
      manifold_x_ = map_x_ = model.dims_by_kl[0];
      manifold_y_ = map_y_ = model.dims_by_kl[1];
      model_id_ = model.id;
    }
    model_signature_ = signature(model);
    request_view(session, model);
  }
  // One snapshot holds both slots: the slot is part of what an upload shows.
  const uint64_t slot_stamp = lab_snapshot ? lab_snapshot->stamp * kAutoencoderKinds + uint64_t(slot(kind_)) : 0;
  originals_.update(renderer, slot_stamp, model.originals.image);
  switch (view_) {
    case View::Training: draw_training(renderer, model, slot_stamp); break;
    case View::Sliders: draw_sliders(session, renderer, model); break;
    case View::Manifold: draw_manifold(session, renderer, model); break;
    case View::Interpolation: draw_interpolation(session, renderer, lab); break;
    case View::Prior: draw_prior(session, renderer, lab); break;
    case View::Map: draw_map(session, model); break;
    case View::Compare: draw_compare(session, renderer, lab); break;
    case View::Metrics: draw_metrics(session); break;
  }
  ImGui::EndChild();
}

}  // namespace genlab::app
