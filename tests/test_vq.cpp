// VQ-VAE, its prior and VAE-GAN: nearest-code snapping and the straight-through gradient, the
// codebook by loss and by EMA, dead-code restarts, the prior's causality and sampling settings,
// mismatched checkpoints, VAE-GAN's terms, the sharpness figure, and the VQ lab through the worker.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <unistd.h>

#include "core/io/checkpoint.h"
#include "core/metrics/sample_quality.h"
#include "core/vae/vae_trainer.h"
#include "core/vae/vq_lab.h"
#include "core/vae/vq_trainer.h"
#include "tests/squares_dataset.h"

using namespace genlab;

namespace {

VqConfig tiny_vq(int codes = 16) {
  VqConfig c;
  c.codes = codes;
  c.code_dim = 4;
  c.batch_size = 32;
  c.seed = 5;
  return c;
}

VqPriorConfig tiny_prior() {
  VqPriorConfig c;
  c.width = 16;
  c.layers = 1;
  c.heads = 2;
  c.batch_size = 32;
  c.learning_rate = 3e-3f;
  return c;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "genlab_vq_" + std::to_string(::getpid()) + "_" + name;
}

bool have_fashion() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); }

}  // namespace

TEST(VqMath, SnapsToTheNearestCodeAndPassesGradientsStraightThrough) {
  torch::manual_seed(1);
  VqVae model(tiny_vq(8));
  auto z_e = torch::randn({2, 4, 7, 7}, torch::requires_grad());
  Quantized q = model->quantize(z_e);
  // Brute force: the distance of every vector to every code.
  auto flat = z_e.detach().permute({0, 2, 3, 1}).reshape({-1, 4});
  auto nearest = torch::cdist(flat, model->codebook().detach()).argmin(1);
  EXPECT_TRUE(torch::equal(q.indices.reshape({-1}), nearest));
  // The forward value is the code; the backward is the identity to z_e.
  EXPECT_TRUE(torch::allclose(q.z_q, model->lookup(q.indices)));
  q.z_q.sum().backward();
  EXPECT_TRUE(torch::allclose(z_e.grad(), torch::ones_like(z_e)));
  // ||z_e - e||^2 summed per image, averaged: the commitment and codebook terms are the same number.
  const double expected = (flat - model->codebook().detach().index_select(0, nearest)).pow(2).sum().item<double>() / 2;
  EXPECT_NEAR(q.commit.item<double>(), expected, 1e-4 * expected);
  EXPECT_NEAR(q.codebook.item<double>(), expected, 1e-4 * expected);
}

TEST(VqMath, PerplexityIsKForEvenUseAndOneForOneCode) {
  EXPECT_NEAR(perplexity(torch::full({16}, 5.f)), 16.0, 1e-9);
  auto one = torch::zeros({16});
  one[3] = 40;
  EXPECT_NEAR(perplexity(one), 1.0, 1e-9);
  auto indices = torch::tensor({0, 0, 1, 3}, torch::kLong);
  auto counts = code_counts(indices, 4);
  EXPECT_EQ(counts[0].item<float>(), 2.f);
  EXPECT_EQ(counts[2].item<float>(), 0.f);
  EXPECT_NEAR(perplexity(counts), std::exp(-(0.5 * std::log(0.5) + 2 * 0.25 * std::log(0.25))), 1e-6);
}

TEST(VqMath, LossAddsTheCodebookTermOnlyInLossMode) {
  torch::manual_seed(2);
  VqConfig c = tiny_vq();
  c.commitment = 0.5f;
  VqVae model(c);
  auto x = torch::rand({3, 1, 28, 28});
  VqOutput out = model->forward(x);
  VqLoss ema = vq_loss(out, x, c);
  EXPECT_NEAR(ema.total.item<double>(), ema.recon.item<double>() + 0.5 * ema.commit.item<double>(), 1e-3);
  c.update = CodebookUpdate::Loss;
  VqLoss by_loss = vq_loss(out, x, c);
  EXPECT_NEAR(by_loss.total.item<double>(), ema.total.item<double>() + by_loss.codebook.item<double>(), 1e-3);
}

TEST(VqTraining, EmaAndLossModesBothMoveTheCodebookAndLearn) {
  for (CodebookUpdate update : {CodebookUpdate::Ema, CodebookUpdate::Loss}) {
    VqConfig c = tiny_vq();
    c.update = update;
    VqTrainer t(c, squares_dataset());
    const auto before = t.model()->codebook().detach().clone();
    const double first = t.test_figures().recon_bce;
    for (int i = 0; i < 60; ++i) t.train_step();
    EXPECT_FALSE(torch::allclose(before, t.model()->codebook().detach())) << update_name(update);
    EXPECT_LT(t.test_figures().recon_bce, 0.7 * first) << update_name(update);
  }
}

