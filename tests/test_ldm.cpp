// Latent text-to-image diffusion: the captions measured from the pixels (attributes, per-class
// medians, held-out pairs, the written captions and how prompts are read back), the word tokenizer,
// the text encoder, the cross-attention and the latent U-Net, the shared transformer block, the KL
// autoencoder's training, and the ldm trainer (held-out images, the scale factor, checkpoints,
// guidance with a negative prompt, mismatched files).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/diffusion/captions.h"
#include "core/diffusion/ldm_trainer.h"
#include "core/diffusion/tokenizer.h"
#include "core/io/checkpoint.h"
#include "core/train/transformer_block.h"
#include "tests/squares_dataset.h"

using namespace genlab;

namespace {

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
enum { kTop = 0, kPullover = 2, kDress = 3, kSneaker = 7, kAnkleBoot = 9 };
enum { kBrightness = 0, kSize = 1, kShape = 2, kTexture = 3 };

CaptionSpec fashion_spec() {
  CaptionSpec s;
  s.class_names = kFashion;
  s.thresholds.assign(kFashion.size(), AttributeValues{0.5, 0.2, 1.0, 0.1});
  return s;
}

// A C x H x W image (channels first, as Dataset stores them) to draw rectangles on.
struct Canvas {
  int channels, height, width;
  std::vector<uint8_t> pixels;
  Canvas(int h, int w, int c = 1) : channels(c), height(h), width(w), pixels(size_t(c) * h * w, 0) {}
  // Fills [x0, x0 + w) x [y0, y0 + h) with `value` in channel `channel` (-1: every channel).
  Canvas& rect(int x0, int y0, int w, int h, uint8_t value, int channel = -1) {
    for (int c = 0; c < channels; ++c) {
      if (channel >= 0 && c != channel) continue;
      for (int y = y0; y < y0 + h; ++y)
        for (int x = x0; x < x0 + w; ++x) pixels[(size_t(c) * height + y) * width + x] = value;
    }
    return *this;
  }
  AttributeValues measure() const { return measure_attributes(pixels.data(), channels, height, width); }
};

void add_image(ImageSet& set, const Canvas& image, int label) {
  set.pixels.insert(set.pixels.end(), image.pixels.begin(), image.pixels.end());
  set.labels.push_back(label);
  ++set.count;
}

bool contains(const std::vector<std::string>& words, const std::string& w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "genlab_ldm_" + std::to_string(::getpid()) + "_" + name;
}

void remove_checkpoint(const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(optimizer_path(path));
}

// Two classes of rectangles whose brightness, size and proportions vary from image to image, so each
// attribute splits at the class median into two real halves.
std::shared_ptr<const Dataset> garments(int train = 48, int test = 8) {
  auto d = std::make_shared<Dataset>();
  d->spec = "synthetic:garments";
  d->channels = 1;
  d->height = d->width = 28;
  d->class_names = {"Sneaker", "Dress"};
  auto fill = [](ImageSet& set, int count, int salt) {
    for (int i = 0; i < count; ++i) {
      const int k = i + salt, w = 6 + (k * 5) % 15, h = 6 + (k * 11) % 15;
      Canvas c(28, 28);
      c.rect((28 - w) / 2, (28 - h) / 2, w, h, uint8_t(90 + (k * 53) % 160));
      if (k % 3 == 0)  // some of them striped
        for (int y = (28 - h) / 2; y < (28 - h) / 2 + h; y += 2) c.rect((28 - w) / 2, y, w, 1, 60);
      add_image(set, c, k % 2);
    }
  };
  fill(d->train, train, 0);
  fill(d->test, test, 1000);
  return d;
}

LatentAutoencoder tiny_autoencoder(uint64_t seed) {
  torch::manual_seed(seed);
  LatentAeConfig c;
  c.width = 8;
  return LatentAutoencoder(c);
}

const HeldOutPair kDarkSneaker{kBrightness, false, 0};  // label 0 is "Sneaker" in garments()

LdmConfig tiny_ldm() {
  LdmConfig c;
  c.text.width = 16;
  c.text.layers = 1;
  c.text.heads = 2;
  c.text.max_tokens = 8;
  c.unet.base = 8;
  c.unet.mid = 16;
  c.unet.heads = 2;
  c.unet.time_dim = 16;
  c.T = 1000;  // the linear schedule is fixed at 1e-4..0.02: fewer steps would leave signal at T
  c.batch_size = 16;
  c.learning_rate = 2e-3f;
  c.ema_decay = 0.9f;
  c.seed = 3;
  c.captions.held_out = {kDarkSneaker};
  return c;
}

// Makes every weight of `module` count: the zero-initialised output layers otherwise hide the
// conditioning behind them.
void jiggle(torch::nn::Module& module, double scale = 0.05) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.add_(torch::randn_like(p) * scale);
}

