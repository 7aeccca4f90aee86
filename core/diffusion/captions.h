// Captions from the images themselves, for text-to-image training: each image's class and four
// attributes measured on its pixels (in the spirit of Morpho-MNIST's morphometrics), each split at
// its class's median on the training set into a word pair — dark/light, small/large, narrow/wide,
// plain/patterned. The same measures judge a generated image against its prompt (prompt adherence).
// Torch-free: plain functions over bytes, tested and shown in the app with their thresholds.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace genlab {

constexpr int kAttributes = 4;

struct Attribute {
  const char* name;     // "brightness"
  const char* low;      // the word below the threshold: "dark"
  const char* high;     // and above it: "light"
  const char* measure;  // what is measured, for the app
};
const std::array<Attribute, kAttributes>& attributes();

using AttributeValues = std::array<double, kAttributes>;

// The lit pixels are those above 20 % of full scale (the mean over channels).
// brightness: mean value of the lit pixels (0..1); size: the lit share of the image (0..1);
// shape: width / height of the lit pixels' bounding box; texture: mean |x - its 3x3 box blur| over
// the lit pixels (high-frequency energy, 0..1). An image with no lit pixel measures 0 on each.
AttributeValues measure_attributes(const uint8_t* pixels, int channels, int height, int width);

// A pair no training caption may show: `attribute`'s `high` word (or low) with class `label`.
struct HeldOutPair {
  int attribute = 0;
  bool high = false;
  int label = 0;
};

// What captions are written from: the class names, the thresholds (one row per class; one row for
// data without classes) and the held-out pairs.
struct CaptionSpec {
  std::vector<std::string> class_names;
  std::vector<AttributeValues> thresholds;
  std::vector<HeldOutPair> held_out;

  std::string to_json() const;
  static CaptionSpec from_json(const std::string& text);  // throws std::invalid_argument
  // Row of `label` (-1, or data without classes: row 0).
  const AttributeValues& thresholds_of(int label) const;
  // "dark sneaker"
  std::string pair_text(const HeldOutPair& pair) const;
  // Every word a caption can hold (class words, attribute words, the fillers), sorted, no repeats.
  std::vector<std::string> words() const;
};

// 1 where the value is above the threshold (the `high` word), else 0.
std::array<int, kAttributes> attribute_bits(const AttributeValues& values, const AttributeValues& thresholds);

// The thresholds: each class's median of each measure over `data`'s training images.
CaptionSpec fit_captions(const Dataset& data);

// The words a class name is written with: "T-shirt/top" -> {"t-shirt", "top"}, "Ankle boot" ->
// {"ankle boot"} (lower case; '/' separates alternatives).
std::vector<std::string> class_words(const std::string& class_name);

// Parses "dark sneaker, wide dress" (a comma-separated list of attribute word + class word) into
// pairs; throws std::invalid_argument naming the part that is not one.
std::vector<HeldOutPair> parse_held_out(const std::string& text, const CaptionSpec& spec);

// Whether an image of class `label` with these attribute bits shows a held-out pair.
bool shows_held_out(const CaptionSpec& spec, int label, const std::array<int, kAttributes>& bits);

// One caption of an image: its class word and each attribute word with probability 1/2, in a random
// order and one of several wordings ("a dark wide pullover", "pullover, wide and dark", "a pullover
// that is dark"). `random` drives every choice, so the caption of a (seed, image, step) is fixed.
// Attributes marked in `unnamed` are never written (a held-out pair kept out of the captions only).
std::string write_caption(const CaptionSpec& spec, int label, const std::array<int, kAttributes>& bits,
                          uint64_t random, const std::array<bool, kAttributes>& unnamed = {});

// The attributes of an image of class `label` that belong to a held-out pair it shows.
std::array<bool, kAttributes> held_out_attributes(const CaptionSpec& spec, int label, const std::array<int, kAttributes>& bits);

// What a prompt asks for, read with the caption words: its class (-1: none named) and each
// attribute (-1: not named, 0: the low word, 1: the high word). Words it does not know are ignored.
struct PromptMeaning {
  int label = -1;
  std::array<int, kAttributes> attributes{-1, -1, -1, -1};
};
PromptMeaning read_prompt(const CaptionSpec& spec, const std::string& prompt);

}  // namespace genlab
