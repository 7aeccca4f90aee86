#include "core/diffusion/captions.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "core/diffusion/tokenizer.h"

namespace genlab {

const std::array<Attribute, kAttributes>& attributes() {
  static const std::array<Attribute, kAttributes> table = {{
      {"brightness", "dark", "light", "mean value of the lit pixels"},
      {"size", "small", "large", "share of the image that is lit"},
      {"shape", "narrow", "wide", "width / height of the lit bounding box"},
      {"texture", "plain", "patterned", "mean |x - 3x3 blur| over the lit pixels"},
  }};
  return table;
}

namespace {

const std::vector<std::string> kFillers = {"a", "an", "and", "is", "one", "that"};

// A small deterministic stream (splitmix64) for the caption's choices.
struct Choices {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int below(int n) { return int(next() % uint64_t(n)); }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + ptrdiff_t(mid), v.end());
  return v[mid];
}

}  // namespace

AttributeValues measure_attributes(const uint8_t* pixels, int channels, int height, int width) {
  std::vector<double> gray(size_t(height) * width, 0.0);
  for (int c = 0; c < channels; ++c)
    for (size_t i = 0; i < gray.size(); ++i) gray[i] += pixels[size_t(c) * gray.size() + i] / (255.0 * channels);
  double lit = 0, sum = 0, texture = 0;
  int top = height, bottom = -1, left = width, right = -1;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double v = gray[size_t(y) * width + x];
      if (v <= 0.2) continue;
      lit += 1;
      sum += v;
      top = std::min(top, y), bottom = std::max(bottom, y), left = std::min(left, x), right = std::max(right, x);
      double blur = 0;
      int n = 0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
          blur += gray[size_t(yy) * width + xx];
          ++n;
        }
      texture += std::abs(v - blur / n);
    }
  if (lit == 0) return {0, 0, 0, 0};
  return {sum / lit, lit / (double(height) * width), double(right - left + 1) / double(bottom - top + 1), texture / lit};
}

std::array<int, kAttributes> attribute_bits(const AttributeValues& values, const AttributeValues& thresholds) {
  std::array<int, kAttributes> bits{};
  for (int a = 0; a < kAttributes; ++a) bits[size_t(a)] = values[size_t(a)] > thresholds[size_t(a)] ? 1 : 0;
  return bits;
}

std::vector<std::string> class_words(const std::string& class_name) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= class_name.size()) {
    size_t slash = class_name.find('/', start);
    if (slash == std::string::npos) slash = class_name.size();
    std::string joined;
    for (const std::string& w : split_words(class_name.substr(start, slash - start))) joined += (joined.empty() ? "" : " ") + w;
    if (!joined.empty()) out.push_back(joined);
    start = slash + 1;
  }
  return out;
}

const AttributeValues& CaptionSpec::thresholds_of(int label) const {
  if (thresholds.empty()) throw std::logic_error("caption spec without thresholds");
  return label >= 0 && size_t(label) < thresholds.size() ? thresholds[size_t(label)] : thresholds[0];
}

std::string CaptionSpec::pair_text(const HeldOutPair& p) const {
  const Attribute& a = attributes()[size_t(p.attribute)];
  auto names = class_words(class_names[size_t(p.label)]);
  return std::string(p.high ? a.high : a.low) + " " + (names.empty() ? class_names[size_t(p.label)] : names[0]);
}

std::vector<std::string> CaptionSpec::words() const {
  std::set<std::string> all(kFillers.begin(), kFillers.end());
  for (const Attribute& a : attributes()) all.insert(a.low), all.insert(a.high);
  for (const std::string& name : class_names)
    for (const std::string& form : class_words(name))
      for (const std::string& w : split_words(form)) all.insert(w);
  return {all.begin(), all.end()};
}

std::string CaptionSpec::to_json() const {
  nlohmann::json held = nlohmann::json::array();
  for (const HeldOutPair& p : held_out) held.push_back({p.attribute, p.high, p.label});
  return nlohmann::json{{"class_names", class_names}, {"thresholds", thresholds}, {"held_out", held}}.dump();
}

CaptionSpec CaptionSpec::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("caption spec is not a JSON object");
  CaptionSpec s;
  try {
    s.class_names = j.at("class_names").get<std::vector<std::string>>();
    s.thresholds = j.at("thresholds").get<std::vector<AttributeValues>>();
    for (const auto& p : j.at("held_out")) s.held_out.push_back({p.at(0).get<int>(), p.at(1).get<bool>(), p.at(2).get<int>()});
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("caption spec: ") + e.what());
  }
  const size_t rows = std::max<size_t>(1, s.class_names.size());
  if (s.thresholds.size() != rows)
    throw std::invalid_argument("caption spec: " + std::to_string(s.thresholds.size()) + " threshold rows for " +
                                std::to_string(rows) + " classes");
  for (const HeldOutPair& p : s.held_out)
    if (p.attribute < 0 || p.attribute >= kAttributes || p.label < 0 || size_t(p.label) >= s.class_names.size())
      throw std::invalid_argument("caption spec: a held-out pair names no attribute or class");
  return s;
}