torch::Tensor eps_of(LdmNet& net, const torch::Tensor& z, int t, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  net->eval();
  return net->forward(z, torch::full({z.size(0)}, t - 1, torch::kLong), ids);
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

torch::Tensor longs(std::vector<int64_t> values) { return torch::tensor(values, torch::kLong); }

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Captions

TEST(Caption, BrightnessIsTheMeanOfTheLitPixels) {
  const auto dim = Canvas(28, 28).rect(9, 9, 10, 10, 100).measure();
  const auto bright = Canvas(28, 28).rect(9, 9, 10, 10, 250).measure();
  EXPECT_NEAR(dim[kBrightness], 100 / 255.0, 1e-9);
  EXPECT_NEAR(bright[kBrightness], 250 / 255.0, 1e-9);
  // The rest is the same square.
  EXPECT_DOUBLE_EQ(dim[kSize], bright[kSize]);
  EXPECT_DOUBLE_EQ(dim[kShape], bright[kShape]);
  // Pixels at or below 20 % of full scale are not lit: they count in nothing.
  auto faint = Canvas(28, 28).rect(9, 9, 10, 10, 250).rect(0, 0, 28, 2, 40).measure();
  for (int a = 0; a < kAttributes; ++a) EXPECT_DOUBLE_EQ(faint[size_t(a)], bright[size_t(a)]) << attributes()[size_t(a)].name;
  // Where the square sits does not matter (away from the border, where the blur sees fewer pixels).
  const auto moved = Canvas(28, 28).rect(1, 16, 10, 10, 250).measure();
  for (int a = 0; a < kAttributes; ++a) EXPECT_NEAR(moved[size_t(a)], bright[size_t(a)], 1e-12) << attributes()[size_t(a)].name;
}

TEST(Caption, SizeIsTheLitShareAndShapeIsWidthOverHeight) {
  const auto small = Canvas(28, 28).rect(3, 3, 4, 4, 200).measure();
  const auto large = Canvas(28, 28).rect(3, 3, 12, 12, 200).measure();
  EXPECT_NEAR(small[kSize], 16 / 784.0, 1e-12);
  EXPECT_NEAR(large[kSize], 144 / 784.0, 1e-12);
  EXPECT_DOUBLE_EQ(small[kShape], 1.0);

  const auto wide = Canvas(28, 28).rect(6, 12, 16, 4, 200).measure();
  const auto tall = Canvas(28, 28).rect(12, 6, 4, 16, 200).measure();
  EXPECT_DOUBLE_EQ(wide[kShape], 4.0);
  EXPECT_DOUBLE_EQ(tall[kShape], 0.25);
  EXPECT_DOUBLE_EQ(wide[kSize], tall[kSize]);
  // The shape is that of the bounding box of every lit pixel: two dots far apart span it.
  const auto dots = Canvas(28, 28).rect(2, 10, 1, 1, 255).rect(25, 12, 1, 1, 255).measure();
  EXPECT_DOUBLE_EQ(dots[kShape], 24.0 / 3.0);
  EXPECT_NEAR(dots[kSize], 2 / 784.0, 1e-12);
}

TEST(Caption, TextureSeparatesAFlatSquareFromACheckerboard) {
  const auto flat = Canvas(28, 28).rect(8, 8, 12, 12, 255).measure();
  Canvas checker(28, 28);
  for (int y = 8; y < 20; ++y)
    for (int x = 8; x < 20; ++x)
      if ((x + y) % 2 == 0) checker.rect(x, y, 1, 1, 255);
  const auto patterned = checker.measure();
  EXPECT_GT(patterned[kTexture], 3 * flat[kTexture]);
  // Inside the checkerboard a lit pixel has 5 lit of 9 in its 3x3 box, |1 - 5/9| = 4/9; on its rim
  // fewer, so a little more.
  EXPECT_GE(patterned[kTexture], 4 / 9.0 - 1e-9);
  EXPECT_LT(patterned[kTexture], 0.6);
  // Only the flat square's rim differs from its blur; a flat image has no texture at all.
  EXPECT_GT(flat[kTexture], 0);
  const auto everywhere = Canvas(28, 28).rect(0, 0, 28, 28, 200).measure();
  EXPECT_NEAR(everywhere[kTexture], 0, 1e-12);
  EXPECT_NEAR(everywhere[kSize], 1, 1e-12);
  EXPECT_NEAR(everywhere[kShape], 1, 1e-12);
  EXPECT_NEAR(everywhere[kBrightness], 200 / 255.0, 1e-12);
}

TEST(Caption, ABlackImageMeasuresZeroOnEveryAttribute) {
  for (int channels : {1, 3}) {
    const auto v = Canvas(28, 28, channels).measure();
    for (int a = 0; a < kAttributes; ++a) EXPECT_EQ(v[size_t(a)], 0.0) << attributes()[size_t(a)].name;
  }
  // A faint image is black to the measures.
  const auto faint = Canvas(16, 16).rect(0, 0, 16, 16, 50).measure();
  for (int a = 0; a < kAttributes; ++a) EXPECT_EQ(faint[size_t(a)], 0.0) << attributes()[size_t(a)].name;
}

TEST(Caption, RgbImagesAreMeasuredOnTheMeanOfTheirChannelPlanes) {
  // Red and green at full scale: the mean of the channels is 2/3, as a gray image at 170.
  const auto rg = Canvas(28, 28, 3).rect(5, 5, 10, 6, 255, 0).rect(5, 5, 10, 6, 255, 1).measure();
  const auto gray = Canvas(28, 28).rect(5, 5, 10, 6, 170).measure();
  for (int a = 0; a < kAttributes; ++a) EXPECT_NEAR(rg[size_t(a)], gray[size_t(a)], 1e-9) << attributes()[size_t(a)].name;
  // The planes are C x H x W: a red square on the left and a blue one on the right are both lit
  // (1/3 each) and span the width between them.
  const auto apart = Canvas(28, 28, 3).rect(1, 10, 4, 4, 255, 0).rect(23, 10, 4, 4, 255, 2).measure();
  EXPECT_NEAR(apart[kBrightness], 1 / 3.0, 1e-9);
  EXPECT_NEAR(apart[kSize], 32 / 784.0, 1e-12);
  EXPECT_DOUBLE_EQ(apart[kShape], 26 / 4.0);
  // One channel alone at 40 % is below the lit level once averaged (0.4 / 3).
  const auto blue = Canvas(28, 28, 3).rect(5, 5, 10, 10, 102, 2).measure();
  EXPECT_EQ(blue[kSize], 0.0);
}

TEST(Caption, AttributeTableNamesTheWordPairs) {
  const auto& t = attributes();
  EXPECT_STREQ(t[kBrightness].low, "dark");
  EXPECT_STREQ(t[kBrightness].high, "light");
  EXPECT_STREQ(t[kSize].low, "small");
  EXPECT_STREQ(t[kSize].high, "large");
  EXPECT_STREQ(t[kShape].low, "narrow");
  EXPECT_STREQ(t[kShape].high, "wide");
  EXPECT_STREQ(t[kTexture].low, "plain");
  EXPECT_STREQ(t[kTexture].high, "patterned");
}

TEST(Caption, BitsAreOneOnlyStrictlyAboveTheThreshold) {
  const AttributeValues thresholds{0.5, 0.2, 1.0, 0.1};
  EXPECT_EQ(attribute_bits({0.6, 0.1, 1.0, 0.3}, thresholds), (std::array<int, kAttributes>{1, 0, 0, 1}));
  EXPECT_EQ(attribute_bits(thresholds, thresholds), (std::array<int, kAttributes>{0, 0, 0, 0}));
  EXPECT_EQ(attribute_bits({0.5000001, 0.21, 1.5, 0.11}, thresholds), (std::array<int, kAttributes>{1, 1, 1, 1}));
}

TEST(Caption, ThresholdsAreEachClassMedian) {
  Dataset d;
  d.spec = "synthetic:medians";
  d.channels = 1;
  d.height = d.width = 28;
  d.class_names = {"Sneaker", "Dress"};
  // Class 0: three squares of brightness 100, 200, 150 (median 150) and widths 4, 12, 8 (shape
  // median 1 at height 8: 0.5, 1.5, 1).
  add_image(d.train, Canvas(28, 28).rect(2, 2, 4, 8, 100), 0);
  add_image(d.train, Canvas(28, 28).rect(2, 2, 12, 8, 200), 0);
  // An unlabelled image, very bright and large, sets no class's thresholds.
  add_image(d.train, Canvas(28, 28).rect(0, 0, 28, 28, 255), -1);
  add_image(d.train, Canvas(28, 28).rect(2, 2, 8, 8, 150), 0);
  // Class 1: five full-scale squares of sides 4, 6, 8, 10, 12 (size median 64 / 784).
  for (int side : {10, 4, 12, 6, 8}) add_image(d.train, Canvas(28, 28).rect(1, 1, side, side, 255), 1);
  // The test split does not count.
  add_image(d.test, Canvas(28, 28).rect(0, 0, 28, 28, 255), 0);

  const CaptionSpec spec = fit_captions(d);
  EXPECT_EQ(spec.class_names, d.class_names);
  ASSERT_EQ(spec.thresholds.size(), 2u);
  EXPECT_NEAR(spec.thresholds[0][kBrightness], 150 / 255.0, 1e-12);
  EXPECT_NEAR(spec.thresholds[0][kSize], 64 / 784.0, 1e-12);
  EXPECT_NEAR(spec.thresholds[0][kShape], 1.0, 1e-12);
  EXPECT_NEAR(spec.thresholds[1][kBrightness], 1.0, 1e-12);
  EXPECT_NEAR(spec.thresholds[1][kSize], 64 / 784.0, 1e-12);
  EXPECT_NEAR(spec.thresholds[1][kShape], 1.0, 1e-12);
  EXPECT_TRUE(spec.held_out.empty());
  EXPECT_EQ(&spec.thresholds_of(1), &spec.thresholds[1]);
  EXPECT_EQ(&spec.thresholds_of(-1), &spec.thresholds[0]);  // no class: row 0

  // The median splits each class: of class 1's sizes only 10 and 12 are above it.
  int large = 0;
  for (int64_t i = 0; i < d.train.count; ++i)
    if (d.label(Split::Train, i) == 1)
      large += attribute_bits(measure_attributes(d.image(Split::Train, i), 1, 28, 28), spec.thresholds_of(1))[kSize];
  EXPECT_EQ(large, 2);

  // Without classes: one row, the median over every image.
  Dataset plain = d;
  plain.class_names.clear();
  const CaptionSpec one = fit_captions(plain);
  ASSERT_EQ(one.thresholds.size(), 1u);
  // Brightness of the 9 images: 100, 200, 255, 150, 255 x 5: the median is 255.
  EXPECT_NEAR(one.thresholds[0][kBrightness], 1.0, 1e-12);
  EXPECT_NEAR(one.thresholds[0][kSize], 64 / 784.0, 1e-12);
}

TEST(Caption, ClassWordsAreLowerCaseAlternatives) {
  EXPECT_EQ(class_words("T-shirt/top"), (std::vector<std::string>{"t-shirt", "top"}));
  EXPECT_EQ(class_words("Ankle boot"), (std::vector<std::string>{"ankle boot"}));
  EXPECT_EQ(class_words("Sneaker"), (std::vector<std::string>{"sneaker"}));
  EXPECT_EQ(class_words("  Ankle   Boot! "), (std::vector<std::string>{"ankle boot"}));
  EXPECT_EQ(class_words("a//b/"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(class_words("").empty());
  EXPECT_TRUE(class_words("/").empty());
}

TEST(Caption, ParsesHeldOutPairsOnFashionMnistNames) {
  const CaptionSpec spec = fashion_spec();
  auto pairs = parse_held_out("dark sneaker, wide dress", spec);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].attribute, kBrightness);
  EXPECT_FALSE(pairs[0].high);
  EXPECT_EQ(pairs[0].label, kSneaker);
  EXPECT_EQ(pairs[1].attribute, kShape);
  EXPECT_TRUE(pairs[1].high);
  EXPECT_EQ(pairs[1].label, kDress);

  // Two-word classes, either alternative of "T-shirt/top", any case and spacing.
  pairs = parse_held_out("light ankle boot,patterned T-shirt ,  Small TOP,", spec);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].attribute, kBrightness);
  EXPECT_TRUE(pairs[0].high);
  EXPECT_EQ(pairs[0].label, kAnkleBoot);
  EXPECT_EQ(pairs[1].attribute, kTexture);
  EXPECT_TRUE(pairs[1].high);
  EXPECT_EQ(pairs[1].label, kTop);
  EXPECT_EQ(pairs[2].attribute, kSize);
  EXPECT_FALSE(pairs[2].high);
  EXPECT_EQ(pairs[2].label, kTop);
  EXPECT_EQ(spec.pair_text(pairs[0]), "light ankle boot");
  EXPECT_EQ(spec.pair_text(pairs[1]), "patterned t-shirt");

  EXPECT_TRUE(parse_held_out("", spec).empty());
  EXPECT_TRUE(parse_held_out(" , ,", spec).empty());

  for (const std::string bad : {"purple sneaker", "dark", "sneaker", "sneaker dark", "dark ankle", "dark sneaker boot",
                                "dark sneaker dress", "dark, sneaker", "wide dress, purple sneaker"}) {
    SCOPED_TRACE(bad);
    const std::string what = error_of([&] { parse_held_out(bad, spec); });
    EXPECT_NE(what.find("held-out pair"), std::string::npos) << what;
  }
  // The message names the part that is wrong, not the whole list.
  const std::string what = error_of([&] { parse_held_out("wide dress, purple sneaker", spec); });
  EXPECT_NE(what.find("purple sneaker"), std::string::npos) << what;
  EXPECT_EQ(what.find("wide dress"), std::string::npos) << what;
  EXPECT_THROW(parse_held_out("dark sneaker", CaptionSpec{}), std::invalid_argument);  // no classes
}

