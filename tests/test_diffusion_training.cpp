// The diffusion model's training: a tiny U-Net overfits one image and samples it back; label
// dropout and guidance wiring; checkpoints.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/diffusion/diffusion_trainer.h"
#include "core/diffusion/diffusion_lab.h"
#include "core/io/png_text.h"
#include "core/io/safetensors.h"

using namespace genlab;

namespace {

// One 28x28 image (a bright ring on black), copied `count` times, labelled 0 and 1 alternately.
std::shared_ptr<const Dataset> one_image(int count) {
  auto d = std::make_shared<Dataset>();
  d->spec = "synthetic:ring";
  d->channels = 1;
  d->height = d->width = 28;
  d->class_names = {"a", "b"};
  d->train.count = count;
  for (int i = 0; i < count; ++i) {
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        double r = std::hypot(x - 13.5, y - 13.5);
        d->train.pixels.push_back(r > 6 && r < 10 ? 255 : 0);
      }
    d->train.labels.push_back(i % 2);
  }
  return d;
}

DiffusionConfig tiny(bool conditional) {
  DiffusionConfig c;
  c.conditional = conditional;
  c.unet.base = 16;
  c.unet.mid = 32;
  c.unet.time_dim = 64;
  c.batch_size = 16;
  c.learning_rate = 2e-3f;
  c.ema_decay = 0.9f;
  c.seed = 4;
  return c;
}

}  // namespace

TEST(DiffusionTraining, ATinyModelOverfitsOneImageAndSamplesItBack) {
  auto data = one_image(8);
  DiffusionTrainer trainer(tiny(false), data);
  float first = 0, last = 0;
  for (int i = 0; i < 1000; ++i) {
    float loss = trainer.train_step();
    if (i < 20) first += loss / 20;
    if (i >= 980) last += loss / 20;
  }
  EXPECT_LT(last, 0.5f * first);
  auto target = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()), {1, 1, 28, 28}, torch::kUInt8)
                    .to(torch::kFloat) / 127.5 - 1;
  torch::manual_seed(7);
  auto x_T = torch::randn({4, 1, 28, 28});
  auto generated = sample(SamplerKind::DDIM, trainer.schedule(), trainer.denoiser({}, 0.0), x_T, 50, 0.0,
                          1, {}, 1.0).x;
  // Far closer to the image than the starting noise, and than the best constant image (whose
  // error is the image's variance): the model has learnt to make that image.
  const double error = (generated - target).pow(2).mean().item<double>();
  const double noise_error = (x_T - target).pow(2).mean().item<double>();
  const double constant_error = target.var().item<double>();
  EXPECT_LT(error, 0.2 * noise_error);
  EXPECT_LT(error, 0.4 * constant_error) << "error " << error << ", constant " << constant_error;
  auto buckets = trainer.bucket_losses();
  EXPECT_GT(buckets[0], buckets[9]);  // predicting the noise is hardest where there is little of it
}

TEST(DiffusionTraining, GuidanceRunsBothBranchesAndCheckpointsRoundTrip) {
  auto data = one_image(4);
  DiffusionTrainer trainer(tiny(true), data);
  EXPECT_EQ(trainer.config().unet.classes, 2);
  for (int i = 0; i < 3; ++i) trainer.train_step();
  auto x = torch::randn({2, 1, 28, 28});
  auto labels = torch::tensor({0, 1}, torch::kLong);
  auto uncond = trainer.denoiser(labels, 0.0)(x, 500), cond = trainer.denoiser(labels, 1.0)(x, 500);
  auto guided = trainer.denoiser(labels, 3.0)(x, 500);
  EXPECT_TRUE(torch::allclose(guided, uncond + 3 * (cond - uncond), 1e-4, 1e-5));

  const std::string path = ::testing::TempDir() + "genlab_ddpm_" + std::to_string(getpid()) + ".safetensors";
  trainer.save(path);
  DiffusionTrainer back(tiny(true), data);
  back.resume(path);
  EXPECT_EQ(back.step(), 3);
  EXPECT_TRUE(torch::equal(back.denoiser(labels, 3.0)(x, 500), guided));
  EXPECT_EQ(read_diffusion_config(path).unet.base, 16);
  DiffusionConfig wider = tiny(true);
  wider.unet.base = 24;
  DiffusionTrainer mismatched(wider, data);
  EXPECT_THROW(mismatched.resume(path), CheckpointError);
}

