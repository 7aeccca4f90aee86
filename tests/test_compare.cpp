// The Compare table: the points of each family's trade-off curves, a row's JSON (the results cache)
// and the provenance figures beside a checkpoint; shipped models measured along their curves,
// cached, and skipped with a reason; the temperature and truncation knobs reaching the samplers;
// a tiny diffusion model's steps and CFG curves with its default point measured once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/compare/compare_run.h"
#include "core/compare/compare_table.h"
#include "core/data/dataset.h"
#include "core/diffusion/diffusion_trainer.h"
#include "core/gan/gan_trainer.h"
#include "core/io/shipped.h"
#include "core/metrics/compare_point.h"
#include "core/metrics/model_samples.h"
#include "core/metrics/sample_quality.h"
#include "core/vae/vae_trainer.h"

using namespace genlab;

namespace {

const bool kHaveFashion = std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");

// A fresh folder for one test's files.
std::string temp_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "genlab_compare_" + name + "_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string shipped(const std::string& name) {
  const std::string p = find_shipped_model(name + ".safetensors");
  EXPECT_FALSE(p.empty()) << name << " is not shipped";
  return p;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

int defaults_in(const std::vector<ComparePoint>& points) {
  int n = 0;
  for (const ComparePoint& p : points) n += p.is_default;
  return n;
}

bool same_pixels(const ImageBuffer& a, const ImageBuffer& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width && a.pixels == b.pixels;
}

// Every image of N x C x H x W equal to the first (to float noise: a batched convolution may round
// the same input a little differently at another position in the batch).
bool all_identical(const torch::Tensor& images) {
  return (images - images[0].unsqueeze(0)).abs().max().item<double>() < 1e-4;
}

}  // namespace

TEST(ComparePoint, LabelsCurvesAndKeysNameEverySetting) {
  ComparePoint t;
  t.knob = "temperature";
  t.temperature = 0.75;
  EXPECT_EQ(t.label(), "temperature 0.75");
  EXPECT_EQ(t.curve(), "temperature");
  EXPECT_EQ(t.key(), "t0.75-psi1");
  EXPECT_DOUBLE_EQ(t.value(), 0.75);

  ComparePoint psi;
  psi.knob = "psi";
  psi.psi = 0.7;
  EXPECT_EQ(psi.label(), "psi 0.7");
  EXPECT_EQ(psi.curve(), "psi");
  EXPECT_EQ(psi.key(), "t1-psi0.7");
  EXPECT_DOUBLE_EQ(psi.value(), 0.7);
  EXPECT_NE(psi.key(), t.key());

  ComparePoint steps;
  steps.knob = "steps";
  steps.sampler = "dpmpp2m";
  steps.steps = 20;
  steps.cfg = 3;
  EXPECT_EQ(steps.label(), "DPM-Solver++(2M), 20 steps, w = 3");
  EXPECT_EQ(steps.curve(), "steps · DPM++ 2M");
  EXPECT_EQ(steps.key(), "dpmpp2m-20-w3");
  EXPECT_DOUBLE_EQ(steps.value(), 20);
  // The same setting on the CFG curve: another series and value, the same key (measured once).
  ComparePoint cfg = steps;
  cfg.knob = "cfg";
  EXPECT_EQ(cfg.curve(), "cfg");
  EXPECT_EQ(cfg.label(), steps.label());
  EXPECT_EQ(cfg.key(), steps.key());
  EXPECT_DOUBLE_EQ(cfg.value(), 3);
  ComparePoint ddim = steps;
  ddim.sampler = "ddim";
  ddim.cfg = 1.5;
  EXPECT_EQ(ddim.curve(), "steps · DDIM");
  EXPECT_EQ(ddim.label(), "DDIM, 20 steps, w = 1.5");
  EXPECT_EQ(ddim.key(), "ddim-20-w1.5");
}