TEST(Caption, ShowsHeldOutOnlyForThePairsClassAndWord) {
  CaptionSpec spec = fashion_spec();
  spec.held_out = parse_held_out("dark sneaker, wide dress", spec);
  EXPECT_TRUE(shows_held_out(spec, kSneaker, {0, 1, 1, 1}));
  EXPECT_FALSE(shows_held_out(spec, kSneaker, {1, 0, 0, 0}));
  EXPECT_TRUE(shows_held_out(spec, kDress, {1, 1, 1, 0}));
  EXPECT_FALSE(shows_held_out(spec, kDress, {0, 0, 0, 0}));
  EXPECT_FALSE(shows_held_out(spec, kPullover, {0, 0, 1, 0}));
  EXPECT_FALSE(shows_held_out(spec, -1, {0, 0, 1, 0}));
  spec.held_out.clear();
  EXPECT_FALSE(shows_held_out(spec, kSneaker, {0, 0, 0, 0}));
}

TEST(Caption, SpecSurvivesJsonAndRejectsBrokenOnes) {
  CaptionSpec spec = fashion_spec();
  spec.thresholds[4] = {0.25, 0.125, 0.75, 1.0 / 3};
  spec.held_out = parse_held_out("dark sneaker, wide dress", spec);
  const CaptionSpec back = CaptionSpec::from_json(spec.to_json());
  EXPECT_EQ(back.class_names, spec.class_names);
  EXPECT_EQ(back.thresholds, spec.thresholds);
  ASSERT_EQ(back.held_out.size(), 2u);
  EXPECT_EQ(back.held_out[1].attribute, kShape);
  EXPECT_TRUE(back.held_out[1].high);
  EXPECT_EQ(back.held_out[1].label, kDress);
  EXPECT_EQ(back.to_json(), spec.to_json());

  EXPECT_THROW(CaptionSpec::from_json("not json"), std::invalid_argument);
  EXPECT_THROW(CaptionSpec::from_json("[1, 2]"), std::invalid_argument);
  EXPECT_THROW(CaptionSpec::from_json(R"({"class_names": ["a"]})"), std::invalid_argument);
  // One threshold row per class (one for none).
  EXPECT_THROW(CaptionSpec::from_json(R"({"class_names": ["a", "b"], "thresholds": [[0,0,0,0]], "held_out": []})"),
               std::invalid_argument);
  EXPECT_NO_THROW(CaptionSpec::from_json(R"({"class_names": [], "thresholds": [[0,0,0,0]], "held_out": []})"));
  // A held-out pair naming no class or attribute.
  EXPECT_THROW(CaptionSpec::from_json(R"({"class_names": ["a"], "thresholds": [[0,0,0,0]], "held_out": [[0, true, 1]]})"),
               std::invalid_argument);
  EXPECT_THROW(CaptionSpec::from_json(R"({"class_names": ["a"], "thresholds": [[0,0,0,0]], "held_out": [[4, true, 0]]})"),
               std::invalid_argument);
  EXPECT_THROW(CaptionSpec::from_json(R"({"class_names": ["a"], "thresholds": [[0,0,0]], "held_out": []})"),
               std::invalid_argument);
}

TEST(Caption, WordsHoldEveryClassAttributeAndFillerWordOnce) {
  const auto words = fashion_spec().words();
  EXPECT_TRUE(std::is_sorted(words.begin(), words.end()));
  EXPECT_EQ(std::set<std::string>(words.begin(), words.end()).size(), words.size());
  for (const char* w : {"t-shirt", "top", "trouser", "ankle", "boot", "sneaker", "dark", "light", "small", "large", "narrow",
                        "wide", "plain", "patterned", "a", "an", "and", "is", "that"})
    EXPECT_TRUE(contains(words, w)) << w;
  EXPECT_FALSE(contains(words, "ankle boot"));  // words, not class names
  // Every word can be a vocabulary word.
  EXPECT_NO_THROW(Vocabulary{words});
}

TEST(Caption, CaptionsAreFixedByTheirRandomValueAndTellOnlyTheTruth) {
  const CaptionSpec spec = fashion_spec();
  const auto vocabulary = spec.words();
  std::mt19937_64 draw(11);
  std::array<int, kAttributes> named{};
  int captions = 0;
  std::set<std::string> different;
  for (int k = 0; k < 3000; ++k) {
    const int label = int(draw() % kFashion.size());
    const std::array<int, kAttributes> bits{int(draw() % 2), int(draw() % 2), int(draw() % 2), int(draw() % 2)};
    const uint64_t random = draw();
    const std::string caption = write_caption(spec, label, bits, random);
    SCOPED_TRACE(caption);
    ASSERT_EQ(caption, write_caption(spec, label, bits, random));
    different.insert(caption);
    ++captions;
    const auto words = split_words(caption);
    for (const std::string& w : words) ASSERT_TRUE(std::binary_search(vocabulary.begin(), vocabulary.end(), w)) << w;
    // The class is always there (one of its forms), and read back.
    const auto meaning = read_prompt(spec, caption);
    ASSERT_EQ(meaning.label, label);
    for (int a = 0; a < kAttributes; ++a) {
      const Attribute& at = attributes()[size_t(a)];
      const std::string right = bits[size_t(a)] ? at.high : at.low, wrong = bits[size_t(a)] ? at.low : at.high;
      ASSERT_FALSE(contains(words, wrong)) << "says " << wrong;
      const bool said = contains(words, right);
      named[size_t(a)] += said;
      // read_prompt finds the attribute exactly where the caption names it.
      ASSERT_EQ(meaning.attributes[size_t(a)], said ? bits[size_t(a)] : -1) << at.name;
    }
    // English articles: "an" before a vowel, "a" before a consonant.
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      const bool vowel = std::string("aeiou").find(words[i + 1][0]) != std::string::npos;
      if (words[i] == "an") ASSERT_TRUE(vowel) << "an " << words[i + 1];
      if (words[i] == "a") ASSERT_FALSE(vowel) << "a " << words[i + 1];
    }
  }
  // Each attribute is named about half the time.
  for (int a = 0; a < kAttributes; ++a) {
    EXPECT_GT(named[size_t(a)], captions * 0.4) << attributes()[size_t(a)].name;
    EXPECT_LT(named[size_t(a)], captions * 0.6) << attributes()[size_t(a)].name;
  }
  EXPECT_GT(different.size(), 1000u);
}

