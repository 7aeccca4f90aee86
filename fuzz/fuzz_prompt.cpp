// The prompt tokenizer and the caption readers on arbitrary text (a prompt typed into the app or
// passed to genlab-cli sample --prompt, a --hold-out list): words come out lower-case and whole,
// every word is either encoded, cut or reported unknown, the held-out parser either names the part
// it refuses or gives pairs that read back the same, and read_prompt names only real classes.
#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/diffusion/captions.h"
#include "core/diffusion/tokenizer.h"
#include "fuzz/fuzz_check.h"

namespace {

const genlab::CaptionSpec& fashion() {
  static const genlab::CaptionSpec spec = [] {
    genlab::CaptionSpec s;
    s.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    s.thresholds.assign(s.class_names.size(), genlab::AttributeValues{0.5, 0.2, 1.0, 0.1});
    return s;
  }();
  return spec;
}

void check_words(const std::vector<std::string>& words) {
  for (const std::string& w : words) {
    if (w.empty()) genlab::fuzz::broken("an empty word");
    if (!std::isalnum(static_cast<unsigned char>(w.front())) || w.back() == '-' || w.back() == '\'')
      genlab::fuzz::broken("word '" + w + "' does not start and end with a letter or digit");
    for (unsigned char c : w)
      if (!(std::isdigit(c) || std::islower(c) || c == '-' || c == '\''))
        genlab::fuzz::broken("word '" + w + "' holds a character a word cannot");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const genlab::CaptionSpec& spec = fashion();
  static const genlab::Vocabulary vocabulary(spec.words());

  const std::vector<std::string> words = genlab::split_words(text);
  check_words(words);
  constexpr int kMax = 8;
  const genlab::Tokens tokens = vocabulary.encode(text, kMax);
  if (tokens.ids.empty() || tokens.ids[0] != genlab::Vocabulary::kStart || int(tokens.ids.size()) > kMax)
    genlab::fuzz::broken("ids do not start with the start token or pass the limit");
  if (tokens.words.size() + 1 != tokens.ids.size()) genlab::fuzz::broken("ids and words differ in number");
  for (size_t i = 1; i < tokens.ids.size(); ++i)
    if (tokens.ids[i] < 2 || vocabulary.word(tokens.ids[i]) != tokens.words[i - 1]) genlab::fuzz::broken("an id is not its word");
  if (tokens.words.size() + tokens.unknown.size() + size_t(tokens.cut) != words.size())
    genlab::fuzz::broken("a word was neither encoded, cut nor reported");
  for (const std::string& w : tokens.unknown)
    if (vocabulary.id(w) >= 0) genlab::fuzz::broken("known word '" + w + "' reported unknown");
  bool refused = false;
  try {
    genlab::require_known_words(tokens, text);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  if (refused != (tokens.words.empty() && !tokens.unknown.empty()))
    genlab::fuzz::broken("require_known_words refused a prompt with a known word, or let one without pass");

  const auto meaning = genlab::read_prompt(spec, text);
  if (meaning.label < -1 || meaning.label >= int(spec.class_names.size())) genlab::fuzz::broken("read_prompt names no class");
  for (int a : meaning.attributes)
    if (a < -1 || a > 1) genlab::fuzz::broken("read_prompt gives an attribute value out of range");

  std::vector<genlab::HeldOutPair> pairs;
  try {
    pairs = genlab::parse_held_out(text, spec);
  } catch (const std::invalid_argument& error) {
    if (std::string(error.what()).rfind("held-out pair '", 0) != 0)
      genlab::fuzz::broken(std::string("the held-out parser's error names no part: ") + error.what());
    return 0;
  }
  std::string again;
  for (const genlab::HeldOutPair& p : pairs) {
    if (p.attribute < 0 || p.attribute >= genlab::kAttributes || p.label < 0 || p.label >= int(spec.class_names.size()))
      genlab::fuzz::broken("a held-out pair names no attribute or class");
    again += (again.empty() ? "" : ", ") + spec.pair_text(p);
  }
  const std::vector<genlab::HeldOutPair> back = genlab::parse_held_out(again, spec);
  if (back.size() != pairs.size()) genlab::fuzz::broken("held-out pairs change when written and read again");
  for (size_t i = 0; i < back.size(); ++i)
    if (back[i].attribute != pairs[i].attribute || back[i].high != pairs[i].high || back[i].label != pairs[i].label)
      genlab::fuzz::broken("held-out pairs change when written and read again");
  return 0;
}