TEST(VqTraining, RestartsReviveDeadCodes) {
  // With the codebook's small initial codes far from the encoder's outputs, most codes never win a
  // vector and die; restarts move them onto encoder outputs, so more codes stay in use.
  int used[2] = {0, 0};
  for (bool restarts : {false, true}) {
    VqConfig c = tiny_vq(64);
    c.restarts = restarts;
    c.restart_after = 5;
    VqTrainer t(c, squares_dataset());
    for (int i = 0; i < 40; ++i) t.train_step();
    used[restarts] = t.test_figures().used;
    EXPECT_EQ(t.restarts() > 0, restarts);
  }
  EXPECT_GT(used[1], used[0] + 5) << "without restarts " << used[0] << ", with " << used[1];
}

TEST(VqCheckpoint, ResumeGoesOnExactlyAndPriorsMustMatchTheirVqVae) {
  const std::string path = temp_path("vq.safetensors"), prior_path = temp_path("prior.safetensors");
  VqTrainer a(tiny_vq(), squares_dataset());
  for (int i = 0; i < 5; ++i) a.train_step();
  a.save(path);
  for (int i = 0; i < 5; ++i) a.train_step();
  VqTrainer b(tiny_vq(), squares_dataset());
  b.resume(path);
  for (int i = 0; i < 5; ++i) b.train_step();
  EXPECT_TRUE(torch::equal(a.model()->codebook(), b.model()->codebook()));
  EXPECT_EQ(a.last().recon, b.last().recon);

  VqPriorConfig pc = tiny_prior();
  pc.vqvae = path;
  VqPriorTrainer prior(pc, load_vqvae(path), squares_dataset());
  prior.save(prior_path);
  EXPECT_EQ(prior_vqvae_path(prior_path, read_prior_config(prior_path)), path);
  // A prior over 16 codes against a VQ-VAE with 32: one line naming both files.
  VqConfig other = tiny_vq(32);
  try {
    check_prior_matches(read_prior_config(prior_path), prior_path, other, "other.safetensors");
    FAIL() << "a mismatched prior was accepted";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find(prior_path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("other.safetensors"), std::string::npos) << e.what();
  }
  // Each reader refuses the other's file, naming it.
  EXPECT_THROW(read_vq_config(prior_path), CheckpointError);
  EXPECT_THROW(read_prior_config(path), CheckpointError);
  for (const std::string& p : {path, prior_path}) std::filesystem::remove(p), std::filesystem::remove(optimizer_path(p));
}

