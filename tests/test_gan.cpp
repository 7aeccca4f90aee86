// The GAN's math and training: each loss against hand values, the WGAN-GP penalty, the
// non-saturating gradient, the toy ring, the NaN guard, checkpoints.
#include <gtest/gtest.h>

#include <cmath>
#include <unistd.h>

#include "core/io/safetensors.h"
#include "core/gan/gan_trainer.h"

using namespace genlab;

namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

const torch::Tensor kReal = torch::tensor({2.0f, -1.0f});
const torch::Tensor kFake = torch::tensor({0.5f, -3.0f});

double d_loss(GanLoss loss) { return discriminator_loss(loss, kReal, kFake).item<double>(); }
double g_loss(GanLoss loss) { return generator_loss(loss, kFake).item<double>(); }

GanConfig toy_config(GanLoss loss) {
  GanConfig c;
  c.mode = GanMode::Toy;
  c.loss = loss;
  c.latent = 8;
  c.batch_size = 256;
  c.lr_g = c.lr_d = 1e-3f;
  c.seed = 2;
  return c;
}

double mean_ring_distance(GanTrainer& t) {  // mean | ||x|| - 2 | of generated points
  auto points = t.generate(torch::randn({1000, 8}));
  return (points.norm(2, 1) - 2).abs().mean().item<double>();
}

}  // namespace

TEST(GanMath, LossesMatchHandValues) {
  const double r0 = 2, r1 = -1, f0 = 0.5, f1 = -3;
  const double bce_d = (softplus(-r0) + softplus(-r1)) / 2 + (softplus(f0) + softplus(f1)) / 2;
  EXPECT_NEAR(d_loss(GanLoss::Minimax), bce_d, 1e-5);
  EXPECT_NEAR(d_loss(GanLoss::NonSaturating), bce_d, 1e-5);
  EXPECT_NEAR(g_loss(GanLoss::Minimax), (std::log(1 - sigmoid(f0)) + std::log(1 - sigmoid(f1))) / 2, 1e-5);
  EXPECT_NEAR(g_loss(GanLoss::NonSaturating), -(std::log(sigmoid(f0)) + std::log(sigmoid(f1))) / 2, 1e-5);
  EXPECT_NEAR(d_loss(GanLoss::LeastSquares), 0.5 * (((r0 - 1) * (r0 - 1) + (r1 - 1) * (r1 - 1)) / 2 + (f0 * f0 + f1 * f1) / 2), 1e-5);
  EXPECT_NEAR(g_loss(GanLoss::LeastSquares), 0.5 * ((f0 - 1) * (f0 - 1) + (f1 - 1) * (f1 - 1)) / 2, 1e-5);
  EXPECT_NEAR(d_loss(GanLoss::WassersteinGP), (f0 + f1) / 2 - (r0 + r1) / 2, 1e-6);
  EXPECT_NEAR(g_loss(GanLoss::WassersteinGP), -(f0 + f1) / 2, 1e-6);
  EXPECT_NEAR(d_loss(GanLoss::Hinge), (std::max(0.0, 1 - r0) + std::max(0.0, 1 - r1)) / 2 + (std::max(0.0, 1 + f0) + std::max(0.0, 1 + f1)) / 2, 1e-6);
  EXPECT_NEAR(g_loss(GanLoss::Hinge), -(f0 + f1) / 2, 1e-6);
  const double v = (std::log(sigmoid(r0)) + std::log(sigmoid(r1))) / 2 + (std::log(1 - sigmoid(f0)) + std::log(1 - sigmoid(f1))) / 2;
  EXPECT_NEAR(value_function(kReal, kFake).item<double>(), v, 1e-5);
  // At the equilibrium D = 1/2 everywhere, V = -log 4.
  EXPECT_NEAR(value_function(torch::zeros({3}), torch::zeros({3})).item<double>(), -std::log(4.0), 1e-6);
}

TEST(GanMath, GradientPenaltyOfALinearCritic) {
  // D(x) = w . x has gradient w everywhere: the penalty is (||w|| - 1)^2 at any point.
  auto real = torch::randn({16, 3}), fake = torch::randn({16, 3});
  for (double norm : {3.0, 1.0, 0.5}) {
    auto w = torch::tensor({2.0f, 1.0f, 2.0f}) * float(norm / 3.0);
    auto critic = [&](const torch::Tensor& x) { return x.matmul(w); };
    EXPECT_NEAR(gradient_penalty(critic, real, fake, torch::rand({16})).item<double>(), (norm - 1) * (norm - 1), 1e-5) << norm;
  }
}

TEST(GanMath, NonSaturatingGradientIsLargerWhenDRejectsTheFakes) {
  // D(G(z)) = sigmoid(-6) ~ 0.0025: D is winning. The minimax generator's gradient all but vanishes.
  auto grad_of = [](GanLoss loss) {
    auto score = torch::full({1}, -6.0f).requires_grad_(true);
    generator_loss(loss, score).backward();
    return std::fabs(score.grad().item<double>());
  };
  const double minimax = grad_of(GanLoss::Minimax), ns = grad_of(GanLoss::NonSaturating);
  EXPECT_NEAR(minimax, sigmoid(-6), 1e-6);
  EXPECT_NEAR(ns, sigmoid(6), 1e-6);
  EXPECT_GT(ns, 100 * minimax);
}

