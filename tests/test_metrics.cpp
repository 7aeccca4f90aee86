// The sample-quality metrics: feature statistics, the Fréchet distance against closed forms and an
// independent eigenvalue route, k-NN precision/recall on sets with known answers, and the LeNet
// classifier with the evaluator on real Fashion-MNIST images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/data/dataset.h"
#include "core/diffusion/diffusion_trainer.h"
#include "core/diffusion/diffusion_lab.h"
#include "core/metrics/fid.h"
#include "core/io/tensors.h"
#include "core/gan/gan_trainer.h"
#include "core/metrics/model_samples.h"
#include "core/classifier/classifier_run.h"
#include "core/lab/session.h"
#include "core/metrics/sample_quality.h"

using namespace genlab;

namespace {

FeatureStats stats_of(torch::Tensor mean, torch::Tensor cov) {
  return FeatureStats{mean.to(torch::kDouble), cov.to(torch::kDouble), 1000};
}

torch::Tensor random_spd(int d, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto a = at::randn({d, d}, gen).to(torch::kDouble);
  return a.matmul(a.t()) + 0.1 * torch::eye(d, torch::kDouble);
}

}  // namespace

TEST(FeatureStats, MeanAndUnbiasedCovariance) {
  auto x = torch::tensor({1.0, 2.0, 3.0, 6.0, 5.0, 10.0}, torch::kDouble).view({3, 2});
  FeatureStats s = feature_stats(x);
  EXPECT_EQ(s.count, 3);
  EXPECT_NEAR(s.mean[0].item<double>(), 3.0, 1e-12);
  EXPECT_NEAR(s.mean[1].item<double>(), 6.0, 1e-12);
  EXPECT_NEAR(s.cov[0][0].item<double>(), 4.0, 1e-12);   // (4 + 0 + 4) / 2
  EXPECT_NEAR(s.cov[0][1].item<double>(), 8.0, 1e-12);   // (8 + 0 + 8) / 2
  EXPECT_NEAR(s.cov[1][1].item<double>(), 16.0, 1e-12);
  EXPECT_THROW(feature_stats(torch::zeros({1, 2})), std::invalid_argument);
}

TEST(Frechet, MatchesClosedFormsAndTheEigenvalueRoute) {
  const int d = 6;
  auto zero = torch::zeros({d}, torch::kDouble), eye = torch::eye(d, torch::kDouble);
  auto shift = torch::arange(d, torch::kDouble) * 0.5;
  // N(0, I) vs N(mu, I): ||mu||^2. N(0, a^2 I) vs N(0, b^2 I): d (a - b)^2.
  EXPECT_NEAR(frechet_distance(stats_of(zero, eye), stats_of(shift, eye)), shift.pow(2).sum().item<double>(), 1e-9);
  EXPECT_NEAR(frechet_distance(stats_of(zero, 4 * eye), stats_of(zero, 0.25 * eye)), d * 1.5 * 1.5, 1e-9);
  // Non-commuting covariances: Tr((S1^1/2 S2 S1^1/2)^1/2) = sum of sqrt(eigenvalues of S1 S2).
  auto s1 = random_spd(d, 1), s2 = random_spd(d, 2);
  auto eig = torch::linalg_eigvals(s1.matmul(s2));
  const double cross = torch::real(eig).clamp_min(0).sqrt().sum().item<double>();
  const double expected = s1.trace().item<double>() + s2.trace().item<double>() - 2 * cross;
  EXPECT_NEAR(frechet_distance(stats_of(zero, s1), stats_of(zero, s2)), expected, 1e-6 * expected);
  EXPECT_NEAR(frechet_distance(stats_of(zero, s1), stats_of(zero, s2)),
              frechet_distance(stats_of(zero, s2), stats_of(zero, s1)), 1e-6 * expected);
  EXPECT_NEAR(frechet_distance(stats_of(shift, s1), stats_of(shift, s1)), 0.0, 1e-6);
}

