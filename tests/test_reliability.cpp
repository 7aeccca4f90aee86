// Nothing lost: a run resumed from a checkpoint equals the run that never stopped, bit for bit; a NaN
// or inf never reaches the weights (the update is skipped or rolled back) and the labs pause on it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "core/diffusion/diffusion_trainer.h"
#include "core/io/checkpoint.h"
#include "core/gan/gan_lab.h"
#include "core/vae/vae_lab.h"
#include "core/lab/session.h"
#include "core/gan/gan_trainer.h"
#include "core/vae/vae_trainer.h"

using namespace genlab;

namespace {

// 100 train / 20 test 28x28 images of a square whose corner is the label: a few steps cross an epoch.
std::shared_ptr<const Dataset> squares() {
  auto d = std::make_shared<Dataset>();
  d->spec = "synthetic:squares";
  d->channels = 1;
  d->height = d->width = 28;
  d->class_names = {"a", "b", "c", "d"};
  auto fill = [](ImageSet& set, int count) {
    set.count = count;
    set.pixels.assign(size_t(count) * 784, 0);
    for (int i = 0; i < count; ++i) {
      const int label = i % 4, x0 = (label % 2) * 14 + i % 3, y0 = (label / 2) * 14 + i % 5;
      for (int y = y0; y < y0 + 10; ++y)
        for (int x = x0; x < x0 + 10; ++x) set.pixels[size_t(i) * 784 + size_t(y) * 28 + size_t(x)] = uint8_t(150 + i);
      set.labels.push_back(label);
    }
  };
  fill(d->train, 100);
  fill(d->test, 20);
  return d;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "genlab_reliability_" + std::to_string(getpid()) + "_" + name + ".safetensors";
}

// Every parameter and buffer, in order: equal lists mean bit-identical models.
std::vector<torch::Tensor> state_of(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}

void expect_identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
}

// What a preview does between two training steps: draws from torch's default generator.
void draw_like_a_preview() { (void)torch::randn({1000}); }

VaeConfig small_vae() {
  VaeConfig c;
  c.arch = AutoencoderArch::MLP;
  c.latent = 4;
  c.batch_size = 32;  // 4 steps an epoch: the runs below reshuffle several times
  c.seed = 3;
  return c;
}

GanConfig small_gan() {
  GanConfig c;
  c.conditional = true;
  c.latent = 8;
  c.width = 16;
  c.batch_size = 32;
  c.seed = 5;
  return c;
}

DiffusionConfig small_diffusion() {
  DiffusionConfig c;
  c.unet.base = 16;
  c.unet.mid = 32;
  c.unet.time_dim = 64;
  c.batch_size = 8;
  c.ema_decay = 0.9f;
  c.seed = 6;
  return c;
}

}  // namespace

TEST(ExactResume, AVaeResumedHalfWayEqualsTheRunThatNeverStopped) {
  const std::string path = temp_path("vae");
  VaeTrainer whole(small_vae(), squares());
  for (int i = 0; i < 10; ++i) whole.train_step();

  VaeTrainer first(small_vae(), squares());
  for (int i = 0; i < 5; ++i) first.train_step(), draw_like_a_preview();
  first.save(path);
  VaeTrainer second(small_vae(), squares());
  draw_like_a_preview();
  second.resume(path);
  EXPECT_EQ(second.step(), 5);
  for (int i = 0; i < 5; ++i) second.train_step(), draw_like_a_preview();
  EXPECT_EQ(second.step(), 10);
  expect_identical(state_of(*whole.model()), state_of(*second.model()));
  // The optimizer state went on too: one more step from each still agrees.
  EXPECT_EQ(whole.train_step().total, second.train_step().total);
  expect_identical(state_of(*whole.model()), state_of(*second.model()));
  std::filesystem::remove(path);
  std::filesystem::remove(optimizer_path(path));
}