TEST(Caption, OneImagesCaptionsVaryInOrderAndWording) {
  const CaptionSpec spec = fashion_spec();
  const std::array<int, kAttributes> bits{0, 1, 1, 0};  // dark, large, wide, plain
  std::set<std::string> seen;
  bool bare = false, adjectives_first = false, noun_first = false, relative = false, both_orders = false;
  bool dark_before_wide = false, wide_before_dark = false;
  for (uint64_t r = 0; r < 400; ++r) {
    const std::string c = write_caption(spec, kPullover, bits, r);
    seen.insert(c);
    bare |= c == "pullover" || c == "a pullover";
    adjectives_first |= c.rfind("a ", 0) == 0 && c.size() > 9 && c.compare(c.size() - 9, 9, " pullover") == 0 &&
                        c.find(" that ") == std::string::npos && c != "a pullover";
    noun_first |= c.rfind("pullover, ", 0) == 0;
    relative |= c.find("a pullover that is ") == 0;
    const size_t dark = c.find("dark"), wide = c.find("wide");
    if (dark != std::string::npos && wide != std::string::npos) (dark < wide ? dark_before_wide : wide_before_dark) = true;
  }
  both_orders = dark_before_wide && wide_before_dark;
  EXPECT_TRUE(bare);
  EXPECT_TRUE(adjectives_first);
  EXPECT_TRUE(noun_first);
  EXPECT_TRUE(relative);
  EXPECT_TRUE(both_orders);
  EXPECT_GT(seen.size(), 20u);
  // A class with two names uses both.
  bool tshirt = false, top = false;
  for (uint64_t r = 0; r < 100; ++r) {
    const auto words = split_words(write_caption(spec, kTop, bits, r));
    tshirt |= contains(words, "t-shirt");
    top |= contains(words, "top");
  }
  EXPECT_TRUE(tshirt && top);
  // "an ankle boot", never "a ankle boot".
  for (uint64_t r = 0; r < 200; ++r) EXPECT_EQ(write_caption(spec, kAnkleBoot, bits, r).find("a ankle"), std::string::npos);
}

