// The image-to-image family: each task's inputs and baselines, the image figures (L1, PSNR, SSIM,
// silhouette IoU) against hand values, the U-Net and PatchGAN shapes and the locality of D's patch
// verdicts, each model's loss as the texts write it, learning, live loss weights, checkpoints, and
// the lab's canvas and metrics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/translate/paired_tasks.h"
#include "core/translate/translate_lab.h"
#include "core/translate/translate_run.h"
#include "core/translate/translate_trainer.h"

using namespace genlab;

namespace {

// n images of 16x16: a bright square (class 0), a bright disc (class 1) or a ring (class 2) of
// random size and place on black.
std::shared_ptr<Dataset> shapes(int64_t n, int size = 16) {
  auto d = std::make_shared<Dataset>();
  d->spec = d->title = d->source = "shapes";
  d->channels = 1;
  d->height = d->width = size;
  d->class_names = {"square", "disc", "ring"};
  torch::manual_seed(3);
  for (ImageSet* set : {&d->train, &d->test}) {
    set->count = n;
    for (int64_t i = 0; i < n; ++i) {
      const int label = int(i % 3);
      const float cx = 4 + torch::rand({1}).item<float>() * (size - 8), cy = 4 + torch::rand({1}).item<float>() * (size - 8);
      const float r = 2.5f + torch::rand({1}).item<float>() * 2;
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          const float dist = std::hypot(x - cx, y - cy);
          const bool on = label == 0 ? std::max(std::abs(x - cx), std::abs(y - cy)) < r
                          : label == 1 ? dist < r
                                       : dist < r && dist > r - 1.5f;
          set->pixels.push_back(on ? 220 : 0);
        }
      set->labels.push_back(label);
    }
  }
  return d;
}

TranslateConfig tiny(TranslateKind kind) {
  TranslateConfig c;
  c.kind = kind;
  c.width = 8;
  c.batch_size = 8;
  c.lr = 2e-3f;
  if (kind == TranslateKind::CycleGan) c.domains = {0, 1};
  if (kind == TranslateKind::StarGan) c.domains = {0, 1, 2};
  return c;
}

// The weights as a checkpoint stores them, tensor by tensor.
std::vector<std::vector<uint8_t>> weights_of(TranslateTrainer& t, const std::string& path) {
  t.save(path);
  std::vector<std::vector<uint8_t>> out;
  for (const NamedTensor& tensor : read_safetensors(path).tensors) out.push_back(tensor.bytes);
  return out;
}

}  // namespace

