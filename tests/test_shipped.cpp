// Every model shipped in assets/models reproduces the figure its provenance record (the .json
// beside it) states, within the stated tolerance: the classifier's test accuracy, the autoencoders'
// reconstruction BCE, the class accuracy of the cGAN's, the DDPM's and the text-to-image model's samples, FID-LeNet of the
// unconditional generators (ProGAN, StyleGAN, VAE-GAN, the VQ-VAE's prior), and the image-to-image
// models' test figures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data/dataset.h"
#include "core/diffusion/diffusion_trainer.h"
#include "core/diffusion/ldm_trainer.h"
#include "core/io/shipped.h"
#include "core/metrics/model_samples.h"
#include "core/metrics/sample_quality.h"
#include "core/vae/vae_eval.h"
#include "core/gan/gan_trainer.h"
#include "core/translate/translate_run.h"
#include "core/translate/translate_trainer.h"
#include "core/vae/vae_trainer.h"
#include "core/vae/vq_trainer.h"
#include "core/io/checkpoint.h"

using namespace genlab;

namespace {

class Shipped : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
    if (!data_) data_ = std::make_shared<const Dataset>(load_dataset("fashion-mnist"));
    if (!quality_) quality_ = std::make_unique<SampleQuality>(load_classifier(path("classifier-fashion")), data_);
  }
  static std::string path(const std::string& name) {
    const std::string p = find_shipped_model(name + ".safetensors");
    EXPECT_FALSE(p.empty()) << name << " is not shipped";
    return p;
  }
  static nlohmann::json check(const std::string& name) {
    std::ifstream in(path(name).substr(0, path(name).size() - std::string(".safetensors").size()) + ".json");
    return nlohmann::json::parse(in).at("check");
  }
  static void expect_reproduced(const std::string& name, double measured) {
    const nlohmann::json c = check(name);
    EXPECT_NEAR(measured, c.at("value").get<double>(), c.at("tolerance").get<double>()) << name << ": " << c.at("figure");
  }
  double recon_bce(const std::string& name) {
    VaeTrainer trainer(read_vae_config(path(name)), data_);
    trainer.resume(path(name));
    VaeEvalOptions options;
    options.iwae_images = 0;
    return evaluate_vae(trainer, options, {}).recon_bce_gray;
  }

  static std::shared_ptr<const Dataset> data_;
  static std::unique_ptr<SampleQuality> quality_;
};
std::shared_ptr<const Dataset> Shipped::data_;
std::unique_ptr<SampleQuality> Shipped::quality_;

}  // namespace

TEST_F(Shipped, ClassifierKeepsItsTestAccuracy) { expect_reproduced("classifier-fashion", quality_->test_accuracy()); }

TEST_F(Shipped, AutoencodersKeepTheirReconstruction) {
  for (const char* name : {"vae-fashion-conv16", "ae-fashion-conv16", "vae-fashion-latent2"})
    expect_reproduced(name, recon_bce(name));
}

TEST_F(Shipped, ConditionalGanSamplesAreTheirClass) {
  GanConfig config = read_gan_config(path("cgan-fashion"));
  GanTrainer gan(config, blank_dataset(config.channels, config.height, config.width_px, config.classes));
  gan.resume(path("cgan-fashion"));
  Samples s = gan_samples(gan)(1000, 1, {});
  expect_reproduced("cgan-fashion", quality_->evaluate(s.images, s.labels).accuracy);
}

// ProGAN and StyleGAN draw no classes: FID-LeNet of 1000 samples (seed 1, psi 1).
TEST_F(Shipped, GrownAndStyleGansKeepTheirFid) {
  for (const char* name : {"progan-fashion", "stylegan-fashion"}) {
    SCOPED_TRACE(name);
    GanConfig config = read_gan_config(path(name));
    GanTrainer gan(config, blank_dataset(config.channels, config.height, config.width_px, config.classes));
    gan.resume(path(name));
    Samples s = gan_samples(gan)(1000, 1, {});
    expect_reproduced(name, quality_->evaluate(s.images, s.labels).fid);
  }
}