TEST(Caption, ReadPromptFindsTheClassAndTheNamedAttributes) {
  const CaptionSpec spec = fashion_spec();
  auto m = read_prompt(spec, "A Dark, WIDE ankle boot!");
  EXPECT_EQ(m.label, kAnkleBoot);
  EXPECT_EQ(m.attributes, (std::array<int, kAttributes>{0, -1, 1, -1}));
  m = read_prompt(spec, "purple patterned t-shirt with sleeves");
  EXPECT_EQ(m.label, kTop);
  EXPECT_EQ(m.attributes, (std::array<int, kAttributes>{-1, -1, -1, 1}));
  m = read_prompt(spec, "");
  EXPECT_EQ(m.label, -1);
  EXPECT_EQ(m.attributes, (std::array<int, kAttributes>{-1, -1, -1, -1}));
  // The first class and the first word of each pair win.
  m = read_prompt(spec, "a small sneaker and a large dress");
  EXPECT_EQ(m.label, kSneaker);
  EXPECT_EQ(m.attributes[kSize], 0);
  // "ankle" alone names nothing; "boot" alone neither.
  EXPECT_EQ(read_prompt(spec, "ankle").label, -1);
  EXPECT_EQ(read_prompt(spec, "boot").label, -1);
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

TEST(Tokenizer, SplitsLowerCaseWordsAtPunctuation) {
  EXPECT_EQ(split_words("A Dark, WIDE pullover!"), (std::vector<std::string>{"a", "dark", "wide", "pullover"}));
  EXPECT_EQ(split_words("T-shirt/top"), (std::vector<std::string>{"t-shirt", "top"}));
  EXPECT_EQ(split_words("don't   stop-"), (std::vector<std::string>{"don't", "stop"}));
  EXPECT_EQ(split_words("-x --- 'y'"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(split_words("caf\xc3\xa9 2nd\tline\n"), (std::vector<std::string>{"caf", "2nd", "line"}));
  EXPECT_TRUE(split_words("").empty());
  EXPECT_TRUE(split_words(" ,.!?- '").empty());
}

TEST(Tokenizer, VocabularyIsSortedAfterPadAndStart) {
  const Vocabulary v({"wide", "dark", "a", "dark"});
  EXPECT_EQ(v.words(), (std::vector<std::string>{"a", "dark", "wide"}));
  EXPECT_EQ(v.size(), 5);
  EXPECT_EQ(Vocabulary::kPad, 0);
  EXPECT_EQ(Vocabulary::kStart, 1);
  EXPECT_EQ(v.id("a"), 2);
  EXPECT_EQ(v.id("dark"), 3);
  EXPECT_EQ(v.id("wide"), 4);
  EXPECT_EQ(v.id("purple"), -1);
  EXPECT_EQ(v.id(""), -1);
  EXPECT_EQ(v.word(0), "<pad>");
  EXPECT_EQ(v.word(1), "<start>");
  EXPECT_EQ(v.word(4), "wide");
  EXPECT_EQ(v.word(5), "<?>");
  EXPECT_EQ(v.word(-1), "<?>");
  EXPECT_THROW(Vocabulary(std::vector<std::string>{}), std::invalid_argument);
  EXPECT_THROW(Vocabulary({"Dark"}), std::invalid_argument);      // not lower case
  EXPECT_THROW(Vocabulary({"ankle boot"}), std::invalid_argument);  // two words
  EXPECT_THROW(Vocabulary({"a", ""}), std::invalid_argument);
  EXPECT_THROW(Vocabulary({"wide!"}), std::invalid_argument);
}

TEST(Tokenizer, EncodesTheStartTokenThenTheKnownWords) {
  const Vocabulary v(fashion_spec().words());
  const Tokens t = v.encode("a dark wide pullover", 16);
  EXPECT_EQ(t.ids, (std::vector<int64_t>{1, v.id("a"), v.id("dark"), v.id("wide"), v.id("pullover")}));
  EXPECT_EQ(t.words, (std::vector<std::string>{"a", "dark", "wide", "pullover"}));
  EXPECT_TRUE(t.unknown.empty());
  EXPECT_EQ(t.cut, 0);
  EXPECT_EQ(t.note(16), "");
  // Case and punctuation do not matter.
  EXPECT_EQ(v.encode("A Dark, WIDE pullover!", 16).ids, t.ids);
  // Two-word classes are two tokens.
  EXPECT_EQ(v.encode("ankle boot", 16).ids, (std::vector<int64_t>{1, v.id("ankle"), v.id("boot")}));
  // The empty prompt (guidance's unconditional branch) is the start token alone.
  const Tokens empty = v.encode("", 16);
  EXPECT_EQ(empty.ids, (std::vector<int64_t>{1}));
  EXPECT_TRUE(empty.unknown.empty());
  EXPECT_EQ(v.encode(" ?! ", 16).ids, (std::vector<int64_t>{1}));
  EXPECT_THROW(v.encode("a", 0), std::invalid_argument);
}

TEST(Tokenizer, ListsUnknownWordsInOrderAndLeavesThemOut) {
  const Vocabulary v(fashion_spec().words());
  const Tokens t = v.encode("a purple dark hat", 16);
  EXPECT_EQ(t.ids, (std::vector<int64_t>{1, v.id("a"), v.id("dark")}));
  EXPECT_EQ(t.words, (std::vector<std::string>{"a", "dark"}));
  EXPECT_EQ(t.unknown, (std::vector<std::string>{"purple", "hat"}));
  EXPECT_EQ(t.note(16), "unknown: purple, hat");
  for (int64_t id : t.ids) EXPECT_GE(id, 1);
}

TEST(Tokenizer, CutsWordsPastTheLengthAndCountsThem) {
  const Vocabulary v(fashion_spec().words());
  const Tokens t = v.encode("a dark wide pullover", 3);
  EXPECT_EQ(t.ids, (std::vector<int64_t>{1, v.id("a"), v.id("dark")}));
  EXPECT_EQ(t.words.size(), 2u);
  EXPECT_EQ(t.cut, 2);
  EXPECT_EQ(t.note(3), "2 words past the 3-token limit cut");
  const Tokens one = v.encode("a dark wide", 3);
  EXPECT_EQ(one.cut, 1);
  EXPECT_EQ(one.note(3), "1 word past the 3-token limit cut");
  // Unknown words are not cut (they take no place), and both are told.
  const Tokens both = v.encode("purple a dark wide hat pullover", 3);
  EXPECT_EQ(both.unknown, (std::vector<std::string>{"purple", "hat"}));
  EXPECT_EQ(both.cut, 2);
  EXPECT_EQ(both.note(3), "unknown: purple, hat; 2 words past the 3-token limit cut");
  // At the limit exactly nothing is cut.
  EXPECT_EQ(v.encode("a dark", 3).cut, 0);
  EXPECT_EQ(v.encode("a dark", 1).ids, (std::vector<int64_t>{1}));
}

TEST(Tokenizer, RequiresAKnownWordOnlyWhenThePromptNamedWords) {
  const Vocabulary v(fashion_spec().words());
  EXPECT_NO_THROW(require_known_words(v.encode("", 16), ""));
  EXPECT_NO_THROW(require_known_words(v.encode("purple sneaker", 16), "purple sneaker"));
  EXPECT_NO_THROW(require_known_words(v.encode("sneaker", 16), "sneaker"));
  const std::string what = error_of([&] { require_known_words(v.encode("Purple hat", 16), "Purple hat"); });
  EXPECT_NE(what.find("'Purple hat'"), std::string::npos) << what;
  EXPECT_NE(what.find("purple, hat"), std::string::npos) << what;
  EXPECT_NE(what.find("vocabulary"), std::string::npos) << what;
  EXPECT_THROW(require_known_words(v.encode("purple hat", 16), "purple hat"), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// The networks

TEST(LdmTextEncoder, GivesOneVectorPerTokenAndPaddingChangesNothing) {
  torch::manual_seed(2);
  TextEncoderConfig c;
  c.words = fashion_spec().words();
  c.width = 16;
  c.layers = 2;
  c.heads = 2;
  c.max_tokens = 8;
  TextEncoder encoder(c);
  encoder->eval();
  torch::NoGradGuard no_grad;
  const Vocabulary& v = encoder->vocabulary();

  auto ids = encoder->batch_ids({"a dark sneaker", "", "a b c dark wide large plain patterned small narrow light"});
  ASSERT_EQ(ids.sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_TRUE(torch::equal(ids[0], longs({1, v.id("a"), v.id("dark"), v.id("sneaker"), 0, 0, 0, 0})));
  EXPECT_TRUE(torch::equal(ids[1], longs({1, 0, 0, 0, 0, 0, 0, 0})));
  EXPECT_EQ(ids[2].ne(0).sum().item<int64_t>(), 8);  // cut at max_tokens ("b" and "c" are unknown)
  EXPECT_EQ(ids[2][1].item<int64_t>(), v.id("a"));
  EXPECT_EQ(ids[2][2].item<int64_t>(), v.id("dark"));

  auto out = encoder->forward(ids);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 8, 16}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());

  // The same prompt padded to 4 or to 8 tokens, or alone: the same vectors at its positions.
  auto short_ids = ids.slice(0, 0, 1).slice(1, 0, 4);
  auto alone = encoder->forward(short_ids);
  EXPECT_TRUE(torch::allclose(alone[0], out[0].slice(0, 0, 4), 1e-5, 1e-5));
  auto six = encoder->forward(ids.slice(0, 0, 1).slice(1, 0, 6));
  EXPECT_TRUE(torch::allclose(six[0].slice(0, 0, 4), out[0].slice(0, 0, 4), 1e-5, 1e-5));
  // The other prompts of the batch do not reach it either.
  auto with_other = encoder->forward(torch::cat({ids.slice(0, 0, 1), ids.slice(0, 2, 3)}));
  EXPECT_TRUE(torch::allclose(with_other[0].slice(0, 0, 4), out[0].slice(0, 0, 4), 1e-5, 1e-5));
  // But the words do: another word at position 2 changes position 1's vector.
  auto other = ids.slice(0, 0, 1).clone();
  other[0][2] = v.id("light");
  EXPECT_GT(max_abs(encoder->forward(other)[0][1] - out[0][1]), 1e-4);

  EXPECT_THROW(encoder->forward(torch::ones({1, 9}, torch::kLong)), c10::Error);  // longer than max_tokens
  c.width = 15;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.width = 16;
  c.max_tokens = 1;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  const TextEncoderConfig back = TextEncoderConfig::from_json(encoder->config().to_json());
  EXPECT_EQ(back.to_json(), encoder->config().to_json());
}

TEST(LdmCrossAttention, WeightsAreRowStochasticAndSkipPadding) {
  torch::manual_seed(3);
  CrossAttention attention(8, 16, 2);
  auto x = torch::randn({2, 8, 3, 3});
  auto context = torch::randn({2, 5, 16});
  auto keep = torch::tensor({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, torch::kLong).view({2, 5}).to(torch::kBool);
  torch::NoGradGuard no_grad;
  torch::Tensor weights;
  auto out = attention->forward(x, context, keep, &weights);
  ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{2, 9, 5}));
  EXPECT_TRUE(torch::allclose(weights.sum(-1), torch::ones({2, 9}), 1e-5, 1e-5));
  EXPECT_EQ(max_abs(weights[0].slice(1, 3, 5)), 0.0);
  EXPECT_GT(weights[1].slice(1, 3, 5).min().item<double>(), 0.0);
  // Untrained, the block passes the image through.
  EXPECT_TRUE(torch::equal(out, x));

  jiggle(*attention, 0.3);
  torch::Tensor weights2;
  auto out2 = attention->forward(x, context, keep, &weights2);
  EXPECT_GT(max_abs(out2 - x), 1e-3);
  // What the padding holds reaches nothing; what a kept token holds does.
  auto changed = context.clone();
  changed[0].slice(0, 3, 5).normal_();
  auto out3 = attention->forward(x, changed, keep);
  EXPECT_TRUE(torch::allclose(out3[0], out2[0], 1e-6, 1e-6));
  changed[0][1].normal_();
  EXPECT_GT(max_abs(attention->forward(x, changed, keep)[0] - out2[0]), 1e-4);
}

TEST(LdmUNet, ShapesAttentionMapsAndAZeroOutputAtFirst) {
  torch::manual_seed(4);
  LatentUNetConfig c;
  c.base = 8;
  c.mid = 16;
  c.heads = 2;
  c.time_dim = 16;
  c.context_width = 16;
  LatentUNet net(c);
  torch::NoGradGuard no_grad;
  auto z = torch::randn({2, 4, 7, 7});
  auto t = torch::tensor({0, 500}, torch::kLong);
  auto context = torch::randn({2, 6, 16});
  auto keep = torch::tensor({1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0}, torch::kLong).view({2, 6}).to(torch::kBool);
  torch::Tensor maps;
  auto eps = net->forward(z, t, context, keep, &maps);
  EXPECT_EQ(eps.sizes(), z.sizes());
  EXPECT_TRUE(torch::equal(eps, torch::zeros_like(z)));  // the output conv starts at zero
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{2, 6, 7, 7}));
  EXPECT_TRUE(torch::allclose(maps.sum(1), torch::ones({2, 7, 7}), 1e-5, 1e-5));
  EXPECT_EQ(max_abs(maps[0].slice(0, 4, 6)), 0.0);
  EXPECT_EQ(max_abs(maps[1].slice(0, 2, 6)), 0.0);
  EXPECT_GE(maps.min().item<double>(), 0.0);
  // Without asking for the maps: the same output.
  jiggle(*net, 0.1);
  torch::Tensor maps2;
  auto with_maps = net->forward(z, t, context, keep, &maps2);
  auto without = net->forward(z, t, context, keep);
  EXPECT_TRUE(torch::allclose(with_maps, without, 1e-6, 1e-6));
  EXPECT_GT(max_abs(without), 1e-3);
  // The text steers it; its padding does not.
  auto changed = context.clone();
  changed[1].slice(0, 2, 6).normal_();
  EXPECT_TRUE(torch::allclose(net->forward(z, t, changed, keep)[1], without[1], 1e-5, 1e-5));
  changed[1][0].normal_();
  EXPECT_GT(max_abs(net->forward(z, t, changed, keep)[1] - without[1]), 1e-4);

  EXPECT_THROW(net->forward(torch::randn({2, 4, 8, 8}), t, context, keep), c10::Error);
  EXPECT_THROW(net->forward(z, t, torch::randn({2, 6, 8}), keep), c10::Error);
  LatentUNetConfig bad = c;
  bad.heads = 3;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = c;
  bad.time_dim = 17;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  EXPECT_EQ(LatentUNetConfig::from_json(c.to_json()).to_json(), c.to_json());
}

TEST(LdmTransformerBlock, CausalOutputIgnoresLaterTokens) {
  torch::manual_seed(5);
  TransformerBlock causal(16, 2, /*causal=*/true), open(16, 2, /*causal=*/false);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 6, 16});
  auto later = x.clone();
  later.slice(1, 4, 6).normal_();
  auto a = causal->forward(x), b = causal->forward(later);
  EXPECT_EQ(a.sizes(), x.sizes());
  EXPECT_TRUE(torch::allclose(a.slice(1, 0, 4), b.slice(1, 0, 4), 1e-6, 1e-6));
  EXPECT_GT(max_abs(a.slice(1, 4, 6) - b.slice(1, 4, 6)), 1e-3);
  // An earlier token reaches the later ones.
  auto earlier = x.clone();
  earlier[0][1].normal_();
  EXPECT_GT(max_abs(causal->forward(earlier)[0][3] - a[0][3]), 1e-4);
  // Without the mask a later token reaches every position.
  EXPECT_GT(max_abs(open->forward(x).slice(1, 0, 4) - open->forward(later).slice(1, 0, 4)), 1e-4);
  EXPECT_THROW(TransformerBlock(16, 3, false), c10::Error);
}