TEST(PrecisionRecall, KnownSets) {
  auto gen = at::detail::createCPUGenerator(3);
  auto real = at::randn({400, 8}, gen);
  PrecisionRecall same = precision_recall(real, real.clone());
  EXPECT_DOUBLE_EQ(same.precision, 1.0);
  EXPECT_DOUBLE_EQ(same.recall, 1.0);
  PrecisionRecall far = precision_recall(real, at::randn({400, 8}, gen) + 100);
  EXPECT_DOUBLE_EQ(far.precision, 0.0);
  EXPECT_DOUBLE_EQ(far.recall, 0.0);
  // Mode collapse: every sample sits at (next to) one real point: all plausible, little covered.
  auto collapsed = real[0].unsqueeze(0).repeat({400, 1}) + 1e-3 * at::randn({400, 8}, gen);
  PrecisionRecall c = precision_recall(real, collapsed);
  EXPECT_DOUBLE_EQ(c.precision, 1.0);
  EXPECT_LT(c.recall, 0.05);
  EXPECT_THROW(precision_recall(real.slice(0, 0, 3), real), std::invalid_argument);
}

TEST(SampleQuality, AClassifierScoresRealImagesAsRealAndOneClassAsCollapsed) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string path = ::testing::TempDir() + "genlab_classifier_" + std::to_string(getpid()) + ".safetensors";
  TrainArgs request;
  request.model = "classifier";
  request.steps = 100;
  request.out = path;
  auto result = nlohmann::json::parse(train_classifier(request, [](const std::string&) {}));
  const double accuracy = result["metrics"]["test_accuracy"].get<double>();
  EXPECT_GT(accuracy, 0.6);  // chance is 0.1

  auto data = std::make_shared<const Dataset>(load_dataset("fashion-mnist"));
  LoadedClassifier loaded = load_classifier(path);
  EXPECT_DOUBLE_EQ(loaded.test_accuracy, accuracy);
  SampleQuality quality(loaded, data);
  EXPECT_NEAR(quality.test_accuracy(), accuracy, 1e-12);
  // 1000 training images "generated": FID at the train-vs-test floor, classes as labelled.
  auto bytes = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()), {1000, 1, 28, 28}, torch::kUInt8);
  auto images = bytes.to(torch::kFloat) / 255.0;
  auto labels = torch::tensor(std::vector<int64_t>(data->train.labels.begin(), data->train.labels.begin() + 1000));
  QualityReport real = quality.evaluate(images, labels);
  SampleQuality::Floors floors = quality.floors(1000);
  EXPECT_NEAR(real.fid, floors.train_vs_test, 1e-9);
  EXPECT_GT(real.fid, 0.0);
  EXPECT_GT(real.precision, 0.6);
  EXPECT_GT(real.recall, 0.6);
  EXPECT_GT(real.accuracy, 0.5);
  EXPECT_GT(real.label_entropy, 2.0);  // log 10 = 2.30 for a uniform spread
  ASSERT_EQ(real.class_accuracy.size(), 10u);
  // Only trousers (about 1000 of the first 10 000 training images): a collapsed generator, scored
  // on as many samples as the real set above, since k-NN radii depend on the set size.
  auto all = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()), {10000, 1, 28, 28}, torch::kUInt8);
  auto first_labels = torch::tensor(std::vector<int64_t>(data->train.labels.begin(), data->train.labels.begin() + 10000));
  auto trousers = (all.to(torch::kFloat) / 255.0).index({first_labels == 1});
  QualityReport collapsed = quality.evaluate(trousers, torch::full({trousers.size(0)}, 1, torch::kLong));
  EXPECT_GT(collapsed.fid, 5 * real.fid);
  EXPECT_LT(collapsed.recall, 0.5 * real.recall);
  EXPECT_LT(collapsed.label_entropy, 0.7);
  std::remove(path.c_str());
}