TEST(ComparePoint, TemperatureAndTruncationCurvesHaveOneDefaultAtOne) {
  const std::vector<ComparePoint> temperature = temperature_curve();
  ASSERT_EQ(temperature.size(), 4u);
  EXPECT_EQ(defaults_in(temperature), 1);
  std::set<std::string> keys;
  for (const ComparePoint& p : temperature) {
    EXPECT_EQ(p.knob, "temperature");
    EXPECT_EQ(p.is_default, p.value() == 1.0) << p.label();
    EXPECT_DOUBLE_EQ(p.psi, 1.0);
    keys.insert(p.key());
  }
  EXPECT_EQ(keys.size(), 4u);
  EXPECT_DOUBLE_EQ(temperature.front().temperature, 0.5);
  EXPECT_DOUBLE_EQ(temperature.back().temperature, 1.25);

  const std::vector<ComparePoint> psi = truncation_curve();
  ASSERT_EQ(psi.size(), 4u);
  EXPECT_EQ(defaults_in(psi), 1);
  for (const ComparePoint& p : psi) {
    EXPECT_EQ(p.knob, "psi");
    EXPECT_EQ(p.is_default, p.value() == 1.0) << p.label();
    EXPECT_DOUBLE_EQ(p.temperature, 1.0);
    EXPECT_LE(p.psi, 1.0);
  }
  EXPECT_TRUE(psi.back().is_default);
}

TEST(ComparePoint, DiffusionCurvesKeepStepsWithinTAndShareTheDefaultPoint) {
  const std::vector<ComparePoint> guided = diffusion_curves(30, true, "dpmpp2m", 20, 3);
  std::map<std::string, int> per_curve, defaults_per_curve;
  std::vector<ComparePoint> defaults;
  std::vector<double> scales;
  for (const ComparePoint& p : guided) {
    EXPECT_LE(p.steps, 30) << p.label();
    EXPECT_GE(p.steps, 1) << p.label();
    ++per_curve[p.curve()];
    if (p.is_default) ++defaults_per_curve[p.curve()], defaults.push_back(p);
    if (p.knob == "steps") EXPECT_DOUBLE_EQ(p.cfg, 3.0) << p.label();  // the steps curves at the usual scale
    if (p.knob == "cfg") {
      EXPECT_EQ(p.sampler, "dpmpp2m");
      EXPECT_EQ(p.steps, 20);
      scales.push_back(p.cfg);
    }
  }
  // DPM++ 5, 10, 20; DDIM 10, 20; DDPM 20 (50 and 100 are above T); five guidance scales.
  EXPECT_EQ(per_curve["steps · DPM++ 2M"], 3);
  EXPECT_EQ(per_curve["steps · DDIM"], 2);
  EXPECT_EQ(per_curve["steps · DDPM"], 1);
  EXPECT_EQ(per_curve["cfg"], 5);
  EXPECT_EQ(guided.size(), 11u);
  EXPECT_EQ(scales, (std::vector<double>{0, 1, 2, 3, 5}));
  // The default point lies on the DPM++ steps curve and on the CFG curve, with one key.
  ASSERT_EQ(defaults.size(), 2u);
  EXPECT_EQ(defaults_per_curve["steps · DPM++ 2M"], 1);
  EXPECT_EQ(defaults_per_curve["cfg"], 1);
  EXPECT_EQ(defaults[0].key(), defaults[1].key());
  EXPECT_EQ(defaults[0].key(), "dpmpp2m-20-w3");
  std::set<std::string> keys;
  for (const ComparePoint& p : guided) keys.insert(p.key());
  EXPECT_EQ(keys.size(), guided.size() - 1);  // only the default is listed twice

  // Unguided: no scale to set, so no CFG curve, and every point (the default too) at w = 0.
  const std::vector<ComparePoint> plain = diffusion_curves(1000, false, "dpmpp2m", 20, 3);
  EXPECT_EQ(plain.size(), 10u);  // 5, 10, 20, 50; 10, 20, 50; 20, 50, 100
  EXPECT_EQ(defaults_in(plain), 1);
  for (const ComparePoint& p : plain) {
    EXPECT_NE(p.knob, "cfg");
    EXPECT_DOUBLE_EQ(p.cfg, 0.0) << p.label();
    if (p.is_default) {
      EXPECT_EQ(p.sampler, "dpmpp2m");
      EXPECT_EQ(p.steps, 20);
    }
  }
}

