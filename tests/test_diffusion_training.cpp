// The diffusion model's training: a tiny U-Net overfits one image and samples it back; label
// dropout and guidance wiring; checkpoints.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/diffusion/diffusion_trainer.h"
#include "core/labs/diffusion_lab.h"
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
                          at::detail::createCPUGenerator(1), {}, 1.0).x;
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

TEST(DiffusionLab, LoadsAModelAndStreamsEveryStepNewestWins) {
  const std::string path = ::testing::TempDir() + "genlab_ddpm_lab_" + std::to_string(getpid()) + ".safetensors";
  {
    DiffusionTrainer trainer(tiny(true), one_image(4));
    trainer.train_step();
    trainer.save(path);
  }
  Session session(1);
  DiffusionLab& lab = session.diffusion();
  lab.load(path);
  session.worker().wait_idle();
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
  EXPECT_EQ(v.frames.back()->x_t.indices.size(), 2u);
  EXPECT_LE(v.seconds_first, v.seconds_last);
}