TEST(ExactResume, AGanResumedHalfWayEqualsTheRunThatNeverStopped) {
  const std::string path = temp_path("gan");
  GanTrainer whole(small_gan(), squares());
  for (int i = 0; i < 8; ++i) whole.train_step();

  GanTrainer first(small_gan(), squares());
  for (int i = 0; i < 4; ++i) first.train_step(), draw_like_a_preview();
  first.save(path);
  GanTrainer second(small_gan(), squares());
  second.resume(path);
  for (int i = 0; i < 4; ++i) second.train_step(), draw_like_a_preview();
  EXPECT_EQ(second.step(), 8);
  EXPECT_DOUBLE_EQ(second.epoch(), whole.epoch());
  expect_identical(state_of(whole.generator()), state_of(second.generator()));
  expect_identical(state_of(whole.discriminator()), state_of(second.discriminator()));
  std::filesystem::remove(path);
  std::filesystem::remove(optimizer_path(path));
}

TEST(ExactResume, ADiffusionRunResumedHalfWayEqualsTheRunThatNeverStoppedEmaIncluded) {
  const std::string path = temp_path("ddpm");
  DiffusionTrainer whole(small_diffusion(), squares());
  for (int i = 0; i < 6; ++i) whole.train_step();

  DiffusionTrainer first(small_diffusion(), squares());
  for (int i = 0; i < 3; ++i) first.train_step(), draw_like_a_preview();
  first.save(path);
  DiffusionTrainer second(small_diffusion(), squares());
  second.resume(path);
  for (int i = 0; i < 3; ++i) second.train_step(), draw_like_a_preview();
  EXPECT_EQ(second.step(), 6);
  expect_identical(state_of(*whole.net()), state_of(*second.net()));
  expect_identical(state_of(*whole.ema()), state_of(*second.ema()));
  std::filesystem::remove(path);
  std::filesystem::remove(optimizer_path(path));
}

TEST(ExactResume, AStateFileFromAnotherStepIsIgnoredAndTheWeightsStillLoad) {
  // A save cut off between the weights and the state beside them: the weights are newer.
  const std::string path = temp_path("stale"), other = temp_path("stale_other");
  VaeTrainer t(small_vae(), squares());
  t.train_step();
  t.save(path);
  t.train_step();
  t.save(other);
  std::filesystem::copy_file(optimizer_path(path), optimizer_path(other), std::filesystem::copy_options::overwrite_existing);
  VaeTrainer back(small_vae(), squares());
  back.resume(other);
  EXPECT_EQ(back.step(), 2);
  expect_identical(state_of(*t.model()), state_of(*back.model()));
  EXPECT_NO_THROW(back.train_step());
  for (const auto& p : {path, other}) std::filesystem::remove(p), std::filesystem::remove(optimizer_path(p));
}