TEST(CompareRow, JsonRoundTripsWithItsSampleRow) {
  CompareRow row;
  row.model = "ddpm-fashion-cond";
  row.checkpoint = "/models/ddpm-fashion-cond.safetensors";
  row.family = "diffusion";
  row.kind = "ddpm";
  row.step = 12345;
  row.classes = 10;
  row.point.knob = "cfg";
  row.point.sampler = "ddim";
  row.point.steps = 50;
  row.point.cfg = 1.5;
  row.point.is_default = true;
  row.quality.samples = 20;
  row.quality.fid = 12.375;
  row.quality.precision = 0.625;
  row.quality.recall = 0.4;
  row.quality.accuracy = 0.85;
  row.quality.class_accuracy = {0.5, 1.0, 0.75};
  row.quality.label_entropy = 2.1;
  row.quality.sharpness = 0.9;
  row.quality.floor_train_vs_test = 3.25;
  row.quality.floor_test_vs_test = 2.5;
  row.ms_batch1 = 4.5;
  row.ms_batch64 = 0.75;
  row.train_images_per_s = 186;
  row.train_seconds = 2100;
  row.sample_row.channels = 1;
  row.sample_row.height = 2;
  row.sample_row.width = 3;
  row.sample_row.pixels = {0.f, 0.1234f, 0.5f, 0.9999f, 1.f, 0.3f};

  const std::string text = compare_row_json(row, true);
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line
  const CompareRow back = parse_compare_row(text, "cache.json");
  EXPECT_EQ(back.model, row.model);
  EXPECT_EQ(back.checkpoint, row.checkpoint);
  EXPECT_EQ(back.family, row.family);
  EXPECT_EQ(back.kind, row.kind);
  EXPECT_EQ(back.step, row.step);
  EXPECT_EQ(back.classes, row.classes);
  EXPECT_EQ(back.point.knob, "cfg");
  EXPECT_EQ(back.point.sampler, "ddim");
  EXPECT_EQ(back.point.steps, 50);
  EXPECT_DOUBLE_EQ(back.point.cfg, 1.5);
  EXPECT_TRUE(back.point.is_default);
  EXPECT_EQ(back.point.key(), row.point.key());
  EXPECT_EQ(back.quality.samples, 20);
  EXPECT_DOUBLE_EQ(back.quality.fid, 12.375);
  EXPECT_DOUBLE_EQ(back.quality.precision, 0.625);
  EXPECT_DOUBLE_EQ(back.quality.recall, 0.4);
  EXPECT_DOUBLE_EQ(back.quality.accuracy, 0.85);
  EXPECT_EQ(back.quality.class_accuracy, row.quality.class_accuracy);
  EXPECT_DOUBLE_EQ(back.quality.label_entropy, 2.1);
  EXPECT_DOUBLE_EQ(back.quality.sharpness, 0.9);
  EXPECT_DOUBLE_EQ(back.quality.floor_train_vs_test, 3.25);
  EXPECT_DOUBLE_EQ(back.quality.floor_test_vs_test, 2.5);
  EXPECT_DOUBLE_EQ(back.ms_batch1, 4.5);
  EXPECT_DOUBLE_EQ(back.ms_batch64, 0.75);
  EXPECT_DOUBLE_EQ(back.train_images_per_s, 186);
  EXPECT_DOUBLE_EQ(back.train_seconds, 2100);
  ASSERT_EQ(back.sample_row.channels, 1);
  ASSERT_EQ(back.sample_row.height, 2);
  ASSERT_EQ(back.sample_row.width, 3);
  ASSERT_EQ(back.sample_row.pixels.size(), row.sample_row.pixels.size());
  for (size_t i = 0; i < row.sample_row.pixels.size(); ++i)
    EXPECT_NEAR(back.sample_row.pixels[i], row.sample_row.pixels[i], 1.0 / 255) << i;

  // A temperature point, unconditional (no accuracy), no training record, no pixels.
  CompareRow plain;
  plain.model = "vae";
  plain.point.knob = "temperature";
  plain.point.temperature = 0.75;
  const CompareRow plain_back = parse_compare_row(compare_row_json(plain, false), "x");
  EXPECT_EQ(plain_back.point.knob, "temperature");
  EXPECT_DOUBLE_EQ(plain_back.point.temperature, 0.75);
  EXPECT_FALSE(plain_back.point.is_default);
  EXPECT_TRUE(plain_back.point.sampler.empty());
  EXPECT_LT(plain_back.quality.accuracy, 0);
  EXPECT_LT(plain_back.train_images_per_s, 0);
  EXPECT_LT(plain_back.train_seconds, 0);
  EXPECT_TRUE(plain_back.sample_row.empty());
  // Without pixels the row leaves them out even when it has them.
  EXPECT_TRUE(parse_compare_row(compare_row_json(row, false), "x").sample_row.empty());
}