TEST(LdmTransformerBlock, MaskedTokensReachNoOtherPosition) {
  torch::manual_seed(6);
  TransformerBlock block(16, 4, /*causal=*/false);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 6, 16});
  auto keep = torch::tensor({1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1}, torch::kLong).view({2, 6}).to(torch::kBool);
  auto a = block->forward(x, keep);
  auto masked = x.clone();
  masked[0][3].normal_();
  masked[0][5].normal_();
  auto b = block->forward(masked, keep);
  for (int64_t i : {0, 1, 2, 4}) EXPECT_TRUE(torch::allclose(a[0][i], b[0][i], 1e-6, 1e-6)) << "position " << i;
  EXPECT_TRUE(torch::allclose(a[1], b[1], 1e-6, 1e-6));
  // A kept token reaches the others (so the mask, not the block, kept them apart).
  auto kept = x.clone();
  kept[0][2].normal_();
  EXPECT_GT(max_abs(block->forward(kept, keep)[0][0] - a[0][0]), 1e-4);
  // An undefined mask keeps every token.
  EXPECT_TRUE(torch::allclose(block->forward(x), block->forward(x, torch::ones({2, 6}, torch::kBool)), 1e-6, 1e-6));
}

// ---------------------------------------------------------------------------------------------
// The first stage

TEST(LdmAutoencoder, EncodesToAQuarterSizeLatentAndLearnsSquares) {
  torch::manual_seed(7);
  auto data = squares_dataset();
  LatentAeTrainingConfig c;
  c.ae.width = 8;
  c.batch_size = 16;
  c.learning_rate = 3e-3f;
  c.seed = 7;
  LatentAeTrainer trainer(c, data);
  EXPECT_EQ(trainer.config().ae.image_size, 28);
  EXPECT_EQ(trainer.config().ae.latent_size(), 7);
  {
    torch::NoGradGuard no_grad;
    auto x = torch::rand({2, 1, 28, 28});
    auto post = trainer.autoencoder()->encode(x);
    EXPECT_EQ(post.mean.sizes(), (std::vector<int64_t>{2, 4, 7, 7}));
    EXPECT_EQ(post.logvar.sizes(), post.mean.sizes());
    auto y = trainer.autoencoder()->decode(post.mean);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_GE(y.min().item<float>(), 0.f);
    EXPECT_LE(y.max().item<float>(), 1.f);
  }
  const auto before = trainer.test_reconstruction(100);
  std::vector<float> losses;
  for (int i = 0; i < 30; ++i) losses.push_back(trainer.train_once());
  for (float l : losses) ASSERT_TRUE(std::isfinite(l));
  const double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[27] + losses[28] + losses[29]) / 3;
  EXPECT_LT(last, 0.7 * first) << first << " -> " << last;
  EXPECT_EQ(trainer.step(), 30);
  EXPECT_NEAR(trainer.epoch(), 30 * 16 / 400.0, 1e-9);
  const auto after = trainer.test_reconstruction(100);
  for (double v : {after.bce, after.psnr, after.kl}) EXPECT_TRUE(std::isfinite(v));
  EXPECT_GT(after.bce, 0);
  EXPECT_GE(after.kl, 0);
  EXPECT_LT(after.bce, before.bce);
  EXPECT_GT(after.psnr, before.psnr);

  LatentAeTrainingConfig bad = c;
  bad.ae.width = 4;
  EXPECT_THROW(LatentAeTrainer(bad, data), std::invalid_argument);
  auto wide = std::make_shared<Dataset>(*data);
  wide->width = 14;
  EXPECT_THROW(LatentAeTrainer(c, wide), std::invalid_argument);
  EXPECT_EQ(LatentAeTrainingConfig::from_json(c.to_json()).to_json(), c.to_json());
}

// ---------------------------------------------------------------------------------------------
// The ldm trainer

TEST(LdmTrainer, LeavesOutTheImagesThatShowAHeldOutPair) {
  auto data = garments();
  const CaptionSpec fitted = fit_captions(*data);
  int dark_sneakers = 0, sneakers = 0;
  for (int64_t i = 0; i < data->train.count; ++i) {
    if (data->label(Split::Train, i) != 0) continue;
    ++sneakers;
    dark_sneakers += attribute_bits(measure_attributes(data->image(Split::Train, i), 1, 28, 28), fitted.thresholds[0])[kBrightness] == 0;
  }
  ASSERT_GT(dark_sneakers, 0);
  ASSERT_LT(dark_sneakers, sneakers);

  LdmTrainer trainer(tiny_ldm(), tiny_autoencoder(1), data);
  EXPECT_EQ(trainer.held_out_images(), dark_sneakers);
  EXPECT_EQ(trainer.pool_size() + trainer.held_out_images(), data->train.count);
  // The captions were fitted on the data, the held-out pair kept; the vocabulary is theirs.
  const LdmConfig& c = trainer.config();
  EXPECT_EQ(c.captions.thresholds, fitted.thresholds);
  ASSERT_EQ(c.captions.held_out.size(), 1u);
  EXPECT_EQ(c.captions.pair_text(c.captions.held_out[0]), "dark sneaker");
  EXPECT_EQ(c.text.words, fitted.words());
  EXPECT_EQ(c.unet.latent_channels, 4);
  EXPECT_EQ(c.unet.latent_size, 7);
  EXPECT_EQ(c.unet.context_width, 16);
  // A light sneaker's captions never call it dark; every caption is in the vocabulary.
  for (int64_t i = 0; i < data->train.count; ++i)
    for (uint64_t r = 0; r < 8; ++r) {
      const std::string caption = trainer.caption_of(i, r);
      const Tokens t = trainer.vocabulary().encode(caption, 100);
      EXPECT_TRUE(t.unknown.empty()) << caption;
      EXPECT_EQ(read_prompt(c.captions, caption).label, data->label(Split::Train, i)) << caption;
    }

  // Nothing held out: every image trains. Everything held out: a step says so.
  LdmConfig none = tiny_ldm();
  none.captions.held_out.clear();
  EXPECT_EQ(LdmTrainer(none, tiny_autoencoder(1), data).pool_size(), data->train.count);
  LdmConfig all = tiny_ldm();
  all.captions.held_out = {{kSize, false, 0}, {kSize, true, 0}, {kSize, false, 1}, {kSize, true, 1}};
  LdmTrainer empty(all, tiny_autoencoder(1), data);
  EXPECT_EQ(empty.pool_size(), 0);
  EXPECT_THROW(empty.train_once(), std::invalid_argument);
}