namespace {

// A tiny conditional model after one training step, saved to `path` and opened in the session's lab.
DiffusionLab& open_tiny_model(Session& session, const std::string& path) {
  {
    DiffusionTrainer trainer(tiny(true), one_image(4));
    trainer.train_step();
    trainer.save(path);
  }
  DiffusionLab& lab = session.lab<DiffusionLab>();
  lab.load(path);
  session.worker().wait_idle();
  return lab;
}

}  // namespace

TEST(DiffusionLab, LoadsAModelAndStreamsEveryStepNewestWins) {
  const std::string path = ::testing::TempDir() + "genlab_ddpm_lab_" + std::to_string(getpid()) + ".safetensors";
  Session session(1);
  DiffusionLab& lab = open_tiny_model(session, path);
  ASSERT_TRUE(lab.model().get());
  EXPECT_EQ(lab.model().get()->value.classes, 2);

  SamplingParams slow;
  slow.sampler = "ddpm";
  slow.steps = 1000;
  slow.n = 2;
  lab.sample(slow);
  SamplingParams quick = slow;
  quick.sampler = "ddim";
  quick.steps = 5;
  quick.cfg = 2.0;
  lab.sample(quick);  // newest wins: the 1000-step run stops within a step, or never starts
  session.worker().wait_idle();
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  const SamplingView& v = lab.sampling().get()->value;
  EXPECT_EQ(v.params.sampler, "ddim");
  EXPECT_EQ(v.frames.size(), 5u);
  EXPECT_TRUE(v.done);
  EXPECT_EQ(v.frames.front()->t, 1000);
  EXPECT_EQ(v.frames.back()->t_next, 0);
  EXPECT_EQ(v.frames.back()->x.indices.size(), 2u);
  EXPECT_LE(v.seconds_first, v.seconds_last);
  // Every step keeps the noise predictions of both halves of the guided batch and their difference.
  const SamplingStepFrame& f = *v.frames.front();
  ASSERT_EQ(f.guidance.image.pixels.size(), f.eps.image.pixels.size());
  for (size_t i = 0; i < f.eps.image.pixels.size(); i += 7) {
    const float cond = f.eps_cond.image.pixels[i], uncond = f.eps_uncond.image.pixels[i];
    EXPECT_NEAR(f.guidance.image.pixels[i], cond - uncond, 1e-5);
    EXPECT_NEAR(f.eps.image.pixels[i], uncond + 2.0f * (cond - uncond), 1e-4);  // w = 2
  }
}