TEST(CompareRow, MalformedTextThrowsNamingTheSource) {
  CompareRow row;
  row.point.knob = "psi";
  row.sample_row.channels = 1;
  row.sample_row.height = 1;
  row.sample_row.width = 2;
  row.sample_row.pixels = {0.f, 1.f};
  std::string short_row = compare_row_json(row, true);
  const size_t bytes = short_row.find("[0,255]");
  ASSERT_NE(bytes, std::string::npos) << short_row;
  short_row.replace(bytes, 7, "[0]");  // one value for a 1 x 1 x 2 image
  std::string no_model = compare_row_json(row, false);
  no_model.replace(no_model.find("\"model\""), 7, "\"modal\"");
  for (const std::string& text : {std::string("not json"), std::string("{}"), std::string("[1, 2]"),
                                  std::string("{\"model\": 3}"), short_row, no_model}) {
    SCOPED_TRACE(text);
    try {
      parse_compare_row(text, "/cache/dir/abc.json");
      ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("/cache/dir/abc.json"), std::string::npos) << e.what();
    }
  }
}

TEST(CompareTraining, ReadsEachShapeOfTheProvenanceFileBesideACheckpoint) {
  const std::string dir = temp_dir("provenance");
  // The shapes the shipped JSON files use: train_result's images_per_s or samples_per_s with its
  // seconds; top-level train_images_per_s with wall_time_minutes; seconds alone (a prior).
  write_text(dir + "/a.json", R"({"train_result": {"images_per_s": 1629.5, "seconds": 368.25}, "wall_time_s": 372})");
  write_text(dir + "/b.json", R"({"train_result": {"samples_per_s": 463.5, "seconds": 2071.5}, "wall_time_s": 2073})");
  write_text(dir + "/c.json", R"({"wall_time_minutes": 35, "train_images_per_s": 186, "final_smoothed_mse": 0.03})");
  write_text(dir + "/d.json", R"({"train_result": {"seconds": 2165.5}, "wall_time_s": 2170})");
  write_text(dir + "/e.json", R"({"wall_time_s": 99})");
  write_text(dir + "/broken.json", "{not json");
  write_text(dir + "/list.json", "[1, 2, 3]");

  TrainingRecord a = training_record(dir + "/a.safetensors");
  EXPECT_DOUBLE_EQ(a.images_per_s, 1629.5);
  EXPECT_DOUBLE_EQ(a.seconds, 368.25);
  TrainingRecord b = training_record(dir + "/b.safetensors");
  EXPECT_DOUBLE_EQ(b.images_per_s, 463.5);
  EXPECT_DOUBLE_EQ(b.seconds, 2071.5);
  TrainingRecord c = training_record(dir + "/c.safetensors");
  EXPECT_DOUBLE_EQ(c.images_per_s, 186);
  EXPECT_DOUBLE_EQ(c.seconds, 35 * 60);
  TrainingRecord d = training_record(dir + "/d.safetensors");
  EXPECT_LT(d.images_per_s, 0);
  EXPECT_DOUBLE_EQ(d.seconds, 2165.5);
  TrainingRecord e = training_record(dir + "/e.safetensors");
  EXPECT_LT(e.images_per_s, 0);
  EXPECT_DOUBLE_EQ(e.seconds, 99);
  for (const char* none : {"/missing.safetensors", "/broken.safetensors", "/list.safetensors", "/a.pt"}) {
    SCOPED_TRACE(none);
    TrainingRecord r = training_record(dir + none);
    EXPECT_LT(r.images_per_s, 0);
    EXPECT_LT(r.seconds, 0);
  }

  // The shipped files as they are.
  TrainingRecord ddpm = training_record(shipped("ddpm-fashion-cond"));
  EXPECT_DOUBLE_EQ(ddpm.images_per_s, 186);
  EXPECT_DOUBLE_EQ(ddpm.seconds, 35 * 60);
  TrainingRecord cgan = training_record(shipped("cgan-fashion"));
  EXPECT_NEAR(cgan.images_per_s, 463.09, 0.01);
  EXPECT_NEAR(cgan.seconds, 2071.9, 0.01);
  EXPECT_EQ(model_name(shipped("cgan-fashion")), "cgan-fashion");
  EXPECT_EQ(model_name("x/y/m.safetensors"), "m");
  EXPECT_EQ(model_name("plain"), "plain");
  std::filesystem::remove_all(dir);
}

