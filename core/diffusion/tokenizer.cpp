#include "core/diffusion/tokenizer.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace genlab {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    // '-' and '\'' join letters ("t-shirt"), they do not make a word of their own.
    while (!word.empty() && (word.back() == '-' || word.back() == '\'')) word.pop_back();
    if (!word.empty()) out.push_back(word);
    word.clear();
  };
  for (unsigned char ch : text) {
    if (std::isalnum(ch)) word.push_back(char(std::tolower(ch)));
    else if ((ch == '-' || ch == '\'') && !word.empty()) word.push_back(char(ch));
    else flush();
  }
  flush();
  return out;
}

std::string Tokens::note(int max_tokens) const {
  std::string out;
  if (!unknown.empty()) {
    out = "unknown: ";
    for (size_t i = 0; i < unknown.size(); ++i) out += (i ? ", " : "") + unknown[i];
  }
  if (cut > 0)
    out += (out.empty() ? "" : "; ") + std::to_string(cut) + (cut == 1 ? " word" : " words") + " past the " +
           std::to_string(max_tokens) + "-token limit cut";
  return out;
}

Vocabulary::Vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
  if (words_.empty()) throw std::invalid_argument("the vocabulary is empty");
  std::sort(words_.begin(), words_.end());
  words_.erase(std::unique(words_.begin(), words_.end()), words_.end());
  for (const std::string& w : words_) {
    auto split = split_words(w);
    if (split.size() != 1 || split[0] != w) throw std::invalid_argument("vocabulary word '" + w + "' is not one lower-case word");
  }
}

int64_t Vocabulary::id(const std::string& word) const {
  auto it = std::lower_bound(words_.begin(), words_.end(), word);
  return it != words_.end() && *it == word ? int64_t(it - words_.begin()) + 2 : -1;
}

std::string Vocabulary::word(int64_t id) const {
  if (id == kPad) return "<pad>";
  if (id == kStart) return "<start>";
  return id >= 2 && id < size() ? words_[size_t(id - 2)] : "<?>";
}

Tokens Vocabulary::encode(const std::string& text, int max_tokens) const {
  if (max_tokens < 1) throw std::invalid_argument("max tokens " + std::to_string(max_tokens) + " is below 1");
  Tokens out;
  out.ids.push_back(kStart);
  for (const std::string& w : split_words(text)) {
    const int64_t i = id(w);
    if (i < 0) out.unknown.push_back(w);
    else if (int(out.ids.size()) < max_tokens) out.ids.push_back(i), out.words.push_back(w);
    else ++out.cut;
  }
  return out;
}

void require_known_words(const Tokens& tokens, const std::string& text) {
  if (tokens.words.empty() && !tokens.unknown.empty()) {
    std::string shown = text;  // one line, whatever the prompt held
    for (char& ch : shown)
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    throw std::invalid_argument("prompt '" + shown + "': no word of it is in the vocabulary (" + tokens.note(0) + ")");
  }
}

}  // namespace genlab