TEST(DiffusionLab, BranchesFromAStepKeepTheRunAndExportIt) {
  const std::string dir = ::testing::TempDir() + "genlab_branch_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/ddpm.safetensors";
  Session session(1);
  DiffusionLab& lab = open_tiny_model(session, path);
  SamplingParams p;
  p.sampler = "ddpm";
  p.steps = 6;
  p.n = 3;
  lab.sample(p);
  session.worker().wait_idle();
  auto run = lab.sampling().get();
  ASSERT_TRUE(run && run->value.done);

  lab.branch(p, 2);  // the same parameters retrace the run
  session.worker().wait_idle();
  auto same = lab.branch_view().get();
  ASSERT_TRUE(same);
  EXPECT_EQ(same->value.run, run->value.run);
  EXPECT_EQ(same->value.branch_from, 2);
  EXPECT_EQ(same->value.total, 6);
  ASSERT_EQ(same->value.frames.size(), 3u);
  EXPECT_EQ(same->value.frames.front()->t, run->value.frames[3]->t);
  EXPECT_EQ(same->value.frames.back()->x.image.pixels, run->value.frames.back()->x.image.pixels);

  SamplingParams other = p;
  other.cfg = 8.0;
  lab.branch(other, 2);
  session.worker().wait_idle();
  auto guided = lab.branch_view().get();
  EXPECT_NE(guided->value.frames.back()->x.image.pixels, run->value.frames.back()->x.image.pixels);
  EXPECT_EQ(lab.sampling().get()->stamp, run->stamp);  // the run itself is untouched

  lab.export_grid(run->value, dir + "/grid.png");
  lab.export_strip(run->value, guided->value, dir + "/strip.png", 4);
  lab.export_gif(run->value, guided->value, dir + "/run.gif");
  session.worker().wait_idle();
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  auto text = nlohmann::json::parse(read_png_text(dir + "/grid.png").at("genlab"));
  EXPECT_EQ(text["sampler"], "ddpm");
  EXPECT_EQ(text["steps"], 6);
  EXPECT_EQ(text["checkpoint"], path);
  // The strip: 3 images x 4 steps for the run, again for the branch, 8 gray rows between.
  std::ifstream png(dir + "/strip.png", std::ios::binary);
  unsigned char header[24] = {};
  png.read(reinterpret_cast<char*>(header), 24);
  auto be32 = [&](int at) { return header[at] << 24 | header[at + 1] << 16 | header[at + 2] << 8 | header[at + 3]; };
  const int cell = 28 + 1;
  EXPECT_EQ(be32(16), 4 * cell + 1);                  // IHDR width
  EXPECT_EQ(be32(20), 2 * (3 * cell + 1) + 8);        // IHDR height
  std::ifstream gif(dir + "/run.gif", std::ios::binary);
  std::string magic(6, '\0');
  gif.read(magic.data(), 6);
  EXPECT_EQ(magic, "GIF89a");

  lab.branch(p, 5);  // the last step leaves nothing to continue
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("ends the run"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(DiffusionLab, TrainsANewModelLiveAndSavesIt) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string path = ::testing::TempDir() + "genlab_ddpm_train_" + std::to_string(getpid()) + ".safetensors";
  Session session(1);
  session.open_dataset("fashion-mnist");
  DiffusionLab& lab = session.lab<DiffusionLab>();
  lab.train(5);  // nothing to train yet: a clear error, no crash
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("no diffusion model"), std::string::npos);
  const uint64_t first_error = session.worker().status()->value.error_stamp;
  lab.new_model(true, 1e-3f, 8, 0.1f);
  lab.train(3, 1e9);
  session.worker().wait_idle();
  ASSERT_EQ(session.worker().status()->value.error_stamp, first_error) << session.worker().status()->value.error;
  auto trained = lab.training().get();  // holds the snapshot: later publishes replace it
  const DiffusionTrainingView& v = trained->value;
  EXPECT_TRUE(v.trainable);
  EXPECT_EQ(v.step, 3);
  ASSERT_EQ(v.history.size(), 3u);
  EXPECT_GT(v.history.front().loss, 0.f);
  EXPECT_EQ(v.samples_step, 3);                 // the grid is redrawn at the end of the run
  EXPECT_EQ(v.samples.indices.size(), 10u);      // one of each class
  EXPECT_EQ(v.bucket_losses.size(), 10u);
  EXPECT_EQ(lab.model().get()->value.step, 3);  // the Sample view sees the trained weights
  lab.save(path);
  lab.load(path);
  session.worker().wait_idle();
  EXPECT_EQ(lab.training().get()->value.saved.checkpoint, path);
  EXPECT_EQ(lab.training().get()->value.step, 3);
  ASSERT_EQ(lab.training().get()->value.history.size(), 3u);  // the loss curve came back with it
  EXPECT_FLOAT_EQ(lab.training().get()->value.history.back().smoothed, v.history.back().smoothed);
  EXPECT_TRUE(lab.training().get()->value.trainable);  // Fashion-MNIST is open: it can train on
  std::remove(path.c_str());
}