// The knobs reach the samplers: temperature 0 decodes z = 0 every time; psi 0 is the prior's mode
// (a cGAN's z = 0, per class) or a StyleGAN's mean w.
TEST(CompareKnobs, TemperatureZeroGivesOneVaeImage) {
  const std::string path = shipped("vae-fashion-conv16");
  const VaeConfig config = read_vae_config(path);
  VaeTrainer trainer(config, blank_dataset(config.channels, config.height, config.width, 0));
  trainer.resume(path);
  const Samples cold = vae_prior_samples(trainer, 0.0)(6, 1, {});
  ASSERT_EQ(cold.images.size(0), 6);
  EXPECT_TRUE(all_identical(cold.images));
  const Samples usual = vae_prior_samples(trainer, 1.0)(6, 1, {});
  EXPECT_FALSE(all_identical(usual.images));
  EXPECT_TRUE(torch::equal(usual.images, vae_prior_samples(trainer)(6, 1, {}).images));  // 1 is the default
  EXPECT_FALSE(torch::allclose(usual.images, vae_prior_samples(trainer, 0.5)(6, 1, {}).images));
}

TEST(CompareKnobs, PsiZeroGivesOneCganImagePerClass) {
  const std::string path = shipped("cgan-fashion");
  const GanConfig config = read_gan_config(path);
  GanTrainer trainer(config, blank_dataset(config.channels, config.height, config.width_px, config.classes));
  trainer.resume(path);
  ASSERT_EQ(config.classes, 10);
  const Samples s = gan_samples(trainer, 0.0)(20, 1, {});
  ASSERT_EQ(s.images.size(0), 20);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(s.labels[i].item<int64_t>(), s.labels[i + 10].item<int64_t>());
    EXPECT_TRUE(torch::allclose(s.images[i], s.images[i + 10], 0, 1e-4)) << "class " << i;
    EXPECT_FALSE(torch::allclose(s.images[i], s.images[(i + 1) % 10])) << "classes " << i << " and " << (i + 1) % 10;
  }
  const Samples usual = gan_samples(trainer, 1.0)(20, 1, {});
  EXPECT_FALSE(torch::allclose(usual.images[0], usual.images[10]));
  EXPECT_TRUE(torch::equal(usual.images, gan_samples(trainer)(20, 1, {}).images));
}

TEST(CompareKnobs, PsiZeroGivesTheStyleGansMeanImage) {
  const std::string path = shipped("stylegan-fashion");
  const GanConfig config = read_gan_config(path);
  GanTrainer trainer(config, blank_dataset(config.channels, config.height, config.width_px, config.classes));
  trainer.resume(path);
  ASSERT_TRUE(trainer.stylegan());
  const Samples mean = gan_samples(trainer, 0.0)(5, 1, {});
  EXPECT_TRUE(all_identical(mean.images));
  const Samples half = gan_samples(trainer, 0.5)(5, 1, {});
  const Samples usual = gan_samples(trainer, 1.0)(5, 1, {});
  EXPECT_FALSE(all_identical(half.images));
  EXPECT_FALSE(all_identical(usual.images));
  EXPECT_FALSE(torch::allclose(half.images, usual.images));
  // Closer to the mean image at psi 0.5 than at psi 1.
  EXPECT_LT((half.images - mean.images).pow(2).mean().item<double>(),
            (usual.images - mean.images).pow(2).mean().item<double>());
}

