#include "core/diffusion/text_encoder.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/train/transformer_block.h"

namespace genlab {

namespace nn = torch::nn;

std::string TextEncoderConfig::to_json() const {
  return nlohmann::json{{"words", words}, {"max_tokens", max_tokens}, {"width", width}, {"layers", layers}, {"heads", heads}}
      .dump();
}

TextEncoderConfig TextEncoderConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("text encoder config is not a JSON object");
  TextEncoderConfig c;
  try {
    c.words = j.at("words").get<std::vector<std::string>>();
    c.max_tokens = j.at("max_tokens").get<int>();
    c.width = j.at("width").get<int>();
    c.layers = j.at("layers").get<int>();
    c.heads = j.at("heads").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("text encoder config: ") + e.what());
  }
  c.validate();
  return c;
}

void TextEncoderConfig::validate() const {
  Vocabulary check(words);  // throws for an empty vocabulary or a word the tokenizer cannot produce
  if (max_tokens < 2 || max_tokens > 256)
    throw std::invalid_argument("max tokens " + std::to_string(max_tokens) + " is not in 2..256");
  if (width < 8 || width > 1024) throw std::invalid_argument("text width " + std::to_string(width) + " is not in 8..1024");
  if (layers < 0 || layers > 12) throw std::invalid_argument("text layers " + std::to_string(layers) + " is not in 0..12");
  if (heads < 1 || width % heads)
    throw std::invalid_argument("text heads " + std::to_string(heads) + " does not divide width " + std::to_string(width));
}

TextEncoderImpl::TextEncoderImpl(const TextEncoderConfig& config) : config_(config), vocabulary_(config.words) {
  config.validate();
  tokens_ = register_module("tokens", nn::Embedding(vocabulary_.size(), config.width));
  positions_ = register_parameter("positions", torch::randn({config.max_tokens, config.width}) * 0.02);
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int i = 0; i < config.layers; ++i) blocks_->push_back(TransformerBlock(config.width, config.heads, /*causal=*/false));
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({config.width})));
}

torch::Tensor TextEncoderImpl::forward(const torch::Tensor& ids) {
  TORCH_CHECK(ids.dim() == 2 && ids.size(1) >= 1 && ids.size(1) <= config_.max_tokens, "text encoder takes B x L ids, L <= ",
              config_.max_tokens, ", got ", ids.sizes());
  auto keep = ids != Vocabulary::kPad;
  auto x = tokens_->forward(ids) + positions_.slice(0, 0, ids.size(1)).unsqueeze(0);
  for (const auto& block : *blocks_) x = block->as<TransformerBlock>()->forward(x, keep);
  return norm_->forward(x);
}

torch::Tensor TextEncoderImpl::batch_ids(const std::vector<std::string>& prompts) const {
  const int64_t b = int64_t(prompts.size()), l = config_.max_tokens;
  std::vector<int64_t> ids(size_t(b * l), Vocabulary::kPad);
  for (int64_t i = 0; i < b; ++i) {
    const Tokens t = vocabulary_.encode(prompts[size_t(i)], config_.max_tokens);
    std::copy(t.ids.begin(), t.ids.end(), ids.begin() + i * l);
  }
  return torch::tensor(ids, torch::kLong).view({b, l});
}

}  // namespace genlab
