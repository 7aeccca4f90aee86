// The GAN lab as the app drives it: through the Session's worker, reading published views.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/gan/gan_lab.h"

using namespace genlab;

TEST(GanLab, ToyModeTrainsStepsAndDrawsTheSurface) {
  Session session(1);
  GanConfig toy;
  toy.mode = GanMode::Toy;
  toy.latent = 8;
  toy.batch_size = 128;
  GanLab& lab = session.lab<GanLab>();
  lab.new_model(toy);
  lab.train(120);
  session.worker().wait_idle();
  ASSERT_TRUE(lab.view().get());
  const GanLabView& v = lab.view().get()->value;
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  EXPECT_EQ(v.step, 120);
  EXPECT_EQ(v.history.size(), 120u);
  EXPECT_EQ(v.surface.width * v.surface.height, int(v.surface.pixels.size()));
  EXPECT_EQ(v.fake_xy.size(), v.real_xy.size());
  EXPECT_EQ(v.modes_total, 8);
  EXPECT_GE(v.modes_covered, 0);
  EXPECT_GE(v.timeline.size(), 2u);  // the first state and the last

  // Single steps: D alone leaves the generator's step count, G advances it.
  lab.single_step(GanLab::Single::D);
  session.worker().wait_idle();
  EXPECT_EQ(lab.view().get()->value.step, 120);
  lab.set_loss(GanLoss::Hinge);
  lab.single_step(GanLab::Single::G);
  session.worker().wait_idle();
  EXPECT_EQ(lab.view().get()->value.step, 121);
  EXPECT_EQ(lab.view().get()->value.config.loss, GanLoss::Hinge);

  // Saved and opened again, the model brings its curves (every step up to 120, and the G step).
  const std::string path = ::testing::TempDir() + "genlab_gan_curves_" + std::to_string(getpid()) + ".safetensors";
  lab.save(path);
  session.worker().wait_idle();
  Session other(1);
  other.lab<GanLab>().load(path);
  other.worker().wait_idle();
  const GanLabView& loaded = other.lab<GanLab>().view().get()->value;
  ASSERT_EQ(loaded.history.size(), lab.view().get()->value.history.size());
  EXPECT_EQ(loaded.history.back().step, 121);
  EXPECT_FLOAT_EQ(loaded.history.front().loss_d, lab.view().get()->value.history.front().loss_d);
  std::remove(path.c_str());
  std::remove((path + ".optim").c_str());
}

TEST(GanLab, ConditionalImagesGiveAGridAndExploration) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  Session session(1);
  session.open_dataset("fashion-mnist");
  GanConfig c;
  c.conditional = true;
  c.width = 16;
  c.batch_size = 32;
  GanLab& lab = session.lab<GanLab>();
  lab.new_model(c);
  lab.train(5);
  session.worker().wait_idle();  // previews run ahead of queued jobs: ask once the model exists
  lab.explore(1, 2, 3, 4, 6, true, 7);
  session.worker().wait_idle();
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  const GanLabView& v = lab.view().get()->value;
  EXPECT_EQ(v.samples.indices.size(), 80u);  // a row of 8 for each of the 10 classes
  EXPECT_GT(v.real_diversity, 0);
  ASSERT_TRUE(lab.exploration().get());
  EXPECT_EQ(lab.exploration().get()->value.strip.cols, 6);
  EXPECT_EQ(lab.exploration().get()->value.seed_grid.indices.size(), 36u);
}