// The diffusion lab's Metrics view end to end: a worker job scores a tiny model's samples, then one
// point of the guidance curve per scale, and publishes the finished view; a missing classifier
// comes back as the view's error.
TEST(SampleQuality, TheDiffusionLabMeasuresItsSamplesAndTheGuidanceCurve) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const std::string base = ::testing::TempDir() + "genlab_lab_quality_" + std::to_string(getpid());
  TrainArgs request;
  request.model = "classifier";
  request.steps = 30;
  request.out = base + "_lenet.safetensors";
  train_classifier(request, [](const std::string&) {});
  Session session(1);
  session.open_dataset("fashion-mnist");
  session.worker().wait_idle();
  ASSERT_TRUE(session.dataset().get());
  {
    DiffusionConfig c;  // a tiny U-Net after one step: only the plumbing is under test
    c.unet.base = 16;
    c.unet.mid = 32;
    c.unet.time_dim = 64;
    c.batch_size = 8;
    DiffusionTrainer trainer(c, session.dataset().get()->value.data);
    trainer.train_step();
    trainer.save(base + "_ddpm.safetensors");
  }
  DiffusionLab& lab = session.lab<DiffusionLab>();
  lab.load(base + "_ddpm.safetensors");
  QualityOptions options;
  options.classifier = base + "_lenet.safetensors";
  options.samples = 20;
  options.curve_samples = 20;
  options.cfg_curve = {0, 3};
  SamplingParams params;
  params.steps = 2;
  lab.measure_quality(options, params);
  session.worker().wait_idle();
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  auto snapshot = lab.quality().get();
  ASSERT_TRUE(snapshot);
  const QualityView& v = snapshot->value;
  EXPECT_FALSE(v.running);
  EXPECT_TRUE(v.error.empty()) << v.error;
  EXPECT_EQ(v.classifier, options.classifier);
  EXPECT_GT(v.classifier_accuracy, 0.0);
  EXPECT_EQ(v.model_step, 1);
  ASSERT_TRUE(v.has_main);
  EXPECT_EQ(v.main.samples, 20);
  EXPECT_GT(v.main.fid, 0.0);
  EXPECT_GT(v.main.floor_train_vs_test, 0.0);
  EXPECT_GT(v.main.floor_test_vs_test, 0.0);
  EXPECT_GE(v.main.accuracy, 0.0);  // conditional: classes were asked for
  EXPECT_EQ(v.main.class_accuracy.size(), 10u);
  ASSERT_EQ(v.curve.size(), 2u);
  EXPECT_EQ(v.curve_cfg, (std::vector<double>{0, 3}));
  for (const QualityReport& r : v.curve) {
    EXPECT_EQ(r.samples, 20);
    EXPECT_GT(r.floor_train_vs_test, 0.0);
  }

  options.classifier = base + "_none.safetensors";
  lab.measure_quality(options, params);
  session.worker().wait_idle();
  const QualityView& missing = lab.quality().get()->value;
  EXPECT_FALSE(missing.running);
  EXPECT_FALSE(missing.error.empty());
  EXPECT_FALSE(missing.has_main);
  std::remove((base + "_lenet.safetensors").c_str());
  std::remove((base + "_ddpm.safetensors").c_str());
}

TEST(ModelSamples, GanSamplesAreGsImagesInTheUnitRangeWithTheirClasses) {
  GanConfig config;
  config.conditional = true;
  GanTrainer trainer(config, blank_dataset(1, 28, 28, 10));
  Samples s = gan_samples(trainer)(12, 5, {});
  ASSERT_EQ(s.images.sizes(), (std::vector<int64_t>{12, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(s.labels, torch::arange(12, torch::kLong).remainder(10)));  // one of each class in turn
  // The same images G gives for that noise and those labels: generate() already maps to [0, 1].
  auto direct = trainer.generate(seeded_noise(5 * 7919, 12, config.latent), s.labels);
  EXPECT_TRUE(torch::allclose(s.images, direct));
  EXPECT_GE(s.images.min().item<float>(), 0.f);
  EXPECT_LE(s.images.max().item<float>(), 1.f);
}