// The VQ-VAE: reconstruction BCE of the first 1000 gray test images; its prior: FID-LeNet of 1000
// decoded samples (seed 1, temperature 1, every code, classes in turn); the VAE-GAN: FID-LeNet of
// 1000 prior samples.
TEST_F(Shipped, VqVaeItsPriorAndVaeGanKeepTheirFigures) {
  VqTrainer vq(read_vq_config(path("vqvae-fashion")), data_);
  vq.resume(path("vqvae-fashion"));
  expect_reproduced("vqvae-fashion", vq.test_figures(1000).recon_bce);

  const std::string prior_path = path("vqprior-fashion");
  const VqPriorConfig config = read_prior_config(prior_path);
  CodePrior prior(config);
  load_module(*prior, read_safetensors(prior_path), prior_path);
  VqVae codes = load_vqvae(prior_vqvae_path(prior_path, config));  // found beside it, by name
  Samples s = vq_prior_samples(prior, codes, PriorSampling{})(1000, 1, {});
  expect_reproduced("vqprior-fashion", quality_->evaluate(s.images, s.labels).fid);

  VaeTrainer vaegan(read_vae_config(path("vaegan-fashion")), data_);
  vaegan.resume(path("vaegan-fashion"));
  Samples g = vae_prior_samples(vaegan)(1000, 1, {});
  expect_reproduced("vaegan-fashion", quality_->evaluate(g.images).fid);
}

TEST_F(Shipped, GuidedDiffusionSamplesAreTheirClass) {
  DiffusionConfig config = read_diffusion_config(path("ddpm-fashion-cond"));
  DiffusionTrainer ddpm(config, blank_dataset(1, config.unet.image_size, config.unet.image_size, config.unet.classes));
  ddpm.resume(path("ddpm-fashion-cond"));
  Samples s = diffusion_samples(ddpm, "dpmpp2m", 20, 3.0)(100, 1, {});
  expect_reproduced("ddpm-fashion-cond", quality_->evaluate(s.images, s.labels).accuracy);
}

// Its distilled student: FID-LeNet of its 5-step samples at w = 3 (the runs it stands for).
TEST_F(Shipped, DistilledDiffusionStudentKeepsItsFid) {
  DiffusionConfig config = read_diffusion_config(path("ddpm-fashion-cond-student"));
  ASSERT_EQ(config.distilled.teacher, "ddpm-fashion-cond.safetensors");
  DiffusionTrainer student(config, blank_dataset(1, config.unet.image_size, config.unet.image_size, config.unet.classes));
  student.resume(path("ddpm-fashion-cond-student"));
  Samples s = diffusion_samples(student, "dpmpp2m", 20, 3.0)(1000, 2, {});
  expect_reproduced("ddpm-fashion-cond-student", quality_->evaluate(s.images, s.labels).fid);
}

// The text-to-image model: its autoencoder's test reconstruction, and the class of its samples for
// the prompts "a <class>" (the classifier's verdict), guided at w = 3.
TEST_F(Shipped, TextToImageSamplesFollowTheirPrompt) {
  LatentAeTrainer klae(read_latent_ae_config(path("klae-fashion")), data_);
  klae.resume(path("klae-fashion"));
  expect_reproduced("klae-fashion", klae.test_reconstruction(1000).bce);

  auto ldm = open_ldm(path("ldm-fashion"));
  std::vector<std::string> prompts;
  for (const std::string& name : data_->class_names) prompts.push_back("a " + class_words(name).front());
  Samples s = ldm_samples(*ldm, prompts, "dpmpp2m", 20, 3.0)(200, 1, {});
  expect_reproduced("ldm-fashion", quality_->evaluate(s.images, s.labels).accuracy);
}

// The image-to-image models: Pix2Pix's PSNR to the ground truth on 500 test images (the task's
// random parts from seed 1); CycleGAN's and StarGAN's share of translations the classifier assigns
// to the target domain.
TEST_F(Shipped, TranslationModelsKeepTheirFigures) {
  for (const char* name : {"pix2pix-fashion-edges", "pix2pix-fashion-superres4", "cyclegan-fashion-sneaker-boot",
                           "stargan-fashion-footwear"}) {
    SCOPED_TRACE(name);
    TranslateTrainer model(read_translate_config(path(name)), data_);
    model.resume(path(name));
    const bool paired = model.config().kind == TranslateKind::Pix2Pix;  // PSNR needs no classifier
    auto figures = nlohmann::json::parse(evaluate_translation(model, 500, 1, paired ? nullptr : quality_.get()));
    expect_reproduced(name, paired ? figures["figures"]["psnr"].get<double>() : figures["mean_target_share"].get<double>());
  }
}

TEST(ShippedFiles, AreNeverSavedOver) {
  const std::string cgan = find_shipped_model("cgan-fashion.safetensors");
  ASSERT_FALSE(cgan.empty());
  EXPECT_THROW(refuse_shipped_path(cgan), std::invalid_argument);
  EXPECT_THROW(refuse_shipped_path(std::filesystem::path(cgan).parent_path() / "new.safetensors"), std::invalid_argument);
  EXPECT_NO_THROW(refuse_shipped_path(::testing::TempDir() + "mine.safetensors"));
  EXPECT_NO_THROW(refuse_shipped_path("relative-name.safetensors"));
}