TEST(NanGuard, ANanLossSkipsTheUpdateAndLeavesTheWeightsAsTheyWere) {
  VaeTrainer t(small_vae(), squares());
  for (int i = 0; i < 3; ++i) t.train_step();
  auto before = state_of(*t.model());
  t.set_beta(std::nanf(""));  // loss = recon + beta * KL becomes NaN; the weights are still finite
  try {
    t.train_step();
    FAIL() << "no error for a NaN loss";
  } catch (const NonFiniteError& e) {
    EXPECT_EQ(e.model, "VAE");
    EXPECT_EQ(e.step, 4);
    EXPECT_EQ(e.restored_step, -1);
    EXPECT_NE(std::string(e.what()).find("the weights are those of step 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(t.step(), 3);
  expect_identical(before, state_of(*t.model()));
  t.set_beta(1.f);
  EXPECT_NO_THROW(t.train_step());
}

TEST(NanGuard, WeightsBlownUpByAnUpdateRollBackToTheLastGoodCopy) {
  DiffusionTrainer t(small_diffusion(), squares());
  auto at_start = state_of(*t.net());
  t.train_step();
  {  // an inf in the weights, as a far too large step would leave
    torch::NoGradGuard no_grad;
    t.net()->parameters()[0].view(-1)[0] = std::numeric_limits<float>::infinity();
  }
  try {
    t.train_step();
    FAIL() << "no error for inf weights";
  } catch (const NonFiniteError& e) {
    EXPECT_EQ(e.model, "diffusion model");
    EXPECT_EQ(e.restored_step, 0);
    EXPECT_NE(std::string(e.what()).find("restored the weights of step 0"), std::string::npos) << e.what();
  }
  EXPECT_EQ(t.step(), 0);
  expect_identical(at_start, state_of(*t.net()));
  EXPECT_NO_THROW(t.train_step());
}

TEST(NanGuard, TheVaeLabPausesNamingTheModelAndStepAndGoesOnAfterwards) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Session session(1);
  session.open_dataset("fashion-mnist");
  VaeLab& lab = session.lab<VaeLab>();
  VaeConfig c = small_vae();
  c.batch_size = 64;
  lab.new_model(c);
  lab.set_learning_rate(std::numeric_limits<float>::infinity());  // the first update blows the weights up
  lab.train(AutoencoderKind::VAE, 0.05);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (session.worker().status()->value.state != WorkerState::Paused && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  WorkerStatus s = session.worker().status()->value;
  ASSERT_EQ(s.state, WorkerState::Paused) << s.error;
  EXPECT_NE(s.error.find("VAE: the weights became nan or inf at step 1; restored the weights of step 0"),
            std::string::npos)
      << s.error;
  // Lower the learning rate and resume: the run finishes from the restored weights.
  lab.set_learning_rate(1e-3f);
  session.worker().set_paused(false);
  session.worker().wait_idle();
  const VaeModelView& m = lab.view().get()->value.slot[1];
  EXPECT_EQ(m.step, 47);
  EXPECT_TRUE(std::isfinite(m.last.total));
}

TEST(NanGuard, ACheckpointWithNanWeightsIsRefusedNamingTheTensor) {
  // A flipped exponent bit in the data section parses fine (the format has no checksum); the load
  // refuses the NaN instead of handing the app a model that draws black.
  VaeTrainer t(small_vae(), squares());
  SafetensorsFile file = module_to_safetensors(*t.model(), "{}");
  NamedTensor& victim = file.tensors[1];
  ASSERT_EQ(victim.dtype, DType::F32);
  const float nan = std::nanf("");
  std::memcpy(victim.bytes.data(), &nan, sizeof nan);
  VaeTrainer other(small_vae(), squares());
  try {
    load_module(*other.model(), file, "damaged.safetensors");
    FAIL() << "NaN weights were loaded";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()), "damaged.safetensors: tensor '" + victim.name +
                                         "' holds nan or inf (a damaged file, or saved from a run that diverged)");
  }
}

TEST(SaveWhileTraining, TheRunningJobWritesTheSaveAndAutosavesWhenItEnds) {
  const std::string dir = ::testing::TempDir() + "genlab_save_while_training_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Session session(1);
  session.set_autosave(dir + "/autosave", 3600);  // only the copy at the end of the job
  GanConfig toy;
  toy.mode = GanMode::Toy;
  toy.latent = 8;
  GanLab& lab = session.lab<GanLab>();
  lab.new_model(toy);
  lab.train(0);  // until stopped
  auto wait_for = [](const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return done();
  };
  ASSERT_TRUE(wait_for([&] { return lab.view().get() && lab.view().get()->value.step > 3; }));
  EXPECT_EQ(session.unsaved_training().size(), 1u);
  const std::string path = dir + "/gan.safetensors";
  lab.save(path);  // a save job would wait behind the endless training job
  ASSERT_TRUE(wait_for([&] { return lab.view().get()->value.saved.checkpoint == path; }))
      << session.worker().status()->value.error;
  EXPECT_EQ(session.worker().status()->value.job, "train GAN");  // still training
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_GT(lab.view().get()->value.saved.saved_step, 0);
  session.worker().cancel();
  session.worker().wait_idle();
  EXPECT_TRUE(std::filesystem::exists(dir + "/autosave/gan.safetensors"));
  EXPECT_EQ(lab.view().get()->value.saved.autosaved, dir + "/autosave/gan.safetensors");
  std::filesystem::remove_all(dir);
}