namespace {

// Shipped models through compare_checkpoint, scored by the shipped classifier on Fashion-MNIST.
class CompareShipped : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!kHaveFashion) return;
    data_ = std::make_shared<const Dataset>(load_dataset("fashion-mnist"));
    quality_ = std::make_unique<SampleQuality>(load_classifier(shipped("classifier-fashion")), data_);
  }
  static void TearDownTestSuite() {
    quality_.reset();
    data_.reset();
  }
  void SetUp() override {
    if (!kHaveFashion) GTEST_SKIP() << "no Fashion-MNIST";
    ASSERT_TRUE(quality_);
  }
  static CompareOptions options(const std::string& cache_dir, int samples = 20) {
    CompareOptions o;
    o.samples = samples;
    o.seed = 1;
    o.cache_dir = cache_dir;
    return o;
  }
  static ComparedModel compare(const std::string& path, const CompareOptions& o, const std::string& dataset = "fashion-mnist",
                               std::vector<std::string>* done = nullptr) {
    return compare_checkpoint(path, *quality_, dataset, o, {}, [done](const CompareRow& r) {
      if (done) done->push_back(r.point.label());
    });
  }

  static std::shared_ptr<const Dataset> data_;
  static std::unique_ptr<SampleQuality> quality_;
};
std::shared_ptr<const Dataset> CompareShipped::data_;
std::unique_ptr<SampleQuality> CompareShipped::quality_;

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) n += entry.is_regular_file();
  return n;
}

}  // namespace

TEST_F(CompareShipped, VaeAlongTheTemperatureThenFromTheCache) {
  const std::string cache = temp_dir("vae");
  const std::string path = shipped("vae-fashion-conv16");
  std::vector<std::string> done;
  int64_t last_done = 0, last_total = 0;
  bool progress_seen = false;
  const ComparedModel m = compare_checkpoint(
      path, *quality_, "fashion-mnist", options(cache),
      [&](const std::string& what, int64_t d, int64_t total) {
        progress_seen = true;
        EXPECT_EQ(what.rfind("vae-fashion-conv16: temperature ", 0), 0u) << what;
        EXPECT_GE(d, last_done);
        last_done = d, last_total = total;
        return true;
      },
      [&](const CompareRow& r) { done.push_back(r.point.label()); });
  EXPECT_TRUE(m.skipped.empty()) << m.skipped;
  ASSERT_EQ(m.rows.size(), 4u);
  EXPECT_TRUE(progress_seen);
  EXPECT_EQ(last_done, 80);
  EXPECT_EQ(last_total, 80);
  EXPECT_EQ(done, (std::vector<std::string>{"temperature 0.5", "temperature 0.75", "temperature 1", "temperature 1.25"}));
  const double temperatures[] = {0.5, 0.75, 1.0, 1.25};
  for (size_t i = 0; i < 4; ++i) {
    const CompareRow& r = m.rows[i];
    SCOPED_TRACE(r.point.label());
    EXPECT_EQ(r.model, "vae-fashion-conv16");
    EXPECT_EQ(r.checkpoint, path);
    EXPECT_EQ(r.family, "vae");
    EXPECT_EQ(r.kind, "vae");
    EXPECT_GT(r.step, 0);
    EXPECT_EQ(r.classes, 0);
    EXPECT_EQ(r.point.knob, "temperature");
    EXPECT_DOUBLE_EQ(r.point.temperature, temperatures[i]);
    EXPECT_EQ(r.point.is_default, temperatures[i] == 1.0);
    EXPECT_FALSE(r.cached);
    EXPECT_EQ(r.quality.samples, 20);
    EXPECT_GT(r.quality.fid, 0.0);
    EXPECT_GT(r.quality.floor_train_vs_test, 0.0);
    EXPECT_LT(r.quality.accuracy, 0.0);  // unconditional: no classes asked for
    EXPECT_GT(r.ms_batch1, 0.0);
    EXPECT_GT(r.ms_batch64, 0.0);
    EXPECT_NEAR(r.train_images_per_s, 1894.14, 0.01);  // vae-fashion-conv16.json
    EXPECT_NEAR(r.train_seconds, 316.94, 0.01);
    // Ten 28 x 28 images side by side, a pixel of padding around each.
    EXPECT_EQ(r.sample_row.channels, 1);
    EXPECT_EQ(r.sample_row.height, 1 + 28 + 1);
    EXPECT_EQ(r.sample_row.width, 1 + 10 * (28 + 1));
    EXPECT_EQ(r.sample_row.pixels.size(), size_t(r.sample_row.height) * r.sample_row.width);
  }
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = i + 1; j < 4; ++j) EXPECT_FALSE(same_pixels(m.rows[i].sample_row, m.rows[j].sample_row)) << i << " " << j;
  EXPECT_EQ(files_in(cache), 4u);

  // Again: every row from the cache, with the same figures.
  const ComparedModel again = compare(path, options(cache));
  ASSERT_EQ(again.rows.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(again.rows[i].cached);
    EXPECT_DOUBLE_EQ(again.rows[i].quality.fid, m.rows[i].quality.fid);
    EXPECT_DOUBLE_EQ(again.rows[i].quality.recall, m.rows[i].quality.recall);
    EXPECT_DOUBLE_EQ(again.rows[i].ms_batch64, m.rows[i].ms_batch64);
    EXPECT_DOUBLE_EQ(again.rows[i].point.temperature, temperatures[i]);
    EXPECT_EQ(again.rows[i].checkpoint, path);
    ASSERT_EQ(again.rows[i].sample_row.pixels.size(), m.rows[i].sample_row.pixels.size());
    EXPECT_LE(torch::tensor(again.rows[i].sample_row.pixels).sub(torch::tensor(m.rows[i].sample_row.pixels)).abs().max().item<float>(),
              0.5f / 255 + 1e-6f);
  }
  // Another sample count, or the cache declined: measured again (and the cache still refreshed).
  const ComparedModel more = compare(path, options(cache, 21));
  ASSERT_EQ(more.rows.size(), 4u);
  for (const CompareRow& r : more.rows) {
    EXPECT_FALSE(r.cached) << r.point.label();
    EXPECT_EQ(r.quality.samples, 21);
  }
  EXPECT_EQ(files_in(cache), 8u);
  CompareOptions fresh = options(cache);
  fresh.use_cache = false;
  for (const CompareRow& r : compare(path, fresh).rows) EXPECT_FALSE(r.cached) << r.point.label();
  EXPECT_EQ(files_in(cache), 8u);

  // A cancelled run throws, and fewer than 10 samples are refused.
  fresh.samples = 10;
  EXPECT_THROW(compare_checkpoint(path, *quality_, "fashion-mnist", fresh, [](const std::string&, int64_t, int64_t) { return false; },
                                  {}),
               std::runtime_error);
  EXPECT_THROW(compare(path, options(cache, 9)), std::invalid_argument);
  std::filesystem::remove_all(cache);
}