// --hold-out-mode captions: every image stays, and a dark sneaker's captions never say "dark"
// (other sneakers' and other dark garments' still do).
TEST(LdmTrainer, HoldingOutOnlyTheCaptionsKeepsTheImagesUnnamed) {
  auto data = garments();
  LdmConfig config = tiny_ldm();
  config.hold_out = "captions";
  LdmTrainer trainer(config, tiny_autoencoder(1), data);
  EXPECT_EQ(trainer.pool_size(), data->train.count);
  EXPECT_GT(trainer.held_out_images(), 0);
  const CaptionSpec& spec = trainer.config().captions;
  int dark_said_elsewhere = 0;
  for (int64_t i = 0; i < data->train.count; ++i) {
    const int label = data->label(Split::Train, i);
    const bool held = shows_held_out(spec, label, attribute_bits(measure_attributes(data->image(Split::Train, i), 1, 28, 28),
                                                                 spec.thresholds_of(label)));
    for (uint64_t r = 0; r < 40; ++r) {
      const auto words = split_words(trainer.caption_of(i, r));
      const bool dark = std::find(words.begin(), words.end(), "dark") != words.end();
      if (held) ASSERT_FALSE(dark) << trainer.caption_of(i, r);
      dark_said_elsewhere += dark;
    }
  }
  EXPECT_GT(dark_said_elsewhere, 0);
  LdmConfig saved = trainer.config();
  EXPECT_EQ(LdmConfig::from_json(saved.to_json()).hold_out, "captions");
  saved.hold_out = "labels";
  EXPECT_THROW(LdmConfig::from_json(saved.to_json()), std::invalid_argument);
}

TEST(LdmTrainer, MeasuresTheScaleFactorAndItsLossFalls) {
  auto data = garments();
  LatentAutoencoder ae = tiny_autoencoder(2);
  {
    // A first stage that has learnt something: an untrained one's posterior is mostly noise, and
    // there would be nothing for the denoiser to learn.
    LatentAeTrainingConfig c;
    c.ae.width = 8;
    c.batch_size = 16;
    c.learning_rate = 3e-3f;
    LatentAeTrainer first_stage(c, data);
    for (int i = 0; i < 60; ++i) first_stage.train_once();
    auto from = first_stage.autoencoder()->parameters(), to = ae->parameters();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  const LatentAutoencoder trained = tiny_autoencoder(2);
  {
    auto from = ae->parameters(), to = trained->parameters();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  LdmTrainer trainer(tiny_ldm(), ae, data);
  EXPECT_EQ(trainer.config().scale_factor, 0.0);
  std::vector<float> losses{trainer.train_once()};
  const double scale = trainer.config().scale_factor;
  ASSERT_GT(scale, 0.0);
  // Latents of the training images drawn from their posteriors, times the scale: unit variance.
  {
    torch::NoGradGuard no_grad;
    std::vector<int64_t> pool;
    const CaptionSpec& spec = trainer.config().captions;
    for (int64_t i = 0; i < data->train.count; ++i) {
      const int label = data->label(Split::Train, i);
      if (!shows_held_out(spec, label, attribute_bits(measure_attributes(data->image(Split::Train, i), 1, 28, 28), spec.thresholds_of(label))))
        pool.push_back(i);
    }
    auto all = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()), {data->train.count, 1, 28, 28}, torch::kUInt8);
    auto x = all.index_select(0, torch::tensor(pool, torch::kLong)).to(torch::kFloat) / 255;
    auto post = ae->encode(x);
    torch::manual_seed(9);
    auto z = (post.mean + (0.5 * post.logvar).exp() * torch::randn(post.mean.sizes())) * scale;
    EXPECT_NEAR(z.std().item<double>(), 1.0, 0.05);
    // encode() is the posterior mean, scaled; decode() undoes the scale.
    EXPECT_TRUE(torch::allclose(trainer.encode(x), post.mean * scale, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(trainer.decode(post.mean * scale), ae->decode(post.mean), 1e-5, 1e-5));
  }
  // eps starts as sqrt(1 - ab_t) z_t, the best linear guess for unit-variance latents, whose MSE
  // is ab_t: the first loss is near the mean of ab over t.
  double mean_ab = 0;
  for (int t = 1; t <= trainer.schedule().T; ++t) mean_ab += trainer.schedule().alpha_bar_at(t) / trainer.schedule().T;
  EXPECT_NEAR(losses[0], mean_ab, 0.15);
  // The EMA denoiser's error on a fixed batch (the same latents, noise and steps each time) falls.
  auto fixed_error = [&] {
    torch::NoGradGuard no_grad;
    auto all = torch::from_blob(const_cast<uint8_t*>(data->train.pixels.data()), {data->train.count, 1, 28, 28}, torch::kUInt8);
    auto z0 = trainer.encode(all.slice(0, 0, 16).to(torch::kFloat) / 255);
    auto gen = at::detail::createCPUGenerator(5);
    auto eps = at::randn(z0.sizes(), gen);
    auto ids = trainer.prompt_ids(std::vector<std::string>(16, ""));
    double error = 0;
    for (int t : {100, 300, 500, 700}) {
      const Denoiser d = trainer.denoiser(ids, ids, 1.0);
      error += (d(forward_jump(trainer.schedule(), z0, t, eps), t) - eps).pow(2).mean().item<double>();
    }
    return error;
  };
  const double before = fixed_error();
  for (int i = 1; i < 100; ++i) losses.push_back(trainer.train_once());
  for (float l : losses) ASSERT_TRUE(std::isfinite(l));
  EXPECT_LT(fixed_error(), 0.9 * before);
  EXPECT_EQ(scale, trainer.config().scale_factor);  // measured once
  // The frozen first stage did not move.
  auto a = ae->parameters(), b = trained->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));

  // A scale factor given is kept.
  LdmConfig given = tiny_ldm();
  given.scale_factor = 0.5;
  LdmTrainer kept(given, tiny_autoencoder(2), data);
  kept.train_once();
  EXPECT_EQ(kept.config().scale_factor, 0.5);
}

