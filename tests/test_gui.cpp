// The app under Xvfb, as a person would see it: it starts, shows Fashion-MNIST in the Data tab,
// writes a non-blank screenshot, reports frame times, and fails clearly without its shaders.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "run_command.h"

namespace {

const std::string kApp = GENLAB_APP;
const std::string kXvfb = "xvfb-run -a -s \"-screen 0 1280x800x24\" ";

// How many different RGB colours a screenshot holds (0 when it cannot be read): a blank or
// single-colour window has a handful, a drawn tab hundreds.
size_t distinct_colours(const std::string& png) {
  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &c, 3);
  if (!pixels) return 0;
  std::set<int> colours;
  for (int i = 0; i < w * h; ++i) colours.insert(pixels[i * 3] << 16 | pixels[i * 3 + 1] << 8 | pixels[i * 3 + 2]);
  stbi_image_free(pixels);
  return colours.size();
}

}  // namespace

TEST(Gui, DataTabScreenshotIsNotBlank) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_data_tab.png";
  std::filesystem::remove(png);
  CommandResult r = run_command(kXvfb + kApp + " --frames 5 --tab data --frame-stats --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto stats = nlohmann::json::parse(r.out);
  EXPECT_EQ(stats["frames"], 5);
  EXPECT_GT(stats["frame_ms"]["p50"].get<double>(), 0.0);

  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &c, 3);
  ASSERT_NE(pixels, nullptr) << png;
  EXPECT_EQ(w, 1280);
  EXPECT_EQ(h, 800);
  // A blank or single-colour window has a handful of colours; the grid of clothing has hundreds of
  // gray levels, and the grid area (right of the sidebar) holds bright pixels.
  std::set<int> colours;
  int bright_in_grid = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const unsigned char* p = pixels + (size_t(y) * w + x) * 3;
      colours.insert(p[0] << 16 | p[1] << 8 | p[2]);
      if (x > 300 && p[0] > 200 && p[1] > 200 && p[2] > 200) ++bright_in_grid;
    }
  stbi_image_free(pixels);
  EXPECT_GT(colours.size(), 200u);
  EXPECT_GT(bright_in_grid, 5000);
}

TEST(Gui, MissingShadersGiveAClearErrorAndExitTwo) {
  CommandResult r = run_command(kXvfb + kApp + " --frames 1 --shaders /nonexistent/shaders");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/shaders/image.vert"), std::string::npos) << r.err;
}

TEST(Gui, ABadDataSetKeepsTheAppRunning) {
  CommandResult r = run_command(kXvfb + kApp + " --frames 3 --dataset mnist:/nonexistent/dir");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Gui, VaeSlidersAnswerWithinFramesAndTheTabDraws) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string ckpt = ::testing::TempDir() + "genlab_gui_vae.safetensors";
  CommandResult train = run_command(std::string(GENLAB_CLI) + " --threads 1 train --model vae --arch mlp --latent 4 --steps 20 --out " + ckpt);
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string png = ::testing::TempDir() + "genlab_vae_tab.png";
  CommandResult r = run_command(kXvfb + kApp + " --frames 200 --tab vae --vae-view sliders --sweep-sliders --frame-stats --load " +
                                ckpt + " --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto stats = nlohmann::json::parse(r.out);
  ASSERT_TRUE(stats.contains("slider_to_image_ms")) << r.out;
  // The decoded image kept following the slider (a loaded machine answers fewer of the 200 changes).
  EXPECT_GE(stats["slider_to_image_ms"]["n"].get<int>(), 5);
  EXPECT_GT(distinct_colours(png), 100u);
}

// The Translate tab opens on the shipped Pix2Pix edges model; a scripted stroke every frame gets
// its translation back on screen, and the tab draws its canvas, tables and curves.
TEST(Gui, TheTranslateCanvasFollowsStrokes) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_translate_tab.png";
  CommandResult r = run_command(kXvfb + kApp + " --frames 150 --tab translate --sweep-canvas --frame-stats --autosave-minutes 0 --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto stats = nlohmann::json::parse(r.out);
  ASSERT_TRUE(stats.contains("canvas_to_output_ms")) << r.out;
  EXPECT_GE(stats["canvas_to_output_ms"]["n"].get<int>(), 5);
  EXPECT_GT(distinct_colours(png), 100u);
}

