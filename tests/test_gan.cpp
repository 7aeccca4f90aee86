// The GAN's math and training: each loss against hand values, the WGAN-GP penalty, the
// non-saturating gradient, the toy ring, the NaN guard, checkpoints; ProGAN's growth and fade-in,
// StyleGAN's demodulation, truncation, mixing and noise, the path length and the layer view.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/io/safetensors.h"
#include "core/gan/gan_trainer.h"
#include "core/io/tensors.h"

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

TEST(GanMath, SoftRealLabelsAreBinaryCrossEntropyWithThatTarget) {
  const double r0 = 2, r1 = -1, f0 = 0.5, f1 = -3, y0 = 0.8, y1 = 0.95;
  auto bce = [](double score, double y) { return y * softplus(-score) + (1 - y) * softplus(score); };
  const double expected = (bce(r0, y0) + bce(r1, y1)) / 2 + (softplus(f0) + softplus(f1)) / 2;
  auto target = torch::tensor({float(y0), float(y1)});
  EXPECT_NEAR(discriminator_loss(GanLoss::NonSaturating, kReal, kFake, target).item<double>(), expected, 1e-5);
  EXPECT_NEAR(discriminator_loss(GanLoss::NonSaturating, kReal, kFake, torch::ones({2})).item<double>(),
              d_loss(GanLoss::NonSaturating), 1e-6);
  EXPECT_NEAR(discriminator_loss(GanLoss::Hinge, kReal, kFake, target).item<double>(), d_loss(GanLoss::Hinge), 1e-6);
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
  for (int i = 0; i < 50; ++i) t.train_step();  // good weights remembered at step 50
  std::vector<torch::Tensor> d_at_50;
  for (auto& p : t.discriminator().parameters()) d_at_50.push_back(p.detach().clone());
  for (int i = 0; i < 10; ++i) t.train_step();  // D's first update after step 50 keeps the copy of step 50
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
  auto restored = t.discriminator().parameters();
  for (size_t i = 0; i < restored.size(); ++i) EXPECT_TRUE(torch::equal(restored[i], d_at_50[i])) << i;
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

namespace {

// 64 striped 28x28 images: enough for a few steps of any GAN.
std::shared_ptr<Dataset> striped_data() {
  auto data = blank_dataset(1, 28, 28, 2);
  data->train.count = 64;
  data->train.pixels.assign(size_t(64) * 784, 0);
  data->train.labels.assign(64, 0);
  for (int i = 0; i < 64; ++i)
    for (int p = 0; p < 784; p += 2 + i % 5) data->train.pixels[size_t(i) * 784 + p] = 255;
  return data;
}

GanConfig small(GanArch arch) {
  GanConfig c;
  c.arch = arch;
  c.width = 8;
  c.latent = 16;
  c.w_dim = 16;
  c.batch_size = 8;
  c.lr_g = c.lr_d = 1e-3f;
  c.stage_steps = 2;
  c.fade_steps = 4;
  return c;
}

}  // namespace

TEST(ProGan, GrowthScheduleStagesAndFades) {
  GanConfig c = small(GanArch::ProGan);
  c.stage_steps = 10;
  c.fade_steps = 20;
  auto at = [&](int64_t step) { return c.growth_at(step); };
  EXPECT_EQ(at(0).level, 0);
  EXPECT_FALSE(at(9).fading());
  EXPECT_EQ(at(10).level, 1);
  EXPECT_FLOAT_EQ(at(10).alpha, 0.f);
  EXPECT_FLOAT_EQ(at(20).alpha, 0.5f);
  EXPECT_EQ(at(30).level, 1);
  EXPECT_FALSE(at(30).fading());
  EXPECT_EQ(at(40).level, 2);
  EXPECT_FLOAT_EQ(at(45).alpha, 0.25f);
  EXPECT_FALSE(at(60).fading());
  EXPECT_EQ(at(100000).level, 2);
  EXPECT_EQ(at(0).resolution(28), 7);
  EXPECT_EQ(at(30).resolution(28), 14);
  EXPECT_EQ(small(GanArch::StyleGan).growth_at(0).level, 2);  // only ProGAN grows
}

TEST(ProGan, FadeBlendsTheUpsampledOldPathWithTheNewBlock) {
  torch::manual_seed(3);
  GanConfig c = small(GanArch::ProGan);
  ProGanGenerator g(c);
  ProGanDiscriminator d(c, /*growing=*/true);
  auto z = torch::randn({4, c.latent});
  torch::NoGradGuard no_grad;
  for (int level = 0; level < 3; ++level) {
    g.set_growth({level, 1.f});
    d.set_growth({level, 1.f});
    auto x = g.forward(z, {});
    EXPECT_EQ(x.size(2), 28 >> (2 - level));
    EXPECT_EQ(d.forward(x, {}).sizes(), (std::vector<int64_t>{4}));
  }
  g.set_growth({2, 0.25f});
  ProGanGenerator::Fade f = g.fade(z);
  // The old path is a 14x14 image upsampled: 2x2 blocks of equal pixels.
  EXPECT_TRUE(torch::equal(f.old_path, torch::upsample_nearest2d(torch::avg_pool2d(f.old_path, 2), {28, 28})));
  EXPECT_TRUE(torch::allclose(f.blended, 0.75 * f.old_path + 0.25 * f.new_path, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(g.forward(z, {}), f.blended));
  g.set_growth({2, 0.f});
  EXPECT_TRUE(torch::allclose(g.forward(z, {}), f.old_path, 1e-5, 1e-6));  // alpha 0: only the old path
  // D at a fade: alpha 0 judges only the downsampled image through the old input.
  auto x = torch::randn({4, 1, 28, 28});
  d.set_growth({2, 0.f});
  auto faded = d.forward(x, {});
  d.set_growth({1, 1.f});
  EXPECT_TRUE(torch::allclose(faded, d.forward(torch::avg_pool2d(x, 2), {}), 1e-5, 1e-5));
  // Real images fade the same way: alpha 0 gives the blocky half-resolution image.
  auto real = progan_real(x, {2, 0.f});
  EXPECT_TRUE(torch::allclose(real, torch::upsample_nearest2d(torch::avg_pool2d(x, 2), {28, 28})));
  EXPECT_TRUE(torch::equal(progan_real(x, {2, 1.f}), x));
  EXPECT_EQ(progan_real(x, {0, 1.f}).size(2), 7);
}

TEST(ProGan, EqualisedLayersScaleUnitWeightsByHesConstant) {
  torch::manual_seed(1);
  EqConv2d conv(16, 8, 3);
  EXPECT_NEAR(conv->weight.std().item<double>(), 1.0, 0.1);  // stored as N(0, 1)
  auto x = torch::randn({1, 16, 5, 5});
  auto expected = torch::conv2d(x, conv->weight * (kLeakyGain / std::sqrt(16.0 * 9)), conv->bias, 1, 1);
  EXPECT_TRUE(torch::allclose(conv(x), expected, 1e-5, 1e-5));
  // Minibatch stddev: a batch of 4 copies has (almost) none, a varied one has some.
  auto same = torch::randn({1, 3, 2, 2}).expand({4, 3, 2, 2}).contiguous();
  EXPECT_LT(minibatch_stddev(same)[0][3].max().item<float>(), 1e-3f);
  auto varied = minibatch_stddev(torch::randn({4, 3, 2, 2}));
  EXPECT_EQ(varied.size(1), 4);
  EXPECT_GT(varied[0][3][0][0].item<float>(), 0.3f);
}

TEST(ProGan, TrainsThroughEveryStageAndResumes) {
  const std::string path = ::testing::TempDir() + "genlab_progan_" + std::to_string(getpid()) + ".safetensors";
  auto data = striped_data();
  GanTrainer t(small(GanArch::ProGan), data);
  std::vector<int> levels;
  for (int i = 0; i < 14; ++i) {
    levels.push_back(t.growth().level);
    GanStepStats s = t.train_step();
    EXPECT_TRUE(std::isfinite(s.loss_d) && std::isfinite(s.loss_g));
  }
  EXPECT_EQ(levels.front(), 0);
  EXPECT_EQ(levels.back(), 2);
  auto z = torch::randn({3, 16});
  EXPECT_EQ(t.generate(z).sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  t.save(path);
  EXPECT_EQ(read_gan_config(path).arch, GanArch::ProGan);
  GanTrainer back(small(GanArch::ProGan), data);
  back.resume(path);
  EXPECT_TRUE(torch::equal(t.generate(z), back.generate(z)));
  GanTrainer style(small(GanArch::StyleGan), data);
  EXPECT_THROW(style.resume(path), CheckpointError);  // another architecture
}

TEST(StyleGan, DemodulationUndoesTheStylesScale) {
  torch::manual_seed(2);
  StyleConv conv(4, 6, 5, /*upsample=*/false);
  torch::NoGradGuard no_grad;
  conv->noise_strength.fill_(0);
  auto x = torch::randn({1, 6, 7, 7});
  auto w = torch::randn({1, 4});
  // Scaling every style by k scales the input by k and the demodulation by 1/k: the same output.
  auto out = conv(x, w, torch::zeros({1, 1, 7, 7}));
  for (auto& p : conv->named_parameters())
    if (p.key() == "affine.weight" || p.key() == "affine.bias") p.value().mul_(3);
  EXPECT_TRUE(torch::allclose(out, conv(x, w, torch::zeros({1, 1, 7, 7})), 1e-4, 1e-4));
}

TEST(StyleGan, TruncationMixingAndNoiseDoWhatThePaperSays) {
  torch::manual_seed(4);
  GanConfig c = small(GanArch::StyleGan);
  StyleGenerator g(c);
  torch::NoGradGuard no_grad;
  for (auto& p : g.named_parameters())
    if (p.key().find("noise_strength") != std::string::npos) p.value().fill_(0.5);
  g.train();
  auto z = torch::randn({16, c.latent});
  g.forward(z, {});  // training moves w̄ towards the batch's mean w
  EXPECT_GT(g.w_avg().abs().sum().item<float>(), 0.f);
  EXPECT_TRUE(torch::allclose(g.w_avg(), 0.005 * g.map(z).mean(0), 1e-5, 1e-6));
  g.eval();
  auto a = z.narrow(0, 0, 2), b = z.narrow(0, 2, 2);
  // psi 0: every z draws w̄'s image; psi 1: its own.
  auto at0 = g.synthesize(g.styles(a, 0.0));
  EXPECT_TRUE(torch::allclose(at0[0], at0[1], 1e-5, 1e-5));
  auto mean_ws = g.w_avg().view({1, 1, -1}).expand({1, StyleGenerator::kLayers, -1});
  EXPECT_TRUE(torch::allclose(at0[0], g.synthesize(mean_ws)[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(g.styles(a, 1.0).select(1, 3), g.map(a)));
  EXPECT_TRUE(torch::allclose(g.styles(a, -1.0).select(1, 0), 2 * g.w_avg() - g.map(a), 1e-5, 1e-5));
  // Mixing "middle": layers 2-3 carry B's w, the others A's.
  auto mixed = g.styles(a, 1.0, b, style_layers("middle"));
  EXPECT_TRUE(torch::allclose(mixed.select(1, 2), g.map(b)));
  EXPECT_TRUE(torch::allclose(mixed.select(1, 4), g.map(a)));
  EXPECT_THROW(style_layers("medium"), std::invalid_argument);
  // Noise: eval draws the fixed noise (repeatable); zero noise differs; fresh noise in one fine layer
  // changes the image, and only where noise enters.
  auto ws = g.styles(a, 1.0);
  EXPECT_TRUE(torch::equal(g.synthesize(ws), g.synthesize(ws)));
  std::vector<torch::Tensor> noise;
  for (int layer = 0; layer < StyleGenerator::kLayers; ++layer) noise.push_back(g.fixed_noise(layer));
  EXPECT_TRUE(torch::allclose(g.synthesize(ws, noise), g.synthesize(ws)));
  noise[5] = torch::randn({1, 1, 28, 28});
  EXPECT_FALSE(torch::allclose(g.synthesize(ws, noise), g.synthesize(ws)));
  std::vector<Activation> record;
  g.synthesize(ws, {}, &record);
  EXPECT_EQ(record.size(), size_t(StyleGenerator::kLayers + 3));  // six layers, three partial images
  EXPECT_EQ(record.back().value.size(2), 28);
}

TEST(StyleGan, TrainsWithMixingAndKeepsWMeanInItsCheckpoint) {
  const std::string path = ::testing::TempDir() + "genlab_stylegan_" + std::to_string(getpid()) + ".safetensors";
  auto data = striped_data();
  GanConfig c = small(GanArch::StyleGan);
  c.mixing_prob = 1.f;
  GanTrainer t(c, data);
  for (int i = 0; i < 3; ++i) {
    GanStepStats s = t.train_step();
    EXPECT_TRUE(std::isfinite(s.loss_d) && std::isfinite(s.loss_g));
    EXPECT_GT(s.grad_norm_g, 0);
  }
  t.save(path);
  GanTrainer back(c, data);
  back.resume(path);
  EXPECT_TRUE(torch::equal(t.stylegan()->w_avg(), back.stylegan()->w_avg()));
  auto z = torch::randn({2, c.latent});
  EXPECT_TRUE(torch::equal(t.generate(z), back.generate(z)));  // the fixed noise came back too
}

TEST(GanPathLength, ConstantGeneratorHasNoneAndZIsSlerped) {
  // slerp_rows is slerp row by row.
  auto a = torch::randn({3, 5}), b = torch::randn({3, 5});
  auto t = torch::tensor({0.f, 0.3f, 1.f});
  auto rows = slerp_rows(a, b, t);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(torch::allclose(rows[i], slerp(a[i], b[i], t[i].item<double>()), 1e-5, 1e-5));
  auto data = striped_data();
  GanTrainer style(small(GanArch::StyleGan), data);
  auto flat = [](const torch::Tensor& x) { return x.flatten(1); };
  PathLengths p = path_lengths(style, flat, 50, 1);
  EXPECT_EQ(p.paths, 50);
  EXPECT_GT(p.z, 0);
  EXPECT_GT(p.w, 0);
  // A G whose image does not depend on z: no path has any length.
  GanTrainer dcgan(small(GanArch::Dcgan), data);
  {
    torch::NoGradGuard no_grad;
    dcgan.drawing_generator().parameters().front().zero_();  // the layer z enters
  }
  PathLengths none = path_lengths(dcgan, flat, 20, 1);
  EXPECT_NEAR(none.z, 0.0, 1e-6);
  EXPECT_LT(none.w, 0);  // no w space
}

TEST(GanLayerView, ChannelsScaledWithTheirStatistics) {
  auto x = torch::zeros({1, 2, 3, 3});
  x[0][0] = torch::arange(9, torch::kFloat).view({3, 3});  // 0..8: mean 4
  x[0][1].fill_(-2);
  LayerView v = layer_view({{"first", torch::zeros({1, 1, 1, 1})}, {"second", x}}, -1);
  EXPECT_EQ(v.layer, 1);
  EXPECT_EQ(v.layers, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(v.channels, 2);
  EXPECT_FLOAT_EQ(v.mean[0], 4.f);
  EXPECT_NEAR(v.std[0], std::sqrt(60.0 / 9), 1e-5);
  EXPECT_FLOAT_EQ(v.mean[1], -2.f);
  EXPECT_FLOAT_EQ(v.channel[0].pixels.front(), 0.f);
  EXPECT_FLOAT_EQ(v.channel[0].pixels.back(), 1.f);
  try {
    layer_view({{"only", x}}, 3);
    FAIL() << "no error for a missing layer";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 3 does not exist"), std::string::npos) << e.what();
  }
  // A dense layer reshaped into maps is shown as the maps the next layer reads.
  torch::nn::Sequential dense(torch::nn::Linear(2, 8), torch::nn::ReLU(),
                              torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {2, 2, 2})), torch::nn::Tanh());
  auto recorded = sequential_activations(dense, torch::randn({1, 2}));
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0].value.sizes(), (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_EQ(recorded[0].name, "layer 1: 2 x 2x2");
  // Every generator lists its layers, the image last.
  auto data = striped_data();
  for (GanArch arch : {GanArch::Dcgan, GanArch::ProGan, GanArch::StyleGan}) {
    GanTrainer t(small(arch), data);
    auto layers = t.activations(torch::randn({1, 16}), {});
    ASSERT_GE(layers.size(), 2u) << arch_name(arch);
    EXPECT_EQ(layers.back().value.size(1), 1) << arch_name(arch);  // the image's one channel
  }
}

TEST(GanTraining, TheDeepLayoutIsCppDcgansAndTheAveragedGDrawsTheSamples) {
  auto data = blank_dataset(1, 28, 28, 10);
  GanConfig c;
  c.batch_size = 8;
  c.width = 8;
  GanTrainer t(c, data);
  // cpp/dcgan's path: z -> 4 -> 7 -> 14 -> 28; D has batch norm after its second and third convs.
  auto layers = t.activations(torch::randn({2, c.latent}), {});
  std::vector<int64_t> sizes;
  for (const Activation& a : layers)
    if (a.value.dim() == 4 && (sizes.empty() || sizes.back() != a.value.size(2))) sizes.push_back(a.value.size(2));
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 7, 14, 28}));
  int norms = 0;
  for (const auto& m : t.discriminator().modules(false)) norms += m->name() == "torch::nn::BatchNorm2dImpl";
  EXPECT_EQ(norms, 2);
  // The average starts as G and, warmed up (decay 1/10 at the first step), takes 9/10 of its change.
  std::vector<torch::Tensor> before;
  for (auto& p : t.generator().parameters()) before.push_back(p.detach().clone());
  t.train_step();
  auto live = t.generator().parameters(), average = t.drawing_generator().parameters();
  ASSERT_EQ(live.size(), average.size());
  double moved = 0, expected = 0;
  for (size_t i = 0; i < live.size(); ++i) {
    moved += (average[i] - before[i]).abs().sum().item<double>();
    expected += 0.9 * (live[i] - before[i]).abs().sum().item<double>();
  }
  EXPECT_GT(expected, 0);
  EXPECT_NEAR(moved, expected, 1e-4 * expected);
  EXPECT_NE(&t.drawing_generator(), &t.generator());
  // A 32 px data set takes the same layout: z -> 4 -> 8 -> 16 -> 32, and D ends on 4 x 4.
  GanTrainer wide(c, blank_dataset(1, 32, 32, 10));
  EXPECT_EQ(wide.generate(torch::randn({2, c.latent})).sizes(), (std::vector<int64_t>{2, 1, 32, 32}));
  EXPECT_NO_THROW(wide.train_step());
  // The compact layout without the average draws with G itself.
  c.layout = DcganLayout::Compact;
  c.g_ema = 0;
  GanTrainer compact(c, data);
  EXPECT_EQ(&compact.drawing_generator(), &compact.generator());
  // Smoothing and the average belong to the image DCGAN: the toy trains without them.
  GanTrainer toy(toy_config(GanLoss::NonSaturating), nullptr);
  EXPECT_EQ(toy.config().g_ema, 0.f);
  EXPECT_EQ(toy.config().real_label, 1.f);
}

TEST(GanCheckpoint, TheAveragedGIsSavedAndResumed) {
  const std::string path = ::testing::TempDir() + "genlab_gan_ema_" + std::to_string(getpid()) + ".safetensors";
  auto data = blank_dataset(1, 28, 28, 10);
  GanConfig c;
  c.batch_size = 8;
  c.width = 8;
  GanTrainer t(c, data);
  for (int i = 0; i < 3; ++i) t.train_step();
  t.save(path);
  GanTrainer back(c, data);
  back.resume(path);
  auto z = torch::randn({4, c.latent});
  EXPECT_TRUE(torch::equal(t.generate(z), back.generate(z)));
  GanConfig without = c;
  without.g_ema = 0;
  GanTrainer other(without, data);
  EXPECT_THROW(other.resume(path), CheckpointError);
}

TEST(GanConfigJson, NewArchitecturesRoundTripAndOldCheckpointsAreDcgans) {
  GanConfig c = small(GanArch::StyleGan);
  c.mapping_depth = 3;
  c.mixing_prob = 0.5f;
  GanConfig back = GanConfig::from_json(c.to_json());
  EXPECT_EQ(back.arch, GanArch::StyleGan);
  EXPECT_EQ(back.mapping_depth, 3);
  EXPECT_FLOAT_EQ(back.mixing_prob, 0.5f);
  EXPECT_EQ(back.kind(), "stylegan");
  auto old = nlohmann::json::parse(GanConfig().to_json());
  old.erase("arch");
  old.erase("mapping_depth");
  EXPECT_EQ(GanConfig::from_json(old.dump()).arch, GanArch::Dcgan);
  // Before the deep layout: a compact DCGAN trained with hard labels and no average.
  for (const char* key : {"layout", "real_label", "g_ema"}) old.erase(key);
  GanConfig compact = GanConfig::from_json(old.dump());
  EXPECT_EQ(compact.layout, DcganLayout::Compact);
  EXPECT_EQ(compact.real_label, 1.f);
  EXPECT_EQ(compact.g_ema, 0.f);
  GanConfig deep = GanConfig::from_json(GanConfig().to_json());
  EXPECT_EQ(deep.layout, DcganLayout::Deep);
  EXPECT_FLOAT_EQ(deep.g_ema, 0.999f);
  EXPECT_FLOAT_EQ(deep.real_label, 0.8f);
  old["layout"] = "wide";
  EXPECT_THROW(GanConfig::from_json(old.dump()), std::invalid_argument);
  GanConfig cond = small(GanArch::ProGan);
  cond.conditional = true;
  cond.classes = 10;
  try {
    cond.validate();
    FAIL() << "a conditional ProGAN was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("progan is unconditional"), std::string::npos) << e.what();
  }
}