TEST(LdmTrainer, GuidanceMixesThePromptAndTheNegativePrompt) {
  LdmTrainer trainer(tiny_ldm(), tiny_autoencoder(3), garments());
  for (int i = 0; i < 3; ++i) trainer.train_once();
  torch::manual_seed(10);
  jiggle(*trainer.ema(), 0.05);
  auto ids = trainer.prompt_ids({"a light dress", "a wide sneaker"});
  auto negative = trainer.prompt_ids({"small", "dark"});
  auto blank = trainer.prompt_ids({"", ""});
  ASSERT_EQ(ids.sizes(), (std::vector<int64_t>{2, 8}));
  auto z = torch::randn({2, 4, 7, 7});
  const int t = 60;
  auto eps_c = eps_of(trainer.ema(), z, t, ids), eps_n = eps_of(trainer.ema(), z, t, negative);
  ASSERT_GT(max_abs(eps_c - eps_n), 1e-3);  // the prompts matter, so the mixes below can be told apart

  EXPECT_TRUE(torch::allclose(trainer.denoiser(ids, negative, 1.0)(z, t), eps_c, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(trainer.denoiser(ids, negative, 0.0)(z, t), eps_n, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(trainer.denoiser(ids, negative, 3.0)(z, t), eps_n + 3 * (eps_c - eps_n), 1e-4, 1e-4));
  auto eps_blank = eps_of(trainer.ema(), z, t, blank);
  EXPECT_TRUE(torch::allclose(trainer.denoiser(ids, blank, 2.0)(z, t), eps_blank + 2 * (eps_c - eps_blank), 1e-4, 1e-4));
  // With the attention maps asked for: the same numbers, and the prompt's maps over its own tokens.
  auto maps = std::make_shared<torch::Tensor>();
  EXPECT_TRUE(torch::allclose(trainer.denoiser(ids, negative, 1.0, maps)(z, t), eps_c, 1e-5, 1e-5));
  ASSERT_TRUE(maps->defined());
  ASSERT_EQ(maps->sizes(), (std::vector<int64_t>{2, 8, 7, 7}));
  EXPECT_TRUE(torch::allclose(maps->sum(1), torch::ones({2, 7, 7}), 1e-5, 1e-5));
  EXPECT_EQ(max_abs(maps->slice(1, 4, 8)), 0.0);  // "a light dress" is 4 tokens with the start

  // Samples for the measures: in [0, 1], labelled with each prompt's class.
  Samples s = ldm_samples(trainer, {"a light dress", "sneaker", "something"}, "ddim", 3, 2.0, "dark")(4, 1, {});
  EXPECT_EQ(s.images.sizes(), (std::vector<int64_t>{4, 1, 28, 28}));
  EXPECT_GE(s.images.min().item<float>(), 0.f);
  EXPECT_LE(s.images.max().item<float>(), 1.f);
  EXPECT_TRUE(torch::equal(s.labels, torch::tensor({1, 0, -1, 1}, torch::kLong)));
  Samples again = ldm_samples(trainer, {"a light dress", "sneaker", "something"}, "ddim", 3, 2.0, "dark")(4, 1, {});
  EXPECT_TRUE(torch::equal(s.images, again.images));
}

TEST(LdmTrainer, ResumesExactlyFromItsCheckpoint) {
  auto data = garments();
  const std::string path = temp_path("resume.safetensors");
  LdmTrainer a(tiny_ldm(), tiny_autoencoder(4), data);
  for (int i = 0; i < 3; ++i) a.train_once();
  a.save(path);
  auto z = torch::randn({2, 4, 7, 7});
  auto ids = a.prompt_ids({"a light dress", "dark"}), blank = a.prompt_ids({"", ""});
  auto eps_a = a.denoiser(ids, blank, 3.0)(z, 40);

  // Opened for sampling, without its data: the same denoiser, the saved scale and first stage.
  auto opened = open_ldm(path);
  EXPECT_EQ(opened->step(), 3);
  EXPECT_EQ(opened->config().scale_factor, a.config().scale_factor);
  EXPECT_TRUE(torch::equal(opened->denoiser(ids, blank, 3.0)(z, 40), eps_a));
  EXPECT_TRUE(torch::equal(opened->decode(z), a.decode(z)));

  // Another first stage to start with: the checkpoint brings its own back.
  LdmTrainer b(tiny_ldm(), tiny_autoencoder(99), data);
  b.resume(path);
  EXPECT_EQ(b.step(), 3);
  EXPECT_TRUE(torch::equal(b.denoiser(ids, blank, 3.0)(z, 40), eps_a));
  // The next step is the same step.
  EXPECT_EQ(a.train_once(), b.train_once());
  EXPECT_EQ(a.config().scale_factor, b.config().scale_factor);
  EXPECT_TRUE(torch::equal(a.denoiser(ids, blank, 3.0)(z, 40), b.denoiser(ids, blank, 3.0)(z, 40)));
  EXPECT_TRUE(torch::equal(a.decode(z), b.decode(z)));

  // The saved config: the fitted captions with their held-out pair, the scale, the vocabulary.
  const LdmConfig saved = read_ldm_config(path);
  EXPECT_EQ(saved.captions.thresholds, a.config().captions.thresholds);
  ASSERT_EQ(saved.captions.held_out.size(), 1u);
  EXPECT_EQ(saved.captions.pair_text(saved.captions.held_out[0]), "dark sneaker");
  EXPECT_EQ(saved.scale_factor, a.config().scale_factor);
  EXPECT_EQ(saved.text.words, a.config().text.words);
  EXPECT_EQ(saved.to_json(), a.config().to_json());

  // A model of another shape refuses the file.
  LdmConfig other = tiny_ldm();
  other.unet.base = 16;
  LdmTrainer c(other, tiny_autoencoder(4), data);
  const std::string what = error_of([&] { c.resume(path); });
  EXPECT_NE(what.find(path), std::string::npos) << what;
  remove_checkpoint(path);
}

TEST(LdmTrainer, RefusesAnotherModelsFilesAndAMismatchedAutoencoder) {
  const std::string ae_path = temp_path("first.safetensors"), ldm_path = temp_path("second.safetensors");
  LatentAeTrainingConfig ac;
  ac.ae.width = 8;
  ac.batch_size = 8;
  LatentAeTrainer first(ac, squares_dataset());
  first.train_once();
  first.save(ae_path);
  LdmTrainer second(tiny_ldm(), load_latent_autoencoder(ae_path), garments());
  second.train_once();
  second.save(ldm_path);

  // Each reader names the file and what it holds.
  std::string what = error_of([&] { read_ldm_config(ae_path); });
  EXPECT_NE(what.find(ae_path), std::string::npos) << what;
  EXPECT_NE(what.find("'klae'"), std::string::npos) << what;
  EXPECT_THROW(read_ldm_config(ae_path), CheckpointError);
  what = error_of([&] { read_latent_ae_config(ldm_path); });
  EXPECT_NE(what.find(ldm_path), std::string::npos) << what;
  EXPECT_NE(what.find("'ldm'"), std::string::npos) << what;
  EXPECT_THROW(read_latent_ae_config(ldm_path), CheckpointError);
  EXPECT_EQ(read_latent_ae_config(ae_path).ae.to_json(), first.config().ae.to_json());
  EXPECT_THROW(read_ldm_config(temp_path("missing.safetensors")), CheckpointError);
  // The loaded first stage is the saved one.
  {
    torch::NoGradGuard no_grad;
    auto x = torch::rand({1, 1, 28, 28});
    EXPECT_TRUE(torch::allclose(load_latent_autoencoder(ae_path)->decode(first.autoencoder()->encode(x).mean),
                                first.autoencoder()->decode(first.autoencoder()->encode(x).mean)));
  }

  const LdmConfig& ldm = second.config();
  EXPECT_NO_THROW(check_autoencoder_matches(ldm, ldm_path, first.config().ae, ae_path));
  LatentAeConfig other = first.config().ae;
  other.latent_channels = 3;
  what = error_of([&] { check_autoencoder_matches(ldm, ldm_path, other, ae_path); });
  EXPECT_NE(what.find(ae_path), std::string::npos) << what;
  EXPECT_NE(what.find(ldm_path), std::string::npos) << what;
  EXPECT_NE(what.find("3 x 7 x 7"), std::string::npos) << what;
  EXPECT_NE(what.find("4 x 7 x 7"), std::string::npos) << what;
  EXPECT_THROW(check_autoencoder_matches(ldm, ldm_path, other, ae_path), CheckpointError);
  other = first.config().ae;
  other.image_size = 32;
  EXPECT_THROW(check_autoencoder_matches(ldm, ldm_path, other, ae_path), CheckpointError);
  other = first.config().ae;
  other.channels = 3;
  EXPECT_THROW(check_autoencoder_matches(ldm, ldm_path, other, ae_path), CheckpointError);
  other = first.config().ae;
  other.width = 16;  // another width gives the same latent
  EXPECT_NO_THROW(check_autoencoder_matches(ldm, ldm_path, other, ae_path));

  // A first stage of other images is refused when the trainer is built.
  auto rgb = std::make_shared<Dataset>(*garments(4, 0));
  rgb->channels = 3;
  rgb->train.pixels.resize(rgb->train.pixels.size() * 3);
  EXPECT_THROW(LdmTrainer(tiny_ldm(), tiny_autoencoder(1), rgb), std::invalid_argument);

  // The config checks that the pieces fit each other.
  auto j = nlohmann::json::parse(ldm.to_json());
  EXPECT_EQ(LdmConfig::from_json(j.dump()).to_json(), ldm.to_json());
  auto bad = j;
  bad["unet"]["latent_channels"] = 3;
  EXPECT_THROW(LdmConfig::from_json(bad.dump()), std::invalid_argument);
  bad = j;
  bad["unet"]["context_width"] = 32;
  EXPECT_THROW(LdmConfig::from_json(bad.dump()), std::invalid_argument);
  bad = j;
  bad["T"] = 0;
  EXPECT_THROW(LdmConfig::from_json(bad.dump()), std::invalid_argument);
  bad = j;
  bad.erase("captions");
  EXPECT_THROW(LdmConfig::from_json(bad.dump()), std::invalid_argument);
  remove_checkpoint(ae_path);
  remove_checkpoint(ldm_path);
}