TEST(VqConfigText, RoundTripAndRangeErrors) {
  VqConfig c = tiny_vq(128);
  c.update = CodebookUpdate::Loss;
  EXPECT_EQ(VqConfig::from_json(c.to_json()).to_json(), c.to_json());
  c.codes = 4;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.codes = 64;
  c.commitment = 11.f;
  try {
    c.validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("commitment"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_update("adam"), std::invalid_argument);
  VqPriorConfig p = tiny_prior();
  EXPECT_EQ(VqPriorConfig::from_json(p.to_json()).to_json(), p.to_json());
  EXPECT_THROW((PriorSampling{0.f, 0}.validate(64)), std::invalid_argument);
  EXPECT_THROW((PriorSampling{1.f, 65}.validate(64)), std::invalid_argument);
}

TEST(VqPrior, EachPositionSeesOnlyTheCodesBeforeIt) {
  torch::manual_seed(3);
  VqPriorConfig c = tiny_prior();
  c.codes = 16;
  c.classes = 4;
  CodePrior prior(c);
  prior->eval();
  auto codes = torch::randint(16, {2, 49}, torch::kLong);
  auto labels = torch::tensor({1, -1}, torch::kLong);
  auto logits = prior->forward(codes, labels);
  auto changed = codes.clone();
  changed.select(1, 20).fill_(int64_t(7) - changed[0][20].item<int64_t>() % 7 + 8);  // another code at 20
  auto after = prior->forward(changed, labels);
  // The output at i predicts code i from codes < i: positions 0..20 are untouched, 21 on may change.
  EXPECT_TRUE(torch::allclose(logits.slice(1, 0, 21), after.slice(1, 0, 21), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(logits.slice(1, 21, 22), after.slice(1, 21, 22)));
  // The class is the first token: it changes even position 0.
  auto other_class = prior->forward(codes, torch::tensor({2, 0}, torch::kLong));
  EXPECT_FALSE(torch::allclose(logits.select(1, 0), other_class.select(1, 0)));
}

TEST(VqPrior, TopOneSamplingIsGreedyAndTopKKeepsKCodes) {
  torch::manual_seed(4);
  VqPriorConfig c = tiny_prior();
  c.codes = 16;
  CodePrior prior(c);
  prior->eval();
  auto logits = torch::randn({3, 16});
  auto shaped = shape_logits(logits, PriorSampling{0.5f, 4});
  EXPECT_EQ(torch::isfinite(shaped).sum(1).min().item<int64_t>(), 4);
  EXPECT_TRUE(torch::equal(shaped.argmax(1), logits.argmax(1)));
  auto finite = torch::isfinite(shaped);
  EXPECT_TRUE(torch::allclose(shaped.masked_select(finite), (logits / 0.5).masked_select(finite)));
  // top-1: every draw is the argmax given the codes before, so two seeds give the same map.
  auto labels = torch::full({2}, -1, torch::kLong);
  int calls = 0;
  auto a = prior->sample(labels, {1.f, 1}, at::detail::createCPUGenerator(1), [&](int position, const torch::Tensor& codes, const torch::Tensor& probs) {
    EXPECT_EQ(position, calls++);
    EXPECT_EQ(probs.size(1), 16);
    EXPECT_EQ((codes >= 0).sum().item<int64_t>(), 2 * (position + 1));
    return true;
  });
  EXPECT_EQ(calls, 49);
  auto b = prior->sample(labels, {1.f, 1}, at::detail::createCPUGenerator(2));
  EXPECT_TRUE(torch::equal(a, b));
  auto greedy = prior->forward(a, labels).argmax(2);
  EXPECT_TRUE(torch::equal(greedy, a));
  // The callback can stop a run (a cancelled job): the rest stays undrawn.
  auto stopped = prior->sample(labels, {1.f, 0}, at::detail::createCPUGenerator(1),
                               [](int position, const torch::Tensor&, const torch::Tensor&) { return position < 9; });
  EXPECT_EQ((stopped >= 0).sum().item<int64_t>(), 2 * 10);
}

TEST(VqPrior, LearnsTheCodesOfItsVqVae) {
  VqTrainer vq(tiny_vq(), squares_dataset());
  for (int i = 0; i < 40; ++i) vq.train_step();
  VqPriorConfig pc = tiny_prior();
  pc.classes = 4;
  VqPriorTrainer prior(pc, vq.model(), squares_dataset());
  const double before = prior.test_loss();
  EXPECT_NEAR(before, std::log(16.0), 0.6);  // an untrained prior is close to uniform
  for (int i = 0; i < 40; ++i) prior.train_step();
  EXPECT_LT(prior.test_loss(), 0.7 * before);
}

TEST(VaeGan, FeatureReconAndTheTrainingStep) {
  VaeConfig c;
  c.kind = AutoencoderKind::VAEGAN;
  c.latent = 4;
  c.batch_size = 16;
  c.seed = 6;
  VaeTrainer t(c, squares_dataset());
  ASSERT_TRUE(t.discriminator());
  auto x = torch::rand({2, 1, 28, 28}), y = torch::rand({2, 1, 28, 28});
  auto expected = 0.5 * (t.discriminator()->features(x) - t.discriminator()->features(y)).pow(2).sum() / 2;
  EXPECT_NEAR(feature_recon(t.discriminator(), x, y).item<double>(), expected.item<double>(), 1e-4 * expected.item<double>());
  auto d_before = t.discriminator()->parameters()[0].detach().clone();
  VaeStepLosses l;
  for (int i = 0; i < 3; ++i) l = t.train_step();
  EXPECT_GT(l.feature, 0.f);
  EXPECT_GT(l.adversarial, 0.f);
  EXPECT_GT(l.d_loss, 0.f);
  EXPECT_NEAR(l.total, c.pixel_weight * l.recon + c.beta * l.kl + c.feature_weight * l.feature + c.adversarial_weight * l.adversarial,
              1e-3 * l.total);
  EXPECT_FALSE(torch::equal(d_before, t.discriminator()->parameters()[0]));
  EXPECT_THROW(t.set_gan_weights(1.f, -1.f, 1.f), std::invalid_argument);
  // A VAE-GAN checkpoint holds both nets and reads back as one.
  const std::string path = temp_path("vaegan.safetensors");
  t.save(path);
  VaeTrainer back(read_vae_config(path), squares_dataset());
  back.resume(path);
  EXPECT_TRUE(torch::equal(back.discriminator()->parameters()[0], t.discriminator()->parameters()[0]));
  EXPECT_EQ(read_checkpoint_info(path).model, "vaegan");
  std::filesystem::remove(path), std::filesystem::remove(optimizer_path(path));
  c.arch = AutoencoderArch::MLP;
  EXPECT_THROW(c.validate(), std::invalid_argument);
}

TEST(Sharpness, BlurLowersTheLaplacianVariance) {
  torch::manual_seed(7);
  auto sharp = (torch::rand({8, 1, 28, 28}) > 0.5).to(torch::kFloat);
  auto blurred = torch::avg_pool2d(sharp, 3, 1, 1);
  EXPECT_LT(laplacian_variance(blurred), 0.2 * laplacian_variance(sharp));
  EXPECT_NEAR(laplacian_variance(torch::full({2, 1, 28, 28}, 0.4f)), 0.0, 1e-10);
  // Per channel and per image: two copies score as one.
  EXPECT_NEAR(laplacian_variance(torch::cat({sharp, sharp})), laplacian_variance(sharp), 1e-6);
}

TEST(VqLab, CodeMapEditsAndPriorSamplingThroughTheWorker) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Session session(1);
  session.open_dataset("fashion-mnist");
  VqLab& lab = session.lab<VqLab>();
  lab.new_model(tiny_vq(32));
  lab.train(0.02);
  session.worker().wait_idle();
  ASSERT_TRUE(lab.view().get());
  const VqModelView& v = lab.view().get()->value.vq;
  EXPECT_TRUE(v.exists);
  EXPECT_GT(v.step, 0);
  EXPECT_EQ(v.usage.size(), 32u);
  EXPECT_EQ(v.codebook.indices.size(), 32u);  // every code decoded alone
  EXPECT_GT(v.test_perplexity, 1.0);

  lab.encode_test_image(3);
  session.worker().wait_idle();
  auto map = lab.code_map().get();
  ASSERT_TRUE(map);
  ASSERT_EQ(map->value.codes.size(), 49u);
  EXPECT_EQ(map->value.codes, map->value.encoded);
  // Two edits sent back to back: the newest request carries both.
  const int first = (map->value.codes[0] + 1) % 32, second = (map->value.codes[48] + 1) % 32;
  lab.edit_code(0, 0, first);
  const uint64_t stamp = lab.edit_code(6, 6, second);
  session.worker().wait_idle();
  map = lab.code_map().get();
  EXPECT_EQ(map->value.request, stamp);
  EXPECT_EQ(map->value.codes[0], first);
  EXPECT_EQ(map->value.codes[48], second);
  EXPECT_NE(map->value.decoded.pixels, map->value.decoded_unedited.pixels);
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  // A code outside the codebook: one line in the status, the map as it was.
  lab.edit_code(1, 1, 32);
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("not in the codebook"), std::string::npos)
      << session.worker().status()->value.error;
  EXPECT_EQ(lab.code_map().get()->value.request, stamp);

  VqPriorConfig pc = tiny_prior();
  lab.new_prior(pc);
  lab.train_prior(0.02);
  session.worker().wait_idle();  // previews run ahead of queued jobs: sample once the prior exists
  lab.sample_prior(2, PriorSampling{0.8f, 5}, 9, 4);
  session.worker().wait_idle();
  auto sample = lab.prior_sample().get();
  ASSERT_TRUE(sample) << session.worker().status()->value.error;
  EXPECT_EQ(sample->value.filled, 49);
  ASSERT_EQ(sample->value.frames.size(), 49u);
  EXPECT_EQ(sample->value.decoded.size(), 49u);
  EXPECT_EQ(std::count(sample->value.frames[0].begin(), sample->value.frames[0].end(), -1), 48);
  EXPECT_EQ(sample->value.batch.indices.size(), 4u);
  ASSERT_EQ(sample->value.probabilities.size(), 49u);
  // Each position's distribution sums to 1 and gives the drawn code a chance; top-k 5 keeps 5 codes.
  for (int i = 0; i < 49; ++i) {
    const std::vector<float>& p = sample->value.probabilities[size_t(i)];
    ASSERT_EQ(p.size(), 32u);
    EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-4);
    EXPECT_LE(std::count_if(p.begin(), p.end(), [](float x) { return x > 0; }), 5);
    EXPECT_GT(p[size_t(sample->value.frames[size_t(i)][size_t(i)])], 0.f);
  }
  // Saving the prior before its VQ-VAE is refused: the prior's file names the VQ-VAE's.
  lab.save_prior(temp_path("unsaved-prior.safetensors"));
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("save the VQ-VAE first"), std::string::npos);
}
