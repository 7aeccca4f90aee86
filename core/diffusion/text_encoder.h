// The text side of the text-to-image model: the caption vocabulary's tokens through a small
// bidirectional transformer (token + position embeddings, pre-norm blocks, a final LayerNorm), one
// vector per token for the U-Net's cross-attention to read. Trained with the denoiser (Imagen
// freezes a large pretrained encoder; at this scale there is none to borrow). Torch header.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/diffusion/tokenizer.h"

namespace genlab {

struct TextEncoderConfig {
  std::vector<std::string> words;  // the vocabulary (the tokenizer's ids follow from it)
  int max_tokens = 16;             // the start token included; longer prompts are cut
  int width = 64, layers = 2, heads = 4;

  std::string to_json() const;
  static TextEncoderConfig from_json(const std::string& text);  // throws std::invalid_argument
  void validate() const;
};

class TextEncoderImpl : public torch::nn::Module {
 public:
  explicit TextEncoderImpl(const TextEncoderConfig& config);
  // ids: B x L (int64, L <= max_tokens, 0 pads) -> B x L x width. Padding attends to nothing and is
  // attended by nothing (its output rows are whatever; the cross-attention masks them too).
  torch::Tensor forward(const torch::Tensor& ids);
  const TextEncoderConfig& config() const { return config_; }
  const Vocabulary& vocabulary() const { return vocabulary_; }
  // Prompts as B x max_tokens ids, padded (each cut at max_tokens).
  torch::Tensor batch_ids(const std::vector<std::string>& prompts) const;

 private:
  TextEncoderConfig config_;
  Vocabulary vocabulary_;
  torch::nn::Embedding tokens_{nullptr};
  torch::Tensor positions_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(TextEncoder);

}  // namespace genlab
