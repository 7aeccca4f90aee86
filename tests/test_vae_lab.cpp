// The VAE lab as the app drives it: through the Session's worker, reading published views.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "core/vae/vae_lab.h"

using namespace genlab;

namespace {

bool have_fashion() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); }

VaeConfig tiny(AutoencoderKind kind) {
  VaeConfig c;
  c.kind = kind;
  c.arch = AutoencoderArch::MLP;
  c.latent = 4;
  c.batch_size = 64;
  return c;
}

int cells(const ImageGrid& g) { return int(g.indices.size()); }

}  // namespace

TEST(VaeLab, TrainsAndServesEveryViewThroughTheWorker) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Session session(1);
  session.open_dataset("fashion-mnist");
  VaeLab& lab = session.lab<VaeLab>();
  lab.new_model(tiny(AutoencoderKind::VAE));
  session.worker().wait_idle();
  ASSERT_TRUE(lab.view().get());
  EXPECT_TRUE(lab.view().get()->value.slot[1].exists);
  EXPECT_FALSE(lab.view().get()->value.slot[0].exists);

  // A decode requested before training is redrawn by the training job as the weights change.
  uint64_t request = lab.decode(AutoencoderKind::VAE, {0.5f, -1.f, 0.f, 2.f});
  session.worker().wait_idle();
  auto before = lab.decoded().get();
  ASSERT_TRUE(before);
  EXPECT_EQ(before->value.request, request);
  EXPECT_EQ(before->value.image.width, 28);
  EXPECT_NEAR(before->value.neg_log_prior, 0.5 * (0.25 + 1 + 4) + 2 * 1.8378770664093453, 1e-4);

  lab.train(AutoencoderKind::VAE, 0.05);  // 47 steps
  session.worker().wait_idle();
  EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  const VaeModelView& m = lab.view().get()->value.slot[1];
  EXPECT_EQ(m.step, 47);
  EXPECT_FALSE(m.train.empty());
  EXPECT_FALSE(m.test.empty());
  EXPECT_EQ(m.kl_per_dim.size(), 4u);
  EXPECT_EQ(cells(m.originals), 16);
  EXPECT_EQ(m.originals.image.width, m.reconstructions.image.width);
  EXPECT_GT(lab.decoded().get()->stamp, before->stamp);
  EXPECT_NE(lab.decoded().get()->value.image.pixels, before->value.image.pixels);

  lab.encode_test_image(AutoencoderKind::VAE, 5);
  session.worker().wait_idle();
  const LatentDecode& encoded = lab.decoded().get()->value;
  EXPECT_TRUE(encoded.from_encoding);
  EXPECT_EQ(encoded.source_index, 5);
  EXPECT_EQ(encoded.z.size(), 4u);
  EXPECT_EQ(encoded.sigma.size(), 4u);
  EXPECT_GT(encoded.kl, 0.0);

  lab.manifold(AutoencoderKind::VAE, 0, 1, 3.f, 5, encoded.z);
  lab.interpolate(0, 1, 6, true);
  lab.prior_samples(7, 8);
  lab.latent_map(AutoencoderKind::VAE, 0, 1, 300);
  session.worker().wait_idle();
  EXPECT_EQ(cells(lab.manifold_view().get()->value.grid), 25);
  EXPECT_EQ(lab.interpolation().get()->value.strip[1].cols, 8);  // both ends + 6 steps
  EXPECT_TRUE(lab.interpolation().get()->value.strip[0].image.empty());  // no AE yet
  EXPECT_EQ(cells(lab.prior().get()->value.samples[1]), 8);
  EXPECT_EQ(lab.latent_map_view().get()->value.x.size(), 300u);

  // The layer view of the decoder: the last layer is the image the sliders' code decodes to.
  lab.inspect_layers(AutoencoderKind::VAE, encoded.z, -1);
  session.worker().wait_idle();
  ASSERT_TRUE(lab.layers().get());
  const LayerView& layers = lab.layers().get()->value;
  EXPECT_GE(layers.layers.size(), 3u);
  EXPECT_EQ(layers.layer, int(layers.layers.size()) - 1);
  EXPECT_EQ(layers.channels, 1);
  EXPECT_EQ(layers.height, 28);
  lab.inspect_layers(AutoencoderKind::VAE, encoded.z, 0);
  session.worker().wait_idle();
  EXPECT_GT(lab.layers().get()->value.channels, 1);

  // The same seed gives the same prior samples.
  auto first = lab.prior().get()->value.samples[1].image.pixels;
  lab.prior_samples(7, 8);
  session.worker().wait_idle();
  EXPECT_EQ(lab.prior().get()->value.samples[1].image.pixels, first);
}

TEST(VaeLab, SaveLoadAndBadCheckpointsAsErrors) {
  if (!have_fashion()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string path = ::testing::TempDir() + "genlab_lab_" + std::to_string(getpid()) + ".safetensors";
  Session session(1);
  session.open_dataset("fashion-mnist");
  VaeLab& lab = session.lab<VaeLab>();
  lab.new_model(tiny(AutoencoderKind::AE));
  lab.train(AutoencoderKind::AE, 0.01);
  lab.save(AutoencoderKind::AE, path);
  session.worker().wait_idle();
  EXPECT_EQ(lab.view().get()->value.slot[0].saved.checkpoint, path);

  Session other(1);
  other.open_dataset("fashion-mnist");
  other.lab<VaeLab>().load(path);
  other.worker().wait_idle();
  const VaeModelView& loaded = other.lab<VaeLab>().view().get()->value.slot[0];
  EXPECT_TRUE(loaded.exists);
  EXPECT_EQ(loaded.step, lab.view().get()->value.slot[0].step);
  EXPECT_EQ(loaded.reconstructions.image.pixels, lab.view().get()->value.slot[0].reconstructions.image.pixels);
  // The loaded model shows the curves it was trained with, not one point.
  auto snapshot = lab.view().get();
  const VaeModelView& trained = snapshot->value.slot[0];
  ASSERT_EQ(loaded.train.size(), trained.train.size());
  ASSERT_FALSE(loaded.train.empty());
  EXPECT_EQ(loaded.train.back().step, trained.train.back().step);
  EXPECT_FLOAT_EQ(loaded.train.back().total, trained.train.back().total);
  EXPECT_EQ(loaded.test.front().step, trained.test.front().step);

  other.lab<VaeLab>().load("/nonexistent/model.safetensors");
  other.worker().wait_idle();
  EXPECT_NE(other.worker().status()->value.error.find("/nonexistent/model.safetensors"), std::string::npos);
  other.lab<VaeLab>().train(AutoencoderKind::VAE, 1);  // no VAE in that slot
  other.worker().wait_idle();
  EXPECT_NE(other.worker().status()->value.error.find("no vae yet"), std::string::npos);
}
