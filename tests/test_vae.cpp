// The VAE's math and training: closed-form KL, the reparameterisation trick, the loss split,
// learning, checkpoints, and the likelihood bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/vae/vae_eval.h"
#include "core/vae/vae_trainer.h"
#include "tests/squares_dataset.h"

using namespace genlab;

namespace {

VaeConfig small_config(AutoencoderKind kind = AutoencoderKind::VAE, AutoencoderArch arch = AutoencoderArch::MLP) {
  VaeConfig c;
  c.kind = kind;
  c.arch = arch;
  c.latent = 4;
  c.batch_size = 32;
  c.seed = 3;
  return c;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "genlab_vae_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace

TEST(VaeMath, ClosedFormKlMatchesMonteCarlo) {
  torch::manual_seed(0);
  auto mu = torch::tensor({{0.5f, -1.2f, 0.f}});
  auto logvar = torch::tensor({{-0.7f, 0.4f, 0.f}});
  double closed = gaussian_kl(mu, logvar).sum().item<double>();
  // KL = E_q[log q(z) - log p(z)], estimated from 200 000 reparameterised samples.
  const int n = 200000;
  auto sigma = torch::exp(0.5 * logvar);
  auto eps = torch::randn({n, 3});
  auto z = mu + sigma * eps;
  auto log_q = (-0.5 * eps.pow(2) - 0.5 * logvar).sum(1);
  auto log_p = (-0.5 * z.pow(2)).sum(1);
  auto diff = log_q - log_p;
  double estimate = diff.mean().item<double>();
  double standard_error = diff.std().item<double>() / std::sqrt(double(n));
  EXPECT_NEAR(estimate, closed, 4 * standard_error);
  // Hand values: KL(N(0,1) || N(0,1)) = 0; mu = 1, sigma = 1 gives 1/2.
  EXPECT_FLOAT_EQ(gaussian_kl(torch::zeros({1, 1}), torch::zeros({1, 1})).item<float>(), 0.f);
  EXPECT_FLOAT_EQ(gaussian_kl(torch::ones({1, 1}), torch::zeros({1, 1})).item<float>(), 0.5f);
}

TEST(VaeMath, LossIsReconPlusBetaKl) {
  VaeConfig c = small_config();
  c.beta = 2.5f;
  VaeOutput out;
  out.logits = torch::zeros({2, 1, 28, 28});  // p = 0.5 everywhere: BCE = log 2 per pixel
  out.mu = torch::ones({2, 4});
  out.logvar = torch::zeros({2, 4});
  auto target = torch::rand({2, 1, 28, 28});
  VaeLoss loss = vae_loss(out, target, c);
  EXPECT_NEAR(loss.recon.item<double>(), 784 * std::log(2.0), 1e-3);
  EXPECT_NEAR(loss.kl.item<double>(), 4 * 0.5, 1e-6);
  EXPECT_NEAR(loss.total.item<double>(), loss.recon.item<double>() + 2.5 * 2.0, 1e-3);
  EXPECT_EQ(loss.kl_per_dim.size(0), 4);
  c.kind = AutoencoderKind::AE;
  EXPECT_NEAR(vae_loss(out, target, c).total.item<double>(), loss.recon.item<double>(), 1e-6);
}

TEST(VaeMath, GradientsFlowThroughTheReparameterisation) {
  torch::manual_seed(1);
  VaeConfig c = small_config();
  c.channels = 1;
  Vae model(c);
  auto x = torch::rand({8, 1, 28, 28});
  auto head_weight = [&]() -> torch::Tensor {
    for (auto& p : model->named_parameters())
      if (p.key() == "head.weight") return p.value();
    return {};
  };
  // Only the decoder's output enters the loss (no KL): any gradient on the log-variance rows of
  // the head must have come through z = mu + sigma * eps.
  model->forward(x, true).logits.sigmoid().sum().backward();
  auto logvar_rows = head_weight().grad().slice(0, 4, 8);
  EXPECT_GT(logvar_rows.abs().sum().item<double>(), 0.0);
  model->zero_grad();
  model->forward(x, false).logits.sigmoid().sum().backward();
  EXPECT_EQ(head_weight().grad().slice(0, 4, 8).abs().sum().item<double>(), 0.0);
}

TEST(VaeMath, AutoencoderIsDeterministicWithNoKl) {
  VaeConfig c = small_config(AutoencoderKind::AE);
  Vae model(c);
  auto x = torch::rand({3, 1, 28, 28});
  auto a = model->forward(x), b = model->forward(x);
  EXPECT_TRUE(torch::equal(a.z, b.z));
  EXPECT_TRUE(torch::equal(a.z, a.mu));
  EXPECT_EQ(vae_loss(a, x, c).kl.item<float>(), 0.f);
}

TEST(VaeTraining, LossFallsOnASmallSubset) {
  for (auto arch : {AutoencoderArch::MLP, AutoencoderArch::Conv}) {
    VaeTrainer trainer(small_config(AutoencoderKind::VAE, arch), squares_dataset());
    float before = trainer.test_losses().total;
    for (int i = 0; i < 250; ++i) trainer.train_step();
    float after = trainer.test_losses().total;
    EXPECT_LT(after, 0.6f * before) << arch_name(arch) << ": " << before << " -> " << after;
    EXPECT_EQ(trainer.step(), 250);
  }
}

TEST(VaeTraining, LearningRateAndBetaChangeWhileTraining) {
  VaeTrainer trainer(small_config(), squares_dataset());
  trainer.train_step();
  trainer.set_learning_rate(0.f + 1e-5f);
  trainer.set_beta(4.f);
  for (auto& group : trainer.optimizer().param_groups())
    EXPECT_FLOAT_EQ(static_cast<torch::optim::AdamOptions&>(group.options()).lr(), 1e-5f);
  EXPECT_FLOAT_EQ(trainer.config().beta, 4.f);
}

TEST(VaeCheckpoint, RoundTripIsBitExact) {
  auto data = squares_dataset();
  VaeTrainer trainer(small_config(AutoencoderKind::VAE, AutoencoderArch::Conv), data);
  for (int i = 0; i < 5; ++i) trainer.train_step();
  const std::string path = temp_path("roundtrip.safetensors");
  trainer.save(path, R"({"test":{"total":1.5}})");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_TRUE(std::filesystem::exists(optimizer_path(path)));

  VaeTrainer restored(small_config(AutoencoderKind::VAE, AutoencoderArch::Conv), data);
  restored.resume(path);
  EXPECT_EQ(restored.step(), 5);
  auto a = trainer.model()->named_parameters(), b = restored.model()->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
  std::string meta;
  VaeConfig config = read_vae_config(path, &meta);
  EXPECT_EQ(config.arch, AutoencoderArch::Conv);
  EXPECT_EQ(nlohmann::json::parse(meta)["metrics"]["test"]["total"], 1.5);
  EXPECT_EQ(nlohmann::json::parse(meta)["dataset"], "synthetic:squares");
  // The optimizer state came back too: Adam's step count and moments for every parameter.
  auto adam_state = [](VaeTrainer& t, const torch::Tensor& p) -> torch::optim::AdamParamState& {
    auto& state = t.optimizer().state();
    return static_cast<torch::optim::AdamParamState&>(*state.at(c10::guts::to_string(p.unsafeGetTensorImpl())));
  };
  for (size_t i = 0; i < a.size(); ++i) {
    auto& sa = adam_state(trainer, a[i].value());
    auto& sb = adam_state(restored, b[i].value());
    EXPECT_EQ(sa.step(), 5);
    EXPECT_EQ(sb.step(), 5);
    EXPECT_TRUE(torch::equal(sa.exp_avg(), sb.exp_avg())) << a[i].key();
    EXPECT_TRUE(torch::equal(sa.exp_avg_sq(), sb.exp_avg_sq())) << a[i].key();
  }
}

TEST(VaeCheckpoint, BadFilesGiveOneLineErrorsNamingTheFile) {
  auto data = squares_dataset();
  VaeTrainer ae(small_config(AutoencoderKind::AE), data);
  const std::string ae_path = temp_path("ae.safetensors");
  ae.save(ae_path);
  auto expect_error = [](const std::function<void()>& f, const std::string& path, const std::string& words) {
    try {
      f();
      ADD_FAILURE() << "no error for " << path;
    } catch (const CheckpointError& e) {
      std::string what = e.what();
      EXPECT_EQ(what.rfind(path, 0), 0u) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_NE(what.find(words), std::string::npos) << what;
    }
  };
  VaeTrainer vae(small_config(), data);
  expect_error([&] { vae.resume(ae_path); }, ae_path, "not the model asked for");

  VaeConfig wide = small_config(AutoencoderKind::AE);
  wide.latent = 8;
  VaeTrainer ae8(wide, data);
  expect_error([&] { ae8.resume(ae_path); }, ae_path, "latent 4");
  // The same names with another shape: load_module itself must refuse.
  expect_error([&] { load_module(*ae8.model(), read_safetensors(ae_path), ae_path); }, ae_path, "shape");

  const std::string truncated = temp_path("truncated.safetensors");
  {
    std::ifstream in(ae_path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream out(truncated, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  expect_error([&] { vae.resume(truncated); }, truncated, "");

  const std::string foreign = temp_path("foreign.safetensors");
  SafetensorsFile gan;
  gan.metadata_json = R"({"model":"gan","config":{}})";
  write_safetensors(foreign, gan);
  expect_error([&] { read_vae_config(foreign); }, foreign, "'gan'");
}

TEST(VaeEval, BoundsAreConsistent) {
  VaeTrainer trainer(small_config(), squares_dataset());
  for (int i = 0; i < 150; ++i) trainer.train_step();
  VaeEvalOptions options;
  options.iwae_samples = 200;
  options.iwae_images = 50;
  VaeEvalResult r = evaluate_vae(trainer, options);
  ASSERT_TRUE(r.has_bounds);
  EXPECT_EQ(r.test_images, 100);
  EXPECT_GT(r.neg_elbo, 0);
  EXPECT_GT(r.kl, 0);
  // The importance-weighted bound is tighter: -log p(x) <= -IWAE <= -ELBO (up to sampling noise).
  EXPECT_LT(r.neg_iwae, r.neg_elbo + 1.0);
  // The gray-target BCE is deterministic: the same figure twice.
  EXPECT_DOUBLE_EQ(evaluate_vae(trainer, options).recon_bce_gray, r.recon_bce_gray);

  VaeTrainer ae(small_config(AutoencoderKind::AE), squares_dataset());
  EXPECT_FALSE(evaluate_vae(ae, options).has_bounds);
}

TEST(VaeConfigText, RoundTripAndRangeErrors) {
  VaeConfig c = small_config(AutoencoderKind::AE, AutoencoderArch::Conv);
  c.beta = 0.25f;
  c.recon = ReconLoss::Gaussian;
  VaeConfig back = VaeConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  c.latent = 1;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.latent = 16;
  c.height = 30;
  EXPECT_THROW(c.validate(), std::invalid_argument);  // conv needs a size divisible by 4
  EXPECT_THROW(VaeConfig::from_json("[1,2]"), std::invalid_argument);
  EXPECT_THROW(parse_arch("resnet"), std::invalid_argument);
}