TEST(GanTraining, ToyGeneratorMovesOntoTheRing) {
  GanTrainer t(toy_config(GanLoss::NonSaturating), nullptr);
  const double before = mean_ring_distance(t);
  for (int i = 0; i < 800; ++i) t.train_step();
  const double after = mean_ring_distance(t);
  EXPECT_LT(after, 0.5 * before) << before << " -> " << after;
  EXPECT_LT(after, 0.5);
  auto surface = t.toy_decision_surface(16, 3.f);
  EXPECT_EQ(surface.size(0), 16);
  EXPECT_GE(surface.min().item<float>(), 0.f);
  EXPECT_LE(surface.max().item<float>(), 1.f);
}

TEST(GanTraining, ImageGanStepsAndConditionalShapes) {
  auto data = std::make_shared<Dataset>();
  data->channels = 1;
  data->height = data->width = 28;
  data->class_names = {"a", "b", "c"};
  data->train.count = 96;
  data->train.pixels.assign(96 * 784, 0);
  for (int i = 0; i < 96; ++i) {
    data->train.labels.push_back(i % 3);
    for (int p = 0; p < 784; p += 1 + i % 3) data->train.pixels[size_t(i) * 784 + p] = 255;
  }
  GanConfig c;
  c.conditional = true;
  c.batch_size = 32;
  c.width = 16;
  GanTrainer t(c, data);
  GanStepStats s = t.train_step();
  EXPECT_EQ(s.step, 1);
  EXPECT_GT(s.grad_norm_d, 0);
  EXPECT_GT(s.grad_norm_g, 0);
  EXPECT_GT(s.d_real, 0);
  EXPECT_LT(s.d_real, 1);
  auto images = t.generate(t.fixed_noise(), t.fixed_labels());
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{24, 1, 28, 28}));  // a row of 8 per class
  EXPECT_GE(images.min().item<float>(), 0.f);
  EXPECT_LE(images.max().item<float>(), 1.f);
  EXPECT_EQ(t.fixed_labels()[8].item<int64_t>(), 1);  // row 1 of the fixed grid is class 1
  for (GanLoss loss : {GanLoss::Minimax, GanLoss::LeastSquares, GanLoss::WassersteinGP, GanLoss::Hinge}) {
    t.set_loss(loss);
    GanStepStats ls = t.train_step();
    EXPECT_TRUE(std::isfinite(ls.loss_d) && std::isfinite(ls.loss_g)) << loss_name(loss);
  }
}

TEST(GanTraining, NanLossRestoresTheLastGoodWeightsWithAClearMessage) {
  GanTrainer t(toy_config(GanLoss::NonSaturating), nullptr);
  for (int i = 0; i < 60; ++i) t.train_step();  // good weights remembered at step 50
  auto z = torch::randn({10, 8});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : t.discriminator().parameters()) p.fill_(std::nanf(""));
  }
  try {
    t.train_step();
    FAIL() << "no error for a NaN loss";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("restored the weights of step 50"), std::string::npos) << e.what();
  }
  EXPECT_EQ(t.step(), 50);
  for (auto& p : t.discriminator().parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  EXPECT_NO_THROW(t.train_step());  // and training goes on from there
}

TEST(GanCheckpoint, RoundTripGivesTheSameSamples) {
  const std::string path = ::testing::TempDir() + "genlab_gan_" + std::to_string(getpid()) + ".safetensors";
  GanTrainer t(toy_config(GanLoss::Hinge), nullptr);
  for (int i = 0; i < 20; ++i) t.train_step();
  t.save(path);
  GanTrainer back(toy_config(GanLoss::Hinge), nullptr);
  back.resume(path);
  EXPECT_EQ(back.step(), 20);
  auto z = torch::randn({32, 8});
  EXPECT_TRUE(torch::equal(t.generate(z), back.generate(z)));
  EXPECT_EQ(read_gan_config(path).loss, GanLoss::Hinge);
  GanConfig other = toy_config(GanLoss::Hinge);
  other.latent = 4;
  GanTrainer mismatched(other, nullptr);
  EXPECT_THROW(mismatched.resume(path), CheckpointError);
}

TEST(GanCheckpoint, ResumeKeepsTheEpoch) {
  const std::string path = ::testing::TempDir() + "genlab_gan_epoch_" + std::to_string(getpid()) + ".safetensors";
  auto data = blank_dataset(1, 28, 28, 10);
  data->train.count = 128;
  data->train.pixels.assign(size_t(128) * 28 * 28, 0);
  data->train.labels.assign(128, 0);
  GanConfig config;  // images, batch 64
  GanTrainer t(config, data);
  for (int i = 0; i < 3; ++i) t.train_step();
  EXPECT_DOUBLE_EQ(t.epoch(), 1.5);
  t.save(path);
  GanTrainer back(config, data);
  back.resume(path);
  EXPECT_DOUBLE_EQ(back.epoch(), 1.5);  // a loaded model used to show epoch 0
}