TEST_F(CompareShipped, ConditionalGanAlongTheTruncation) {
  const std::string cache = temp_dir("cgan");
  const ComparedModel m = compare(shipped("cgan-fashion"), options(cache));
  EXPECT_TRUE(m.skipped.empty()) << m.skipped;
  ASSERT_EQ(m.rows.size(), 4u);
  const double psis[] = {0.5, 0.7, 0.85, 1.0};
  for (size_t i = 0; i < 4; ++i) {
    const CompareRow& r = m.rows[i];
    SCOPED_TRACE(r.point.label());
    EXPECT_EQ(r.family, "gan");
    EXPECT_EQ(r.kind, "gan");
    EXPECT_EQ(r.classes, 10);
    EXPECT_EQ(r.point.knob, "psi");
    EXPECT_DOUBLE_EQ(r.point.psi, psis[i]);
    EXPECT_EQ(r.point.is_default, psis[i] == 1.0);
    EXPECT_GE(r.quality.accuracy, 0.0);  // conditional: its samples were asked for classes
    EXPECT_EQ(r.quality.class_accuracy.size(), 10u);
    EXPECT_GT(r.quality.fid, 0.0);
    EXPECT_NEAR(r.train_images_per_s, 463.09, 0.01);  // cgan-fashion.json: train_result.samples_per_s
  }
  std::filesystem::remove_all(cache);
}