CaptionSpec fit_captions(const Dataset& data) {
  CaptionSpec spec;
  spec.class_names = data.class_names;
  const size_t rows = std::max<size_t>(1, data.class_names.size());
  std::vector<std::array<std::vector<double>, kAttributes>> values(rows);
  for (int64_t i = 0; i < data.train.count; ++i) {
    const int label = data.class_names.empty() ? 0 : data.label(Split::Train, i);
    if (label < 0 || size_t(label) >= rows) continue;  // unlabelled images do not set class thresholds
    const AttributeValues v = measure_attributes(data.image(Split::Train, i), data.channels, data.height, data.width);
    for (int a = 0; a < kAttributes; ++a) values[size_t(label)][size_t(a)].push_back(v[size_t(a)]);
  }
  for (const auto& row : values) {
    AttributeValues t{};
    for (int a = 0; a < kAttributes; ++a) t[size_t(a)] = median(row[size_t(a)]);
    spec.thresholds.push_back(t);
  }
  return spec;
}

namespace {

// The (first) class whose word sequence starts at words[i], with its length in words.
std::pair<int, size_t> class_at(const CaptionSpec& spec, const std::vector<std::string>& words, size_t i) {
  std::pair<int, size_t> best{-1, 0};
  for (size_t c = 0; c < spec.class_names.size(); ++c)
    for (const std::string& form : class_words(spec.class_names[c])) {
      auto parts = split_words(form);
      if (parts.size() <= best.second || i + parts.size() > words.size()) continue;
      if (std::equal(parts.begin(), parts.end(), words.begin() + ptrdiff_t(i))) best = {int(c), parts.size()};
    }
  return best;
}

// The attribute a word names and its value (1: the high word), or {-1, 0}.
std::pair<int, int> attribute_word(const std::string& w) {
  for (int a = 0; a < kAttributes; ++a) {
    if (w == attributes()[size_t(a)].low) return {a, 0};
    if (w == attributes()[size_t(a)].high) return {a, 1};
  }
  return {-1, 0};
}

}  // namespace

std::vector<HeldOutPair> parse_held_out(const std::string& text, const CaptionSpec& spec) {
  std::vector<HeldOutPair> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    start = comma + 1;
    auto words = split_words(part);
    if (words.empty()) continue;
    const auto [attribute, high] = attribute_word(words[0]);
    const auto [label, length] = words.size() > 1 ? class_at(spec, words, 1) : std::pair<int, size_t>{-1, 0};
    if (attribute < 0 || label < 0 || 1 + length != words.size()) {
      std::string shown;
      for (const std::string& w : words) shown += (shown.empty() ? "" : " ") + w;
      throw std::invalid_argument("held-out pair '" + shown + "' is not an attribute word and a class (e.g. 'dark sneaker')");
    }
    out.push_back({attribute, high == 1, label});
  }
  return out;
}

bool shows_held_out(const CaptionSpec& spec, int label, const std::array<int, kAttributes>& bits) {
  for (const HeldOutPair& p : spec.held_out)
    if (p.label == label && bits[size_t(p.attribute)] == (p.high ? 1 : 0)) return true;
  return false;
}

std::array<bool, kAttributes> held_out_attributes(const CaptionSpec& spec, int label, const std::array<int, kAttributes>& bits) {
  std::array<bool, kAttributes> out{};
  for (const HeldOutPair& p : spec.held_out)
    if (p.label == label && bits[size_t(p.attribute)] == (p.high ? 1 : 0)) out[size_t(p.attribute)] = true;
  return out;
}

std::string write_caption(const CaptionSpec& spec, int label, const std::array<int, kAttributes>& bits,
                          uint64_t random, const std::array<bool, kAttributes>& unnamed) {
  Choices pick{random};
  std::vector<std::string> adjectives;
  for (int a = 0; a < kAttributes; ++a)
    if (pick.below(2) && !unnamed[size_t(a)]) adjectives.push_back(bits[size_t(a)] ? attributes()[size_t(a)].high : attributes()[size_t(a)].low);
  for (size_t i = adjectives.size(); i > 1; --i) std::swap(adjectives[i - 1], adjectives[size_t(pick.below(int(i)))]);
  std::string noun = "one";
  if (label >= 0 && size_t(label) < spec.class_names.size()) {
    auto forms = class_words(spec.class_names[size_t(label)]);
    if (!forms.empty()) noun = forms[size_t(pick.below(int(forms.size())))];
  }
  auto listed = [&](const char* last_join) {  // "dark, wide and plain"
    std::string s;
    for (size_t i = 0; i < adjectives.size(); ++i)
      s += (i == 0 ? "" : i + 1 == adjectives.size() ? last_join : ", ") + adjectives[i];
    return s;
  };
  auto article = [](const std::string& next) {
    return next != "one" && std::string("aeiou").find(next[0]) != std::string::npos ? "an " : "a ";
  };
  if (adjectives.empty()) return pick.below(2) ? article(noun) + noun : noun;
  switch (pick.below(3)) {
    case 0: {
      std::string s;
      for (const std::string& a : adjectives) s += a + " ";
      return article(s) + s + noun;
    }
    case 1:
      return noun + ", " + listed(" and ");
    default:
      return article(noun) + noun + " that is " + listed(" and ");
  }
}

PromptMeaning read_prompt(const CaptionSpec& spec, const std::string& prompt) {
  PromptMeaning request;
  auto words = split_words(prompt);
  for (size_t i = 0; i < words.size();) {
    const auto [label, length] = class_at(spec, words, i);
    if (label >= 0) {
      if (request.label < 0) request.label = label;
      i += length;
      continue;
    }
    const auto [attribute, high] = attribute_word(words[i]);
    if (attribute >= 0 && request.attributes[size_t(attribute)] < 0) request.attributes[size_t(attribute)] = high;
    ++i;
  }
  return request;
}

}  // namespace genlab
