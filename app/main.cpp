// genlab: the desktop front end. Owns the window, GL and ImGui on the main thread; every computation
// goes to the Session's worker, and the frame loop only reads its snapshots.
#include <glad/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>
#include <stb_image_write.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app/data_panel.h"
#include "app/diffusion/diffusion_panel.h"
#include "app/gan/gan_panel.h"
#include "app/gl_image.h"
#include "app/compare/compare_panel.h"
#include "app/panels.h"
#include "app/quit_dialog.h"
#include "app/soak.h"
#include "app/status_bar.h"
#include "app/translate/translate_panel.h"
#include "app/vae/vae_panel.h"
#include "core/families.h"
#include "core/gan/gan_lab.h"
#include "core/io/shipped.h"
#include "core/lab/follow.h"
#include "core/lab/session.h"
#include "core/vae/vae_lab.h"

namespace {

constexpr int kBadInput = 2;

struct Options {
  int frames = 0;  // 0: run until the window closes
  std::string screenshot;
  std::string tab = "data";
  bool frame_stats = false;
  std::string dataset = "fashion-mnist";
  int threads = 0;          // 0: cores - 1, the UI keeps a core
  int preview_threads = 0;  // 0: all cores (a preview while nothing trains)
  double cpu_load_s = -1;
  std::string shaders;
  int width = 1280, height = 800;
  bool vsync = true;
  std::vector<std::string> checkpoints;
  std::string vae_view;
  bool sweep_sliders = false;
  bool sweep_cfg = false;
  bool sweep_canvas = false;
  double vae_train_epochs = 0;
  bool gan_play = false;
  std::string gan_arch, gan_view, gan_mix;
  double gan_psi = 1;
  std::string restore_png;
  std::string diffusion_settings;
  std::string compare_settings;
  double soak_s = 0;
  double autosave_minutes = 5;
  std::string autosave_dir;
  int request_close_frame = 0;
  double run_seconds = 0;
  std::string follow;
};

// Where training is autosaved unless --autosave-dir says otherwise: the XDG state folder.
std::string default_autosave_dir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state) return std::string(state) + "/genlab/autosave";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/genlab/autosave";
  return {};
}

std::vector<std::string> autosaved_models(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".safetensors") out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_shader_dir(const std::string& requested) {
  namespace fs = std::filesystem;
  if (!requested.empty()) return requested;
  if (const char* env = std::getenv("GENLAB_SHADERS")) return env;
  for (const fs::path& dir : {fs::path(genlab::binary_dir()) / "shaders", fs::path(genlab::installed_data_dir()) / "shaders"})
    if (fs::exists(dir / "colormap.frag")) return dir.string();
  return GENLAB_SOURCE_SHADERS;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t at = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size())));
  return values[at];
}

void print_frame_stats(const std::vector<double>& frame_ms, const std::vector<double>& work_ms,
                       const genlab::app::VaePanel& vae, const genlab::app::DiffusionPanel& diffusion,
                       const genlab::app::TranslatePanel& translate, const genlab::app::GanPanel& gan, int w, int h) {
  const std::vector<double>& slider_ms = vae.slider_latencies_ms();
  std::printf(
      "{\"frames\":%zu,\"width\":%d,\"height\":%d,"
      "\"frame_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f},"
      "\"work_ms\":{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}",
      frame_ms.size(), w, h, percentile(frame_ms, 50), percentile(frame_ms, 95), percentile(frame_ms, 99),
      percentile(work_ms, 50), percentile(work_ms, 95), percentile(work_ms, 99));
  if (!slider_ms.empty())
    std::printf(",\"slider_to_image_ms\":{\"n\":%zu,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}", slider_ms.size(),
                percentile(slider_ms, 50), percentile(slider_ms, 95), percentile(slider_ms, 99));
  const std::vector<double>&first = diffusion.cfg_first_step_ms(), &last = diffusion.cfg_last_step_ms();
  if (!last.empty())
    std::printf(",\"diffusion_change_to_step_ms\":{\"runs\":%zu,\"first_p50\":%.1f,\"first_p95\":%.1f,"
                "\"last_p50\":%.1f,\"last_p95\":%.1f}",
                last.size(), percentile(first, 50), percentile(first, 95), percentile(last, 50), percentile(last, 95));
  const std::vector<double>&pfirst = diffusion.prompt_view().first_step_ms(), &plast = diffusion.prompt_view().last_step_ms();
  if (!plast.empty())
    std::printf(",\"prompt_change_to_step_ms\":{\"runs\":%zu,\"first_p50\":%.1f,\"first_p95\":%.1f,"
                "\"last_p50\":%.1f,\"last_p95\":%.1f}",
                plast.size(), percentile(pfirst, 50), percentile(pfirst, 95), percentile(plast, 50), percentile(plast, 95));
  const std::vector<double>& canvas_ms = translate.canvas_latencies_ms();
  if (!canvas_ms.empty())
    std::printf(",\"canvas_to_output_ms\":{\"n\":%zu,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}", canvas_ms.size(),
                percentile(canvas_ms, 50), percentile(canvas_ms, 95), percentile(canvas_ms, 99));
  const std::vector<double>& style_ms = gan.style_latencies_ms();
  if (!style_ms.empty())
    std::printf(",\"style_mix_redraw_ms\":{\"n\":%zu,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}", style_ms.size(),
                percentile(style_ms, 50), percentile(style_ms, 95), percentile(style_ms, 99));
  const std::array<float, 4>& slider = vae.first_slider_rect();
  std::printf(",\"vae_first_slider\":[%.0f,%.0f,%.0f,%.0f]}\n", slider[0], slider[1], slider[2], slider[3]);
  std::fflush(stdout);
}