TEST_F(CompareShipped, ModelsThatDrawNothingFromNoiseAreSkippedWithTheReason) {
  const std::string cache = temp_dir("skipped");
  const ComparedModel vq = compare(shipped("vqvae-fashion"), options(cache));
  EXPECT_TRUE(vq.rows.empty());
  EXPECT_NE(vq.skipped.find("VQ-VAE"), std::string::npos) << vq.skipped;
  EXPECT_NE(vq.skipped.find("prior"), std::string::npos) << vq.skipped;
  const ComparedModel pix2pix = compare(shipped("pix2pix-fashion-edges"), options(cache));
  EXPECT_TRUE(pix2pix.rows.empty());
  EXPECT_NE(pix2pix.skipped.find("translates"), std::string::npos) << pix2pix.skipped;
  EXPECT_NE(pix2pix.skipped.find("draws nothing from noise"), std::string::npos) << pix2pix.skipped;
  const ComparedModel classifier = compare(shipped("classifier-fashion"), options(cache));
  EXPECT_TRUE(classifier.rows.empty());
  EXPECT_NE(classifier.skipped.find("Classifier"), std::string::npos) << classifier.skipped;
  EXPECT_NE(classifier.skipped.find("draws nothing from noise"), std::string::npos) << classifier.skipped;
  // A model trained on another data set than the table scores: skipped, naming both.
  const ComparedModel other = compare(shipped("vae-fashion-conv16"), options(cache), "mnist");
  EXPECT_TRUE(other.rows.empty());
  EXPECT_NE(other.skipped.find("fashion-mnist"), std::string::npos) << other.skipped;
  EXPECT_NE(other.skipped.find("scores mnist"), std::string::npos) << other.skipped;
  EXPECT_EQ(files_in(cache), 0u);  // nothing measured
  // Not a checkpoint at all: an error naming the file, not a skip.
  try {
    compare(cache + "/none.safetensors", options(cache));
    ADD_FAILURE() << "no error for a missing file";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("none.safetensors"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(cache);
}

// A tiny untrained conditional DDPM with T = 20: its rows follow diffusion_curves for that T, and
// the default point, on two curves, is measured once.
TEST_F(CompareShipped, TinyDiffusionModelAlongStepsAndGuidance) {
  const std::string dir = temp_dir("ddpm");
  const std::string cache = dir + "/cache";
  const std::string path = dir + "/tiny-ddpm.safetensors";
  {
    auto shape = blank_dataset(1, 28, 28, 10);
    shape->spec = "fashion-mnist";  // the data set the table scores
    DiffusionConfig c;
    c.T = 20;
    c.unet.base = 8;
    c.unet.mid = 8;
    c.unet.time_dim = 16;
    c.batch_size = 1;
    DiffusionTrainer trainer(c, shape);
    trainer.save(path);
  }
  std::vector<std::string> done;
  const ComparedModel m = compare(path, options(cache, 10), "fashion-mnist", &done);
  EXPECT_TRUE(m.skipped.empty()) << m.skipped;
  const std::vector<ComparePoint> expected = diffusion_curves(20, true, "dpmpp2m", 20, 3);
  ASSERT_EQ(m.rows.size(), expected.size());
  EXPECT_EQ(done.size(), expected.size());
  std::vector<const CompareRow*> defaults;
  std::set<std::string> keys;
  for (size_t i = 0; i < expected.size(); ++i) {
    const CompareRow& r = m.rows[i];
    SCOPED_TRACE(r.point.label());
    EXPECT_EQ(r.point.knob, expected[i].knob);
    EXPECT_EQ(r.point.key(), expected[i].key());
    EXPECT_EQ(r.point.is_default, expected[i].is_default);
    EXPECT_LE(r.point.steps, 20);
    EXPECT_EQ(r.model, "tiny-ddpm");
    EXPECT_EQ(r.family, "diffusion");
    EXPECT_EQ(r.kind, "ddpm");
    EXPECT_EQ(r.classes, 10);
    EXPECT_GE(r.quality.accuracy, 0.0);
    EXPECT_GT(r.quality.fid, 0.0);
    EXPECT_LT(r.train_images_per_s, 0);  // no provenance file beside it
    EXPECT_FALSE(r.cached);
    keys.insert(r.point.key());
    if (r.point.is_default) defaults.push_back(&r);
  }
  ASSERT_EQ(defaults.size(), 2u);
  EXPECT_NE(defaults[0]->point.knob, defaults[1]->point.knob);
  EXPECT_DOUBLE_EQ(defaults[0]->quality.fid, defaults[1]->quality.fid);
  EXPECT_DOUBLE_EQ(defaults[0]->ms_batch64, defaults[1]->ms_batch64);  // one timing: measured once
  EXPECT_TRUE(same_pixels(defaults[0]->sample_row, defaults[1]->sample_row));
  EXPECT_EQ(keys.size(), expected.size() - 1);
  EXPECT_EQ(files_in(cache), keys.size());  // one result a point measured
  std::filesystem::remove_all(dir);
}
