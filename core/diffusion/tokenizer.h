// The word-level tokenizer of the text-to-image model: lower-cased words (letters, digits, '-' and
// '\'' inside a word; any other character separates words) looked up in the caption vocabulary.
// Id 0 pads, id 1 starts every prompt (so the empty prompt, the unconditional branch of guidance,
// is the start token alone), words are 2... Unknown words are reported, not silently dropped; words
// past the encoder's length are cut and counted. Torch-free: it reads untrusted text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genlab {

std::vector<std::string> split_words(const std::string& text);

struct Tokens {
  std::vector<int64_t> ids;         // the start token, then the known words that fit
  std::vector<std::string> words;   // those words (ids[1..])
  std::vector<std::string> unknown; // words not in the vocabulary, in order
  int cut = 0;                      // known words past the length limit

  // "unknown: purple, hat; 3 words past the 16-token limit cut" ("" when nothing to say).
  std::string note(int max_tokens) const;
};

class Vocabulary {
 public:
  static constexpr int64_t kPad = 0, kStart = 1;

  // Throws std::invalid_argument for an empty list or a word the tokenizer could not produce.
  explicit Vocabulary(std::vector<std::string> words);
  int64_t size() const { return int64_t(words_.size()) + 2; }  // with the pad and start ids
  const std::vector<std::string>& words() const { return words_; }
  int64_t id(const std::string& word) const;  // -1 when unknown
  std::string word(int64_t id) const;         // "<pad>", "<start>", or the word

  // At most `max_tokens` ids (>= 1), the start token included.
  Tokens encode(const std::string& text, int max_tokens) const;

 private:
  std::vector<std::string> words_;  // sorted
};

// Throws std::invalid_argument "prompt 'purple hat': no word of it is in the vocabulary (...)" when
// the text named words and none of them is known (the empty prompt is fine: it is unconditional).
void require_known_words(const Tokens& tokens, const std::string& text);

}  // namespace genlab