TEST(TranslateConfigTest, RoundTripsAndRefusesBadWeightsAndDomains) {
  TranslateConfig c = tiny(TranslateKind::StarGan);
  c.lambda_rec = 3.5f;
  c.skips = false;
  TranslateConfig back = TranslateConfig::from_json(c.to_json());
  EXPECT_EQ(back.kind, TranslateKind::StarGan);
  EXPECT_EQ(back.domains, c.domains);
  EXPECT_FLOAT_EQ(back.lambda_rec, 3.5f);
  EXPECT_FALSE(back.skips);
  for (float bad : {-1.f, std::nanf(""), INFINITY}) {
    TranslateConfig w = c;
    w.lambda_cls = bad;
    EXPECT_THROW(w.validate(), std::invalid_argument) << bad;
  }
  auto data = shapes(6);
  EXPECT_EQ(parse_domains("Disc, RING", *data, 2), (std::vector<int>{1, 2}));
  EXPECT_EQ(parse_domains("0,2", *data, 2), (std::vector<int>{0, 2}));
  auto message = [&](const std::string& list, int least) {
    try {
      parse_domains(list, *data, least);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("square,triangle", 2).find("'triangle' is not a class of shapes (square, disc, ring)"), std::string::npos);
  EXPECT_NE(message("disc,disc", 2).find("'disc' is named twice"), std::string::npos);
  EXPECT_NE(message("disc", 2).find("needs at least 2"), std::string::npos);
  data->train.labels.assign(size_t(data->train.count), 0);  // no disc left in the training images
  EXPECT_NE(message("square,disc", 2).find("'disc' has no training images"), std::string::npos);
}

TEST(PairedTasks, InputsAreMadeFromTheTargetAsEachTaskSays) {
  TranslateConfig c;
  auto target = torch::zeros({2, 1, 28, 28});
  target.slice(2, 8, 20).slice(3, 8, 20).fill_(0.8);  // a 12x12 square
  // Edges: on the square's border, not inside it nor far outside.
  auto edges = sobel_edges(target);
  EXPECT_EQ(edges[0][0][8][14].item<float>(), 1.f);
  EXPECT_EQ(edges[0][0][14][14].item<float>(), 0.f);
  EXPECT_EQ(edges[0][0][2][2].item<float>(), 0.f);
  // Super-resolution x4: constant over each 4x4 block, equal to the block's mean.
  c.task = PairedTask::SuperRes;
  auto low = task_input(c, target);
  EXPECT_NEAR(low[0][0][8][8].item<float>(), 0.8f, 1e-6);
  EXPECT_NEAR(low[0][0][4][4].item<float>(), 0.f, 1e-6);
  EXPECT_TRUE(torch::equal(low.slice(2, 8, 12).slice(3, 8, 12), low[0][0][8][8].expand({2, 1, 4, 4})));
  auto baselines = task_baselines(c, low, target);
  ASSERT_EQ(baselines.size(), 2u);
  EXPECT_EQ(baselines[0].first, "nearest");
  EXPECT_EQ(baselines[1].first, "bicubic");
  // Inpainting: a grey box of side 9..14 and the image elsewhere.
  c.task = PairedTask::Inpaint;
  auto holed = task_input(c, target);
  for (int64_t i = 0; i < 2; ++i) {
    auto grey = (holed[i] == 0.5f) & (target[i] != 0.5f);
    const int64_t side = int64_t(std::lround(std::sqrt(grey.sum().item<double>())));
    EXPECT_GE(side, 9);
    EXPECT_LE(side, 14);
    EXPECT_TRUE(torch::equal(holed[i].masked_select(~grey), target[i].masked_select(~grey)));
  }
  // Denoising: Gaussian noise of the set sigma (measured where clamping does not bite).
  c.task = PairedTask::Denoise;
  auto mid = torch::full({64, 1, 28, 28}, 0.5);
  EXPECT_NEAR((task_input(c, mid) - mid).std().item<double>(), 0.3 * 0.9, 0.04);  // clamping at 0, 1 trims ~10 %
}

TEST(ImageFigures, MatchHandValues) {
  auto a = torch::rand({4, 1, 28, 28});
  EXPECT_DOUBLE_EQ(mean_l1(a, a), 0.0);
  EXPECT_NEAR(psnr(a, a), 60.0, 1e-9);                          // capped
  EXPECT_NEAR(psnr(a, a + 0.1), 20.0, 1e-4);                    // MSE 0.01
  EXPECT_NEAR(mean_l1(a, a + 0.25), 0.25, 1e-6);
  EXPECT_NEAR(ssim(a, a), 1.0, 1e-9);
  const double noisy = ssim(a, (a + 0.2 * torch::randn_like(a)).clamp(0, 1));
  EXPECT_LT(noisy, 0.9);
  EXPECT_GT(noisy, 0.0);
  EXPECT_LT(ssim(a, 1 - a), 0.0);  // anti-correlated
  auto left = torch::zeros({1, 1, 4, 4}), right = torch::zeros({1, 1, 4, 4});
  left.slice(3, 0, 2).fill_(1);
  right.slice(3, 1, 4).fill_(1);
  EXPECT_NEAR(silhouette_iou(left, left), 1.0, 1e-12);
  EXPECT_NEAR(silhouette_iou(left, right), 4.0 / 16.0, 1e-12);  // one column shared of four
}

TEST(TranslateNets, UNetKeepsTheSizeAndPatchVerdictsAreLocal) {
  torch::manual_seed(1);
  UNetGenerator with(1, 1, 8, 28, true), without(1, 1, 8, 28, false);
  EXPECT_EQ(with->levels(), 3);  // 28 -> 14 -> 7 -> 3
  EXPECT_EQ(UNetGenerator(3, 3, 8, 64, true)->levels(), 4);
  auto x = torch::rand({2, 1, 28, 28}) * 2 - 1;
  EXPECT_EQ(with->forward(x).sizes(), x.sizes());
  EXPECT_EQ(without->forward(x).sizes(), x.sizes());
  auto count = [](torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  EXPECT_GT(count(*with), count(*without));  // the decoder also reads the encoder's features
  PatchDiscriminator d(1, 8);
  d->eval();
  auto before = d->forward(x).patches;
  ASSERT_EQ(before.sizes(), (std::vector<int64_t>{2, 1, 7, 7}));
  // A change in the top-left corner moves only the verdicts of patches that see it (18x18 fields).
  auto changed = x.clone();
  changed.slice(2, 0, 3).slice(3, 0, 3).fill_(1);
  auto moved = (d->forward(changed).patches - before).abs()[0][0] > 0;
  EXPECT_TRUE(moved[0][0].item<bool>());
  EXPECT_FALSE(moved[6][6].item<bool>());
  EXPECT_FALSE(moved[0][6].item<bool>());
  PatchDiscriminator classes(1, 8, 3);
  EXPECT_EQ(classes->forward(x).classes.sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(TranslateTraining, EachModelsLossIsTheTextsSum) {
  auto data = shapes(24);
  {
    TranslateConfig c = tiny(TranslateKind::Pix2Pix);
    c.lambda_l1 = 37;
    TranslateTrainer t(c, data);
    TranslateStepStats s = t.train_step();
    EXPECT_NEAR(s.loss_g, s.adversarial + 37 * s.l1, 1e-4 * s.loss_g);
    EXPECT_GT(s.l1, 0);
  }
  {
    TranslateConfig c = tiny(TranslateKind::CycleGan);
    c.lambda_cycle = 7;
    c.lambda_identity = 2;
    TranslateTrainer t(c, data);
    TranslateStepStats s = t.train_step();
    EXPECT_NEAR(s.loss_g, s.adversarial + 7 * s.cycle + 2 * s.identity, 1e-4 * s.loss_g);
    EXPECT_GT(s.cycle, 0);
    EXPECT_GT(s.identity, 0);
    // G: A -> B and F: B -> A are two networks.
    auto x = t.images(Split::Test, {0, 1});
    EXPECT_FALSE(torch::allclose(t.translate(x, 1), t.translate(x, 0)));
  }
  {
    TranslateConfig c = tiny(TranslateKind::StarGan);
    c.lambda_cls = 3;
    c.lambda_rec = 5;
    TranslateTrainer t(c, data);
    TranslateStepStats s = t.train_step();
    EXPECT_NEAR(s.loss_g, s.adversarial + 3 * s.cls_fake + 5 * s.rec, 1e-4 * s.loss_g);
    EXPECT_NEAR(s.cls_real, std::log(3.0), 0.3);  // an untrained head guesses among 3 domains
    auto x = t.images(Split::Test, {0});
    EXPECT_FALSE(torch::allclose(t.translate(x, 0), t.translate(x, 2)));  // the target domain matters
  }
}

TEST(TranslateTraining, Pix2PixLearnsAndLiveWeightsTakeEffect) {
  auto data = shapes(48);
  TranslateConfig c = tiny(TranslateKind::Pix2Pix);
  c.task = PairedTask::SuperRes;
  TranslateTrainer t(c, data);
  const std::string evaluated = evaluate_translation(t, 24, 1, nullptr);
  const double before = nlohmann::json::parse(evaluated)["figures"]["l1"].get<double>();
  for (int i = 0; i < 60; ++i) t.train_step();
  auto after = nlohmann::json::parse(evaluate_translation(t, 24, 1, nullptr));
  EXPECT_LT(after["figures"]["l1"].get<double>(), 0.5 * before);
  EXPECT_TRUE(after["baselines"].contains("bicubic"));
  // lambda_L1 = 0: G's loss is D's judgement alone.
  TranslateConfig w = c;
  w.lambda_l1 = 0;
  t.set_loss_weights(w);
  TranslateStepStats s = t.train_step();
  EXPECT_NEAR(s.loss_g, s.adversarial, 1e-6);
  w.lambda_l1 = -2;
  EXPECT_THROW(t.set_loss_weights(w), std::invalid_argument);
  EXPECT_EQ(t.config().lambda_l1, 0.f);
}

TEST(TranslateTraining, ACheckpointResumesTheRunExactly) {
  auto data = shapes(24);
  const std::string dir = ::testing::TempDir() + "translate_resume_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  for (TranslateKind kind : {TranslateKind::Pix2Pix, TranslateKind::StarGan}) {
    TranslateTrainer straight(tiny(kind), data);
    for (int i = 0; i < 3; ++i) straight.train_step();
    straight.save(dir + "/half.safetensors");
    for (int i = 0; i < 3; ++i) straight.train_step();
    TranslateTrainer resumed(tiny(kind), data);
    resumed.resume(dir + "/half.safetensors");
    EXPECT_EQ(resumed.step(), 3);
    for (int i = 0; i < 3; ++i) resumed.train_step();
    EXPECT_TRUE(weights_of(resumed, dir + "/a.safetensors") == weights_of(straight, dir + "/b.safetensors"))
        << translate_kind_name(kind);
  }
  // Another model's file is refused, naming it.
  TranslateConfig other = tiny(TranslateKind::Pix2Pix);
  other.skips = false;
  TranslateTrainer no_skips(other, data);
  try {
    no_skips.resume(dir + "/half.safetensors");
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("half.safetensors"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(TranslateLabTest, CanvasFollowsTheDrawingAndMetricsMeasureTheTestSet) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  Session session(1);
  session.open_dataset("fashion-mnist");
  session.worker().wait_idle();
  TranslateLab& lab = session.lab<TranslateLab>();
  TranslateConfig c = tiny(TranslateKind::Pix2Pix);
  c.task = PairedTask::Edges;
  lab.new_model(c);
  lab.train(3);
  session.worker().wait_idle();
  auto view = lab.view().get();
  ASSERT_TRUE(view && view->value.exists) << session.worker().status()->value.error;
  EXPECT_EQ(view->value.step, 3);
  ASSERT_EQ(view->value.tables.size(), 1u);
  EXPECT_EQ(view->value.tables[0].columns.size(), 5u);  // input, G(x), D's verdict, target, error
  EXPECT_EQ(view->value.tables[0].columns[1].cells.size(), 8u);
  EXPECT_NE(view->value.rows_summary.find("PSNR"), std::string::npos);

  lab.canvas_from_test(5);
  session.worker().wait_idle();
  auto start = lab.canvas_start().get();
  ASSERT_TRUE(start);
  EXPECT_EQ(start->value.index, 5);
  ImageBuffer drawn = start->value.input;
  drawn.pixels[14 * 28 + 14] = 1;
  lab.draw(drawn, 1, start->value.truth);
  session.worker().wait_idle();
  auto answer = lab.canvas().get();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->value.output.height, 28);
  EXPECT_EQ(answer->value.verdict.height, 28);
  for (float v : answer->value.verdict.pixels) EXPECT_LE(std::abs(v), 1.f);
  EXPECT_GE(answer->value.l1, 0.f);
  EXPECT_GT(answer->value.psnr, 0.f);

  TranslateConfig bad = c;
  bad.lambda_l1 = std::nanf("");
  EXPECT_THROW(lab.set_loss_weights(bad), std::invalid_argument);

  lab.measure(50);
  session.worker().wait_idle();
  auto metrics = lab.metrics().get();
  ASSERT_TRUE(metrics);
  ASSERT_TRUE(metrics->value.error.empty()) << metrics->value.error;
  auto figures = nlohmann::json::parse(metrics->value.json);
  EXPECT_EQ(figures["test_images"], 50);
  EXPECT_GT(figures["figures"]["psnr"].get<double>(), 0);
}

// A domain with no test images (a small image folder) shows training images in the views instead.
TEST(TranslateLabTest, ADomainWithoutTestImagesShowsTrainingOnes) {
  const std::string dir = ::testing::TempDir() + "translate_folder_" + std::to_string(getpid());
  for (const char* place : {"train/dark", "train/light", "test/dark"}) {
    std::filesystem::create_directories(dir + "/" + place);
    for (int i = 0; i < 3; ++i) {
      std::string pgm = "P5\n16 16\n255\n" + std::string(256, char(std::string(place).find("light") != std::string::npos ? 200 : 40 + i));
      std::ofstream(dir + "/" + place + "/" + std::to_string(i) + ".pgm", std::ios::binary) << pgm;
    }
  }
  Session session(1);
  session.open_dataset("folder:" + dir, {16, 1});
  session.worker().wait_idle();
  TranslateLab& lab = session.lab<TranslateLab>();
  lab.new_model(tiny(TranslateKind::CycleGan));
  session.worker().wait_idle();
  auto view = lab.view().get();
  ASSERT_TRUE(view && view->value.exists) << session.worker().status()->value.error;
  ASSERT_EQ(view->value.tables.size(), 2u);  // dark -> light from the test split, light -> dark from training
  EXPECT_EQ(view->value.tables[1].columns[0].cells.size(), 3u);
  std::filesystem::remove_all(dir);
}