// A person's hand, not a scripted sweep: the first slider dragged with real X mouse events, a move
// every 300 ms (the app waits for input between them). The read-out (slider -> image) must show the
// decoded image in the frame after the decode, not at the idle loop's next 100 ms timeout.
TEST(Gui, TheVaeSliderFollowsRealMouseEventsWithinFrames) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  if (run_command("command -v xdotool").exit_code != 0) GTEST_SKIP() << "no xdotool";
  const std::string ckpt = ::testing::TempDir() + "genlab_gui_drag_vae.safetensors";
  CommandResult train = run_command(std::string(GENLAB_CLI) + " --threads 1 train --model vae --arch mlp --latent 4 --steps 20 --out " + ckpt);
  ASSERT_EQ(train.exit_code, 0) << train.err;
  // Where the slider is: the layout of the same options in a short run.
  CommandResult layout = run_command(kXvfb + kApp + " --frames 20 --tab vae --vae-view sliders --frame-stats --load " + ckpt);
  ASSERT_EQ(layout.exit_code, 0) << layout.err;
  auto rect = nlohmann::json::parse(layout.out)["vae_first_slider"];
  ASSERT_GT(rect[2].get<int>(), rect[0].get<int>() + 40) << layout.out;
  char args[128];
  snprintf(args, sizeof args, " %d %d %d %d 0.3 16", rect[0].get<int>(), rect[1].get<int>(), rect[2].get<int>(),
           rect[3].get<int>());
  CommandResult r = run_command(kXvfb + std::string(GENLAB_SOURCE_DIR) + "/tests/drive_vae_slider.sh " + kApp + " " + ckpt + args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto stats = nlohmann::json::parse(r.out);
  ASSERT_TRUE(stats.contains("slider_to_image_ms")) << r.out;
  EXPECT_GE(stats["slider_to_image_ms"]["n"].get<int>(), 10) << r.out;  // most of the 16 moves changed the value
  // Woken by the worker's publish, the image is drawn a frame or two after the decode; the idle
  // loop's 100 ms timeout alone gave a median of about 120 ms at this pacing.
  EXPECT_LT(stats["slider_to_image_ms"]["p50"].get<double>(), 50.0) << r.out;
  std::filesystem::remove(ckpt);
}

TEST(Gui, DiffusionTabShowsTheForwardProcess) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_diffusion_tab.png";
  CommandResult r = run_command(kXvfb + kApp + " --frames 10 --tab diffusion --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_GT(distinct_colours(png), 100u);  // the test image, the noise colormap and the schedule plot
}

TEST(Gui, DiffusionMetricsViewDraws) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_diffusion_metrics.png";
  CommandResult r = run_command(kXvfb + kApp + " --frames 10 --tab diffusion --diffusion view=metrics --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_GT(distinct_colours(png), 20u);  // the controls and the explanation, not a blank window
  CommandResult bad = run_command(kXvfb + kApp + " --frames 2 --diffusion view=metrix");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("view=metrix"), std::string::npos) << bad.err;
}

TEST(Gui, ABranchAndTheGuidanceHeatMapReachTheScreen) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_diffusion_branch.png";
  // The shipped model: a 4-step run, branched after step 2 with w = 6, eps(c) - eps(none) on screen.
  CommandResult r = run_command(kXvfb + kApp + " --frames 90 --tab diffusion --diffusion "
                                "steps=4,n=3,branch=2,branch_cfg=6,detail=4,show=3 --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &c, 3);
  ASSERT_TRUE(pixels);
  // The signed colormap paints eps(c) - eps(none) > 0 red; nothing else on screen is red (the same
  // screenshot with the predicted x0 in the second row has none).
  int red = 0;
  for (int i = 0; i < w * h; ++i)
    red += pixels[3 * i] > 180 && pixels[3 * i + 1] < 120 && pixels[3 * i + 2] < 120;
  stbi_image_free(pixels);
  EXPECT_GT(red, 200);
  CommandResult bad = run_command(kXvfb + kApp + " --frames 2 --diffusion cfg=lots");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("cfg=lots"), std::string::npos) << bad.err;
}

TEST(Gui, ASamplePngRestoresItsModelAndParameters) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string base = ::testing::TempDir() + "genlab_gui_ddpm";
  const std::string cli = GENLAB_CLI;
  ASSERT_EQ(run_command(cli + " --threads 1 train --model ddpm --cond --steps 2 --batch 8 --out " + base + ".safetensors").exit_code, 0);
  ASSERT_EQ(run_command(cli + " --threads 1 sample --ckpt " + base + ".safetensors --steps 3 --n 2 --out " + base + ".png").exit_code, 0);
  CommandResult r = run_command(kXvfb + kApp + " --frames 60 --tab diffusion --restore " + base + ".png");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  // A PNG without parameters is reported, and the app keeps running.
  CommandResult foreign = run_command(kXvfb + kApp + " --frames 5 --tab diffusion --restore " + base + "_missing.png");
  EXPECT_EQ(foreign.exit_code, 0) << foreign.err;
}