TEST(GanLab, ANanPausesTheRunWithTheMessageAndTheOptimizerCanBeSwitched) {
  Session session(1);
  GanConfig toy;
  toy.mode = GanMode::Toy;
  toy.latent = 8;
  toy.batch_size = 64;
  toy.lr_g = toy.lr_d = 0.9f;  // far too high: the losses blow up
  toy.optimizer = GanOptimizer::SGD;
  GanLab& lab = session.lab<GanLab>();
  lab.new_model(toy);
  lab.train(0);
  // The run pauses itself on the first non-finite loss instead of ending.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (session.worker().status()->value.state != WorkerState::Paused && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  WorkerStatus s = session.worker().status()->value;
  ASSERT_EQ(s.state, WorkerState::Paused) << "the blow-up never came";
  EXPECT_EQ(s.job, "train GAN");
  // It names the model and the step, and the weights it kept.
  EXPECT_NE(s.error.find("GAN: "), std::string::npos) << s.error;
  EXPECT_NE(s.error.find(" at step "), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("the weights "), std::string::npos) << s.error;
  // Switch the optimizer and the learning rates, resume: the run goes on with them.
  lab.set_optimizer(GanOptimizer::Adam);
  lab.set_learning_rates(1e-4f, 1e-4f);
  session.worker().set_paused(false);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lab.view().get()->value.config.optimizer != GanOptimizer::Adam && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  session.worker().cancel();
  session.worker().wait_idle();
  const GanLabView& v = lab.view().get()->value;
  EXPECT_EQ(v.config.optimizer, GanOptimizer::Adam);
  EXPECT_FLOAT_EQ(v.config.lr_g, 1e-4f);
}

TEST(GanLab, StyleViewsLayerViewAndProGanFade) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  Session session(1);
  session.open_dataset("fashion-mnist");
  GanConfig c;
  c.arch = GanArch::StyleGan;
  c.width = 8;
  c.latent = c.w_dim = 16;
  c.batch_size = 8;
  GanLab& lab = session.lab<GanLab>();
  lab.new_model(c);
  lab.train(3);
  session.worker().wait_idle();
  StyleRequest request;
  request.sources_a = {1, 2, 3};
  request.sources_b = {4, 5};
  request.mix_layers = "fine";
  request.noise_on = std::vector<bool>(6, false);  // no noise anywhere: every draw the same image
  lab.explore_style(request);
  session.worker().wait_idle();
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  ASSERT_TRUE(lab.style().get());
  const StyleView& s = lab.style().get()->value;
  EXPECT_EQ(s.mixing.cols, 3);  // A's column and two of B
  EXPECT_EQ(s.mixing.indices.size(), 12u);  // (1 + 3) x (1 + 2)
  EXPECT_EQ(s.truncation.indices.size(), 9u);
  EXPECT_EQ(s.mean_image.width, 28);
  EXPECT_FLOAT_EQ(s.noise_std_max, 0.f);
  EXPECT_EQ(s.noise_strengths.size(), 6u);
  EXPECT_EQ(s.z_path.cols, 8);
  EXPECT_EQ(s.request.mix_layers, "fine");

  request.psi = 1.5;  // out of range: one line in the status, the lab keeps its last view
  lab.explore_style(request);
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("psi 1.5"), std::string::npos) << session.worker().status()->value.error;
  EXPECT_EQ(lab.style().get()->value.request.psi, 1.0);

  LayerRequest layers;
  layers.layer = 0;
  lab.inspect_layers(layers);
  session.worker().wait_idle();
  ASSERT_TRUE(lab.layers().get());
  const LayerView& l = lab.layers().get()->value;
  EXPECT_EQ(l.layer, 0);
  EXPECT_EQ(l.channels, 8);
  EXPECT_EQ(l.height, 7);  // the coarse layer
  EXPECT_EQ(l.channel.size(), 8u);
  layers.layer = 99;
  lab.inspect_layers(layers);
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("layer 99 does not exist"), std::string::npos);

  // ProGAN mid-fade: the old path, the new block and the blend differ; its stage is in the view.
  c.arch = GanArch::ProGan;
  c.stage_steps = 2;
  c.fade_steps = 4;
  lab.new_model(c);
  lab.train(4);  // steps 0-1 at 7x7, 2-5 fading to 14x14
  session.worker().wait_idle();
  const GanLabView& v = lab.view().get()->value;
  EXPECT_EQ(v.growth.level, 1);
  EXPECT_FLOAT_EQ(v.growth.alpha, 0.5f);
  EXPECT_EQ(v.fade_old.indices.size(), 8u);
  EXPECT_NE(v.fade_old.image.pixels, v.fade_new.image.pixels);
}