// What the app does with bad input: the error is one line in the status bar, and the lab keeps its model.
TEST(DiffusionLab, BadSettingsAndBadCheckpointsAreOneLineErrorsAndTheModelStays) {
  const std::string dir = ::testing::TempDir() + "genlab_lab_inputs_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/ddpm.safetensors";
  Session session(1);
  DiffusionLab& lab = open_tiny_model(session, path);
  auto expect_error = [&](const std::function<void()>& action, const std::string& fragment) {
    SCOPED_TRACE(fragment);
    const uint64_t before = session.worker().status()->value.error_stamp;
    action();
    session.worker().wait_idle();
    const std::string error = session.worker().status()->value.error;
    EXPECT_NE(session.worker().status()->value.error_stamp, before) << "no error";
    EXPECT_NE(error.find(fragment), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  };
  const struct {
    int steps;
    std::string sampler, fragment;
  } settings[] = {{0, "ddim", "steps 0 is not in 1..1000"},
                  {-4, "ddim", "steps -4 is not in 1..1000"},
                  {1001, "ddpm", "steps 1001 is not in 1..1000"},
                  {5, "euler", "sampler 'euler'"}};
  for (const auto& s : settings) {
    SamplingParams p;
    p.steps = s.steps;
    p.sampler = s.sampler;
    expect_error([&] { lab.sample(p); }, s.fragment);
  }
  // A restored PNG can carry any numbers: a class the model lacks, a CFG or eta out of range.
  SamplingParams bad_class, bad_cfg, bad_eta;
  bad_class.label = 2;  // the tiny model has classes 0 and 1
  bad_cfg.cfg = std::nan("");
  bad_eta.eta = 50;
  expect_error([&] { lab.sample(bad_class); }, "class 2 is not in 0..1");
  expect_error([&] { lab.sample(bad_cfg); }, "cfg nan is not in 0..20");
  expect_error([&] { lab.sample(bad_eta); }, "eta 50.000000 is not in 0..1");

  SafetensorsFile file = read_safetensors(path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string cut = dir + "/cut.safetensors", wide = dir + "/wide.safetensors", vae = dir + "/vae.safetensors";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  SafetensorsFile resized = file;  // the right names, one tensor of another shape
  for (NamedTensor& t : resized.tensors)
    if (t.shape.size() == 4) {
      std::swap(t.shape[0], t.shape[1]);
      if (t.shape[0] != t.shape[1]) break;
    }
  write_safetensors(wide, resized);
  SafetensorsFile foreign = file;  // another model's metadata
  auto meta = nlohmann::json::parse(foreign.metadata_json);
  meta["model"] = "vae";
  foreign.metadata_json = meta.dump();
  write_safetensors(vae, foreign);
  expect_error([&] { lab.load(cut); }, cut + ": truncated");
  expect_error([&] { lab.load(wide); }, wide + ": tensor '");
  expect_error([&] { lab.load(vae); }, vae + ": holds a 'vae' model, not a diffusion model");
  expect_error([&] { lab.load(dir); }, dir + ": is a folder");

  EXPECT_EQ(lab.model().get()->value.checkpoint, path);  // the model that was open is still open
  const uint64_t errors = session.worker().status()->value.error_stamp;
  SamplingParams good;
  good.steps = 2;
  lab.sample(good);
  session.worker().wait_idle();
  EXPECT_EQ(session.worker().status()->value.error_stamp, errors) << session.worker().status()->value.error;
  EXPECT_TRUE(lab.sampling().get()->value.done);
  std::filesystem::remove_all(dir);
}