TEST(Gui, ClosingWithUnsavedTrainingAsksFirstAndTheAutosaveKeepsIt) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string dir = ::testing::TempDir() + "genlab_autosave_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  // The window's close button at frame 150, while the cGAN trains: the app stays open (it runs all
  // 200 frames) and says it asked; on exit the training job writes its autosave.
  CommandResult r =
      run_command(kXvfb + kApp + " --tab gan --gan-play --request-close 150 --frames 200 --autosave-dir " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("genlab: asking before closing: unsaved training in GAN ("), std::string::npos) << r.out;
  const std::string saved = dir + "/gan.safetensors";
  ASSERT_TRUE(std::filesystem::exists(saved));
  CommandResult info = run_command(std::string(GENLAB_CLI) + " sample --ckpt " + saved + " --n 4 --out " + dir + "/s.png");
  EXPECT_EQ(info.exit_code, 0) << info.err;
  std::filesystem::remove_all(dir);
}

TEST(Gui, AStyleGanTrainsLiveUnderItsMixingGridAndABadPsiExitsTwo) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_style_mixing.png";
  std::filesystem::remove(png);
  CommandResult r = run_command(kXvfb + kApp + " --tab gan --gan-arch stylegan --gan-play --gan-view style-mixing "
                                               "--gan-mix fine --gan-psi 0.7 --frames 120 --autosave-minutes 0 --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(distinct_colours(png), 100u);  // the grid of generated images, not only the controls
  CommandResult bad = run_command(kXvfb + kApp + " --frames 2 --gan-psi 2");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--gan-psi"), std::string::npos) << bad.err;
  CommandResult view = run_command(kXvfb + kApp + " --frames 2 --gan-view mixing");
  EXPECT_EQ(view.exit_code, 2);
  EXPECT_NE(view.err.find("mixing"), std::string::npos) << view.err;
}

TEST(Gui, TheVqVaeCodeMapAndVaeGanComparisonDraw) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string base = ::testing::TempDir() + "genlab_gui_vq_" + std::to_string(getpid());
  const std::string cli = GENLAB_CLI;
  ASSERT_EQ(run_command(cli + " --threads 1 train --model vqvae --codes 32 --steps 3 --batch 16 --out " + base + ".safetensors").exit_code, 0);
  // The code map of test image 0 opens with the model: 49 cells painted in the codes' colours.
  CommandResult r = run_command(kXvfb + kApp + " --frames 60 --tab vae --vae-view vq-codemap --load " + base +
                                ".safetensors --screenshot " + base + ".png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(distinct_colours(base + ".png"), 100u);
  ASSERT_EQ(run_command(cli + " --threads 1 train --model vaegan --latent 4 --steps 2 --batch 8 --out " + base + "-vg.safetensors").exit_code, 0);
  CommandResult compare = run_command(kXvfb + kApp + " --frames 60 --tab vae --vae-view compare --load " + base +
                                      "-vg.safetensors --screenshot " + base + "-vg.png");
  ASSERT_EQ(compare.exit_code, 0) << compare.err;
  EXPECT_GT(distinct_colours(base + "-vg.png"), 100u);
  CommandResult bad = run_command(kXvfb + kApp + " --frames 2 --vae-view vq-codes");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("vq-codes"), std::string::npos) << bad.err;
  for (const std::string& suffix : {".safetensors", ".png", "-vg.safetensors", "-vg.png"}) std::filesystem::remove(base + suffix);
}