bool write_screenshot(const std::string& path, int width, int height) {
  std::vector<unsigned char> rgba(size_t(width) * height * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
  stbi_flip_vertically_on_write(1);  // GL rows start at the bottom
  return stbi_write_png(path.c_str(), width, height, 4, rgba.data(), width * 4) != 0;
}

void setup_style() {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 0.f;
  style.FrameRounding = 3.f;
  style.GrabRounding = 3.f;
  style.ChildRounding = 3.f;
  style.FramePadding = ImVec2(6, 4);
  style.ItemSpacing = ImVec2(8, 6);
  ImGuiIO& io = ImGui::GetIO();
  // The installed tree's copy, else Debian's fonts-dejavu-core.
  std::string font = genlab::installed_data_dir() + "/fonts/DejaVuSans.ttf";
  if (!std::filesystem::exists(font)) font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  // Latin (with ẑ), Greek (with ᾱ), punctuation, sub/superscripts, arrows, math operators and shapes: the labs
  // write their formulas (β·KL, √ᾱ_t, ε_w) in text.
  static const ImWchar ranges[] = {0x0020, 0x00FF, 0x0300, 0x03FF, 0x1E00, 0x1FFF, 0x2000, 0x209F,
                                   0x2190, 0x21FF, 0x2200, 0x22FF, 0x25A0, 0x25FF, 0};
  if (std::filesystem::exists(font)) io.Fonts->AddFontFromFileTTF(font.c_str(), 15.f, nullptr, ranges);
  io.IniFilename = nullptr;  // layout is code; no imgui.ini littering the working folder
}

struct DropQueue {
  std::vector<std::string> paths;
};

void on_drop(GLFWwindow* window, int count, const char** paths) {
  auto* queue = static_cast<DropQueue*>(glfwGetWindowUserPointer(window));
  for (int i = 0; i < count; ++i) queue->paths.emplace_back(paths[i]);
}

// Opens a checkpoint in its family's lab and returns the family's name; a bad file is reported in
// the status line and on stderr, and the app goes on.
std::string open_checkpoint(genlab::Session& session, const std::string& path) {
  try {
    return genlab::open_in_lab(session, path).name;
  } catch (const std::exception& e) {
    std::cerr << "genlab: " << e.what() << "\n";
    session.worker().submit("load " + path, [message = std::string(e.what())](genlab::JobContext&) {
      throw std::runtime_error(message);
    });
    return "";
  }
}

// File › Follow checkpoint…: a path typed in; the shell then reloads it whenever it is replaced.
class FollowDialog {
 public:
  void open() { open_requested_ = true; }
  // Returns the path to follow once the user confirms one, else "".
  std::string draw() {
    if (open_requested_) ImGui::OpenPopup("Follow checkpoint");
    open_requested_ = false;
    std::string chosen;
    if (!ImGui::BeginPopupModal("Follow checkpoint", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return chosen;
    ImGui::TextDisabled("a .safetensors that a run rewrites (genlab-cli train --checkpoint-every S, or a shared folder):");
    ImGui::TextDisabled("its lab reloads it each time it is replaced, curves included");
    ImGui::SetNextItemWidth(520);
    bool enter = ImGui::InputText("##path", path_, sizeof path_, ImGuiInputTextFlags_EnterReturnsTrue);
    if ((ImGui::Button("Follow") || enter) && path_[0]) {
      chosen = path_;
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
    return chosen;
  }

 private:
  bool open_requested_ = false;
  char path_[1024] = "";
};

class OpenDataDialog {
 public:
  void open() { open_requested_ = true; }
  void draw(genlab::Session& session) {
    if (open_requested_) ImGui::OpenPopup("Open data set");
    open_requested_ = false;
    if (!ImGui::BeginPopupModal("Open data set", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) return;
    ImGui::TextDisabled("fashion-mnist · mnist:FOLDER · folder:IMAGES · or a path (also by drag-and-drop)");
    ImGui::SetNextItemWidth(520);
    bool enter = ImGui::InputText("##spec", spec_, sizeof spec_, ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SetNextItemWidth(120);
    ImGui::SliderInt("image size (folders)", &options_.image_size, 8, 128);
    bool rgb = options_.channels == 3;
    if (ImGui::Checkbox("RGB (folders)", &rgb)) options_.channels = rgb ? 3 : 1;
    if (ImGui::Button("Open") || enter) {
      std::string spec = spec_;
      bool known = spec.rfind("fashion-mnist", 0) == 0 || spec.find(':') != std::string::npos;
      session.open_dataset(known ? spec : genlab::detect_spec(spec), options_);
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }

 private:
  bool open_requested_ = false;
  char spec_[1024] = "fashion-mnist";
  genlab::LoadOptions options_;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App cli{"genlab: a desktop explorer for image generative models (VAE, GAN, diffusion)"};
  cli.add_option("--frames", opt.frames, "render N frames after start-up jobs finish, then exit (0: run)")
      ->check(CLI::NonNegativeNumber);
  cli.add_option("--screenshot", opt.screenshot, "write a PNG of the window after the last frame");
  std::vector<std::string> tab_ids = {"data"};
  for (const genlab::Family& family : genlab::families())
    if (family.open_in_lab) tab_ids.push_back(family.name);
  tab_ids.push_back("compare");
  cli.add_option("--tab", opt.tab, "tab to open")->check(CLI::IsMember(tab_ids));
  cli.add_flag("--frame-stats", opt.frame_stats, "print frame-time p50/p95/p99 (ms) as JSON at exit");
  cli.add_option("--dataset", opt.dataset, "fashion-mnist, mnist:PATH, folder:PATH or a path");
  cli.add_option("--threads", opt.threads, "compute threads while a model trains (0: cores - 1)")
      ->check(CLI::NonNegativeNumber);
  cli.add_option("--preview-threads", opt.preview_threads,
                 "compute threads for previews (sampling, decoding) while nothing trains (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  cli.add_option("--cpu-load", opt.cpu_load_s, "run a dummy CPU job for S seconds (0: until exit)")
      ->check(CLI::NonNegativeNumber);
  cli.add_option("--load", opt.checkpoints, "open checkpoints (.safetensors) in their labs");
  cli.add_option("--follow", opt.follow,
                 "open a checkpoint in its lab and reload it whenever it is replaced (a run that writes it, here or "
                 "through a shared folder)");
  cli.add_option("--vae-view", opt.vae_view,
                 "VAE view to open: training, sliders, manifold, interpolation, prior, latent, compare, metrics; or the "
                 "VQ-VAE's vq-usage, vq-codemap, vq-codebook, vq-prior")
      ->check(CLI::IsMember({"training", "sliders", "manifold", "interpolation", "prior", "latent", "compare", "metrics",
                             "vq-usage", "vq-codemap", "vq-codebook", "vq-prior"}));
  cli.add_option("--vae-train", opt.vae_train_epochs, "train the VAE for E epochs at start (a new conv VAE unless --load gave one)")
      ->check(CLI::PositiveNumber);
  cli.add_option("--restore", opt.restore_png, "a sample PNG from genlab: restore its diffusion parameters and model");
  cli.add_option("--compare", opt.compare_settings,
                 "the Compare tab: run (measure on first show), samples=N, models=A.safetensors;B.safetensors, view=samples|table");
  cli.add_option("--diffusion", opt.diffusion_settings,
                 "diffusion controls as key=value,...: sampler steps cfg eta class seed n detail show branch branch_cfg ...; view=prompt with prompt negative step image cost");
  cli.add_flag("--gan-play", opt.gan_play,
               "train the GAN from the start until stopped (a new cGAN, or of --gan-arch, unless --load gave one)");
  cli.add_option("--gan-arch", opt.gan_arch, "the GAN tab's architecture for a new model: dcgan, progan, stylegan")
      ->check(CLI::IsMember({"dcgan", "progan", "stylegan"}));
  cli.add_option("--gan-view", opt.gan_view, "GAN view to open: samples, fade, style-mixing, truncation, noise, z-vs-w, "
                                             "path-length, layers")
      ->check(CLI::IsMember(genlab::app::GanPanel::view_names()));
  cli.add_option("--gan-mix", opt.gan_mix, "StyleGAN mixing grid: B's styles at the coarse, middle or fine layers")
      ->check(CLI::IsMember({"coarse", "middle", "fine"}));
  auto* gan_psi = cli.add_option("--gan-psi", opt.gan_psi, "StyleGAN truncation psi, -1..1")->check(CLI::Range(-1.0, 1.0));
  cli.add_flag("--sweep-sliders", opt.sweep_sliders, "move the first VAE slider every frame (latency test)");
  cli.add_flag("--sweep-cfg", opt.sweep_cfg,
               "move the CFG scale each time a diffusion run finishes (with --frame-stats: change-to-step latency)");
  cli.add_flag("--sweep-canvas", opt.sweep_canvas,
               "draw on the Translate canvas every frame (with --frame-stats: stroke-to-output latency)");
  cli.add_option("--soak", opt.soak_s,
                 "run S seconds switching tabs every 10 s; print resident memory and live textures each minute")
      ->check(CLI::PositiveNumber);
  cli.add_option("--autosave-minutes", opt.autosave_minutes, "autosave training every M minutes and when it ends (0: off)")
      ->check(CLI::NonNegativeNumber);
  cli.add_option("--autosave-dir", opt.autosave_dir, "folder for autosaved models (default: $XDG_STATE_HOME/genlab/autosave)");
  cli.add_option("--request-close", opt.request_close_frame, "at frame F, ask to close the window as its close button does")
      ->check(CLI::PositiveNumber);
  cli.add_option("--run-seconds", opt.run_seconds,
                 "close the window S seconds after the start-up jobs finish (for tests that drive it with real input)")
      ->check(CLI::PositiveNumber);
  cli.add_option("--shaders", opt.shaders, "folder holding the GLSL files");
  cli.add_option("--vsync", opt.vsync, "wait for the display between frames (0: run unpaced)");
  cli.add_option("--width", opt.width, "window width")->check(CLI::Range(320, 8192));
  cli.add_option("--height", opt.height, "window height")->check(CLI::Range(240, 8192));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "genlab: " << e.what() << "\n";
    return kBadInput;
  }

  glfwSetErrorCallback([](int code, const char* text) { std::cerr << "genlab: GLFW error " << code << ": " << text << "\n"; });
  if (!glfwInit()) return 1;
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  GLFWwindow* window = glfwCreateWindow(opt.width, opt.height, "genlab", nullptr, nullptr);
  if (!window) {
    std::cerr << "genlab: cannot open an OpenGL 3.3 core window\n";
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(opt.vsync ? 1 : 0);
  if (!gladLoadGL(glfwGetProcAddress)) {
    std::cerr << "genlab: cannot load OpenGL 3.3 functions\n";
    return 1;
  }
  DropQueue drops;
  glfwSetWindowUserPointer(window, &drops);
  glfwSetDropCallback(window, on_drop);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  setup_style();
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");

  int exit_code = 0;
  try {
    genlab::app::ImageRenderer renderer(find_shader_dir(opt.shaders));
    const int threads = opt.threads > 0 ? opt.threads : std::max(1, genlab::hardware_cores() - 1);
    const int preview_threads = opt.preview_threads > 0 ? opt.preview_threads : genlab::hardware_cores();
    genlab::Session session(threads, preview_threads);
    // A result published while the loop waits for input wakes it, so it is drawn in the next frame.
    genlab::set_publish_listener(glfwPostEmptyEvent);
    if (opt.autosave_dir.empty()) opt.autosave_dir = default_autosave_dir();
    if (opt.autosave_minutes <= 0) opt.autosave_dir.clear();
    session.set_autosave(opt.autosave_dir, opt.autosave_minutes * 60);
    session.probe_machine();
    session.open_dataset(opt.dataset);
    bool loaded_gan = false;
    for (const std::string& path : opt.checkpoints) loaded_gan |= open_checkpoint(session, path) == "gan";
    // Started without checkpoints, the labs open on the models shipped in assets/models.
    uint64_t shipped = 0;
    if (opt.checkpoints.empty() && opt.follow.empty())
      for (const genlab::Family& family : genlab::families())
        for (const std::string& name : family.opened_at_start)
          if (const std::string path = genlab::find_shipped_model(name); !path.empty())
            open_checkpoint(session, path), ++shipped;
    // probe, data set, checkpoints (a followed one loads in the first frame)
    const uint64_t startup_jobs = 2 + opt.checkpoints.size() + shipped +
                                  (!opt.follow.empty() && std::filesystem::is_regular_file(opt.follow));
    std::vector<genlab::app::FamilyTab> tabs = genlab::app::make_family_tabs();
    genlab::app::GanPanel& gan_panel = *genlab::app::find_panel<genlab::app::GanPanel>(tabs);
    if (!opt.gan_arch.empty()) gan_panel.select_arch(genlab::arch_of_kind(opt.gan_arch));
    if (!opt.gan_view.empty()) gan_panel.select_view(opt.gan_view);
    if (!opt.gan_mix.empty()) gan_panel.set_style_mix(opt.gan_mix);
    if (gan_psi->count() > 0) gan_panel.set_psi(opt.gan_psi);
    if (opt.gan_play) {
      // The New GAN controls as set: a cGAN by default, else an unconditional model of --gan-arch.
      if (!loaded_gan) session.lab<genlab::GanLab>().new_model(gan_panel.new_model_config());
      session.lab<genlab::GanLab>().train(0);
    }
    if (opt.vae_train_epochs > 0) {
      if (opt.checkpoints.empty()) session.lab<genlab::VaeLab>().new_model(genlab::VaeConfig{});
      session.lab<genlab::VaeLab>().train(genlab::AutoencoderKind::VAE, opt.vae_train_epochs);
    }
    if (opt.cpu_load_s >= 0) session.start_cpu_load(opt.cpu_load_s);

    genlab::app::DataPanel data_panel;
    genlab::app::VaePanel& vae_panel = *genlab::app::find_panel<genlab::app::VaePanel>(tabs);
    genlab::app::DiffusionPanel& diffusion_panel = *genlab::app::find_panel<genlab::app::DiffusionPanel>(tabs);
    // A VAE opened from a file opens on its sliders: what it can do, before how it was trained.
    if (!opt.vae_view.empty()) vae_panel.select_view(opt.vae_view);
    else if (shipped > 0 || !opt.checkpoints.empty()) vae_panel.select_view("sliders");
    vae_panel.sweep_sliders(opt.sweep_sliders);
    diffusion_panel.sweep_cfg(opt.sweep_cfg);
    genlab::app::TranslatePanel& translate_panel = *genlab::app::find_panel<genlab::app::TranslatePanel>(tabs);
    translate_panel.sweep_canvas(opt.sweep_canvas);
    if (!opt.restore_png.empty()) diffusion_panel.restore_from_png(session, opt.restore_png);
    genlab::app::ComparePanel compare_panel;
    try {
      if (!opt.compare_settings.empty()) compare_panel.apply_settings(opt.compare_settings);
      if (!opt.diffusion_settings.empty()) diffusion_panel.apply_settings(opt.diffusion_settings);
    } catch (const std::invalid_argument& e) {  // bad input: one line and exit 2, like a bad shader folder
      throw std::runtime_error(e.what());
    }
    std::string active_tab = opt.tab;
    genlab::app::StatusBar status_bar;
    OpenDataDialog open_dialog;
    FollowDialog follow_dialog;
    std::optional<genlab::CheckpointWatch> follow;
    if (!opt.follow.empty()) follow.emplace(opt.follow);
    auto last_follow_check = std::chrono::steady_clock::time_point{};
    // A run may write faster than a busy worker loads: one reload waits at a time (jobs run in
    // order, so it is done once the worker has finished this many), and the next takes the newest file.
    uint64_t follow_load_done_at = 0;
    std::vector<double> frame_ms, work_ms;
    bool counting = false, select_tab = true;
    int counted = 0;
    int threads_setting = threads, preview_threads_setting = preview_threads;
    genlab::app::Soak soak(opt.soak_s);
    genlab::app::QuitDialog quit_dialog(opt.autosave_dir);
    auto start = std::chrono::steady_clock::now();
    auto last_frame = start, counting_since = start;

    while (!glfwWindowShouldClose(window) || !quit_dialog.allow_close(session)) {
      glfwSetWindowShouldClose(window, GLFW_FALSE);  // unsaved training: the dialog asks first
      // Idle: block on input instead of spinning, but still show worker progress at 10 Hz.
      auto status = session.worker().status();
      bool worker_busy = status->value.state != genlab::WorkerState::Idle;
      if (opt.frames == 0 && !worker_busy) glfwWaitEventsTimeout(0.1);
      else glfwPollEvents();
      auto frame_start = std::chrono::steady_clock::now();

      // A picture dropped on the VAE tab is encoded, on the Diffusion tab its sampling parameters are
      // restored; anything else opens as a data set.
      for (const std::string& path : drops.paths) {
        bool picture = std::filesystem::is_regular_file(path) && genlab::detect_spec(path).rfind("folder:", 0) == 0;
        bool taken = false;
        for (genlab::app::FamilyTab& tab : tabs)
          if (picture && !taken && tab.family == active_tab) taken = tab.panel->take_picture(session, path);
        if (!taken) session.open_dataset(genlab::detect_spec(path));
      }
      drops.paths.clear();
      // A followed checkpoint is looked at twice a second and reloaded when it was replaced.
      if (follow && frame_start - last_follow_check > std::chrono::milliseconds(500) &&
          status->value.jobs_finished >= follow_load_done_at) {
        last_follow_check = frame_start;
        if (follow->changed()) {
          follow_load_done_at = status->value.jobs_finished + uint64_t(status->value.queued) + (worker_busy ? 1 : 0) + 1;
          open_checkpoint(session, follow->path());
        }
      }

      ImGui_ImplOpenGL3_NewFrame();
      ImGui_ImplGlfw_NewFrame();
      ImGui::NewFrame();

      const ImGuiViewport* viewport = ImGui::GetMainViewport();
      ImGui::SetNextWindowPos(viewport->WorkPos);
      ImGui::SetNextWindowSize(viewport->WorkSize);
      ImGui::Begin("genlab", nullptr,
                   ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_MenuBar |
                       ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoSavedSettings);
      if (ImGui::BeginMenuBar()) {
        if (ImGui::BeginMenu("File")) {
          if (ImGui::MenuItem("Open data set…")) open_dialog.open();
          if (ImGui::MenuItem("Fashion-MNIST")) session.open_dataset("fashion-mnist");
          if (ImGui::BeginMenu("Shipped models")) {
            for (const genlab::Family& family : genlab::families()) {
              if (!family.open_in_lab) continue;  // the metrics' LeNet has no lab of its own
              ImGui::TextDisabled("%s", family.title.c_str());
              for (const std::string& name : family.shipped)
                if (const std::string path = genlab::find_shipped_model(name); !path.empty())
                  if (ImGui::MenuItem(name.c_str())) open_checkpoint(session, path);
            }
            ImGui::EndMenu();
          }
          if (ImGui::MenuItem("Follow checkpoint…")) follow_dialog.open();
          if (follow) {
            const std::string stop = "Stop following " + std::filesystem::path(follow->path()).filename().string();
            if (ImGui::MenuItem(stop.c_str())) follow.reset();
          }
          if (ImGui::BeginMenu("Autosaved models", !opt.autosave_dir.empty())) {
            const std::vector<std::string> autosaved = autosaved_models(opt.autosave_dir);
            if (autosaved.empty()) ImGui::TextDisabled("none yet in %s", opt.autosave_dir.c_str());
            for (const std::string& path : autosaved)
              if (ImGui::MenuItem(std::filesystem::path(path).filename().string().c_str())) open_checkpoint(session, path);
            ImGui::EndMenu();
          }
          ImGui::Separator();
          if (ImGui::MenuItem("Quit")) glfwSetWindowShouldClose(window, GLFW_TRUE);
          ImGui::EndMenu();
        }
        if (ImGui::BeginMenu("Compute")) {
          ImGui::PushItemWidth(120);
          if (ImGui::SliderInt("threads while training", &threads_setting, 1, genlab::hardware_cores()) |
              ImGui::SliderInt("threads for previews alone", &preview_threads_setting, 1, genlab::hardware_cores()))
            session.set_threads(threads_setting, preview_threads_setting);
          ImGui::PopItemWidth();
          if (ImGui::MenuItem("Measure the machine")) session.probe_machine();
          if (ImGui::MenuItem("CPU load test (20 s)")) session.start_cpu_load(20);
          if (ImGui::MenuItem("Cancel running job")) session.worker().cancel();
          ImGui::EndMenu();
        }
        ImGui::EndMenuBar();
      }
      open_dialog.draw(session);
      if (const std::string path = follow_dialog.draw(); !path.empty()) follow.emplace(path);
      if (quit_dialog.draw(session)) glfwSetWindowShouldClose(window, GLFW_TRUE);

      ImGui::BeginChild("labs", ImVec2(0, -genlab::app::StatusBar::height()));
      if (ImGui::BeginTabBar("lab-tabs")) {
        auto tab = [&](const char* name, const char* key) {
          ImGuiTabItemFlags flags = (select_tab && opt.tab == key) ? ImGuiTabItemFlags_SetSelected : 0;
          bool open = ImGui::BeginTabItem(name, nullptr, flags);
          if (open) active_tab = key;
          return open;
        };
        if (tab("Data", "data")) {
          data_panel.draw(session, renderer);
          ImGui::EndTabItem();
        }
        for (genlab::app::FamilyTab& family : tabs)
          if (tab(family.title.c_str(), family.family.c_str())) {
            family.panel->draw(session, renderer);
            ImGui::EndTabItem();
          }
        if (tab("Compare", "compare")) {
          compare_panel.draw(session, renderer);
          ImGui::EndTabItem();
        }
        select_tab = false;
        ImGui::EndTabBar();
      }
      ImGui::EndChild();
      ImGui::Separator();
      status_bar.draw(session, ImGui::GetIO().Framerate);
      ImGui::End();

      ImGui::Render();
      int fb_w = 0, fb_h = 0;
      glfwGetFramebufferSize(window, &fb_w, &fb_h);
      glViewport(0, 0, fb_w, fb_h);
      glClearColor(0.08f, 0.08f, 0.09f, 1.f);
      glClear(GL_COLOR_BUFFER_BIT);
      ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

      // Frames count once the start-up jobs (machine probe, data set, checkpoints) are done, so a
      // screenshot shows the app as a user sees it after start.
      if (!counting) {
        bool started = status->value.jobs_finished >= startup_jobs;
        bool waited_too_long = std::chrono::steady_clock::now() - start > std::chrono::seconds(60);
        counting = started || waited_too_long;
        counting_since = std::chrono::steady_clock::now();
      }
      // Work = what a frame costs us, GPU included (glFinish), without the wait for vsync.
      if (opt.frame_stats) glFinish();
      auto work_end = std::chrono::steady_clock::now();
      const bool out_of_time = counting && opt.run_seconds > 0 &&
                               work_end - counting_since > std::chrono::duration<double>(opt.run_seconds);
      bool last = (opt.frames > 0 && counting && counted + 1 >= opt.frames) || out_of_time;
      if (last && !opt.screenshot.empty() && !write_screenshot(opt.screenshot, fb_w, fb_h)) {
        std::cerr << "genlab: " << opt.screenshot << ": cannot write PNG\n";
        exit_code = kBadInput;
      }
      glfwSwapBuffers(window);
      auto frame_end = std::chrono::steady_clock::now();
      if (counting) {
        ++counted;
        work_ms.push_back(std::chrono::duration<double, std::milli>(work_end - frame_start).count());
        frame_ms.push_back(std::chrono::duration<double, std::milli>(frame_end - last_frame).count());
      }
      last_frame = frame_end;
      if (last) break;
      if (counting && counted == opt.request_close_frame) glfwSetWindowShouldClose(window, GLFW_TRUE);
      if (soak.on() && counting) {
        bool done = false;
        if (std::string tab = soak.frame(counted, done); !tab.empty()) opt.tab = tab, select_tab = true;
        if (done) break;
      }
    }
    if (opt.frame_stats) print_frame_stats(frame_ms, work_ms, vae_panel, diffusion_panel, translate_panel, gan_panel,
                                          opt.width, opt.height);
  } catch (const std::runtime_error& e) {  // missing or broken shader files, bad --diffusion settings
    std::cerr << "genlab: " << e.what() << "\n";
    exit_code = kBadInput;
  }

  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return exit_code;
}