// The Prompt (latent) view with a two-step text-to-image model on a tiny folder data set: it opens
// by itself on load, samples the scripted prompt, shows step 2 with the token maps of image 1; a
// prompt of unknown words only is refused on the error line while the app keeps running.
TEST(Gui, ThePromptViewDrawsTokenMapsAndSurvivesUnknownWords) {
  const std::string base = ::testing::TempDir() + "genlab_gui_ldm_" + std::to_string(getpid());
  for (int i = 0; i < 12; ++i)
    for (const std::string cls : {"dress", "sneaker"}) {
      std::filesystem::create_directories(base + "/" + cls);
      std::string pixels(784, '\0');
      const int w = 6 + (i * 5) % 15, h = 6 + (i * 7) % 15, value = 90 + (i * 53) % 160;
      for (int y = (28 - h) / 2; y < (28 - h) / 2 + h; ++y)
        for (int x = (28 - w) / 2; x < (28 - w) / 2 + w; ++x) pixels[size_t(y * 28 + x)] = char(value);
      std::ofstream(base + "/" + cls + "/" + std::to_string(i) + ".pgm", std::ios::binary) << "P5\n28 28\n255\n" << pixels;
    }
  const std::string cli = std::string(GENLAB_CLI) + " --threads 1 train --dataset folder:" + base;
  ASSERT_EQ(run_command(cli + " --model klae --steps 2 --batch 8 --out " + base + "/k.safetensors").exit_code, 0);
  ASSERT_EQ(run_command(cli + " --model ldm --autoencoder " + base + "/k.safetensors --hold-out none --width 8 --steps 2 "
                              "--batch 8 --out " + base + "/l.safetensors").exit_code, 0);
  CommandResult r = run_command(kXvfb + kApp + " --frames 90 --tab diffusion --load " + base +
                                "/l.safetensors --diffusion \"prompt=a dress,steps=2,n=2,step=2,image=1\" --screenshot " +
                                base + "/p.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(distinct_colours(base + "/p.png"), 100u);  // the heat-map overlays of the token maps
  CommandResult refused = run_command(kXvfb + kApp + " --frames 60 --tab diffusion --load " + base +
                                      "/l.safetensors --diffusion \"prompt=purple hat\" --screenshot " + base + "/q.png");
  EXPECT_EQ(refused.exit_code, 0) << refused.err;
  std::filesystem::remove_all(base);
}

// The Edit view on the shipped pixel model: a scripted hole over a test image shows as the red mask
// on the canvas while the model fills it; the Race view runs its columns to the end.
TEST(Gui, TheEditViewInpaintsAHoleAndTheRaceRuns) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string png = ::testing::TempDir() + "genlab_edit_" + std::to_string(getpid()) + ".png";
  CommandResult r = run_command(kXvfb + kApp + " --frames 40 --tab diffusion --diffusion "
                                "\"view=edit,edit_test=2,edit_mode=inpaint,edit_hole=6:6:22:16,edit_steps=5,edit_n=2\" "
                                "--screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &c, 3);
  ASSERT_NE(pixels, nullptr);
  int red = 0;
  for (int i = 0; i < w * h; ++i) red += pixels[i * 3] > pixels[i * 3 + 1] + 80 && pixels[i * 3] > pixels[i * 3 + 2] + 80;
  stbi_image_free(pixels);
  EXPECT_GT(red, 5000) << "the 16 x 10 hole, 8 screen pixels a pixel, is not on the canvas";
  r = run_command(kXvfb + kApp + " --frames 20 --tab diffusion --diffusion \"view=race,race_entries=ddim:4;dpmpp2m:2,race_n=2\" "
                  "--screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(distinct_colours(png), 100u);
  std::filesystem::remove(png);
}

TEST(Gui, TheCompareTabMeasuresTwoFamiliesOntoItsCharts) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string dir = ::testing::TempDir() + "genlab_compare_gui_" + std::to_string(getpid());
  const std::string png = dir + "/compare.png";
  std::filesystem::create_directories(dir);
  const std::string models = std::string(GENLAB_SOURCE_DIR) + "/assets/models/vae-fashion-conv16.safetensors;" +
                             GENLAB_SOURCE_DIR + "/assets/models/cgan-fashion.safetensors";
  CommandResult r = run_command("GENLAB_CACHE_DIR=" + dir + " " + kXvfb + kApp + " --frames 1500 --tab compare --compare \"run,samples=20,models=" +
                                models + "\" --screenshot " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Both families' markers and names in their colours: the VAE's blue, the GAN's orange.
  int w = 0, h = 0, c = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &c, 3);
  ASSERT_NE(pixels, nullptr);
  int blue = 0, orange = 0;
  auto near = [](const unsigned char* p, int r, int g, int b) {
    return std::abs(p[0] - r) < 12 && std::abs(p[1] - g) < 12 && std::abs(p[2] - b) < 12;
  };
  for (int i = 0; i < w * h; ++i) blue += near(pixels + i * 3, 90, 160, 255), orange += near(pixels + i * 3, 255, 150, 50);
  stbi_image_free(pixels);
  EXPECT_GT(blue, 200) << "no VAE points on the charts";
  EXPECT_GT(orange, 200) << "no GAN points on the charts";
  // Measured once: the eight points are in the cache for the next look.
  size_t cached = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/compare")) cached += entry.path().extension() == ".json";
  EXPECT_EQ(cached, 8u);
  CommandResult bad = run_command(kXvfb + kApp + " --frames 2 --compare samples=5");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("samples=5"), std::string::npos) << bad.err;
  std::filesystem::remove_all(dir);
}
