#include "core/diffusion/latent_unet.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace genlab {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

std::string LatentUNetConfig::to_json() const {
  return nlohmann::json{{"latent_channels", latent_channels}, {"latent_size", latent_size}, {"base", base}, {"mid", mid},
                        {"context_width", context_width},     {"heads", heads},             {"time_dim", time_dim}}
      .dump();
}

LatentUNetConfig LatentUNetConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("latent U-Net config is not a JSON object");
  LatentUNetConfig c;
  try {
    c.latent_channels = j.at("latent_channels").get<int>();
    c.latent_size = j.at("latent_size").get<int>();
    c.base = j.at("base").get<int>();
    c.mid = j.at("mid").get<int>();
    c.context_width = j.at("context_width").get<int>();
    c.heads = j.at("heads").get<int>();
    c.time_dim = j.at("time_dim").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("latent U-Net config: ") + e.what());
  }
  c.validate();
  return c;
}

void LatentUNetConfig::validate() const {
  auto check = [](const char* name, int v, int lo, int hi) {
    if (v < lo || v > hi)
      throw std::invalid_argument(std::string(name) + " " + std::to_string(v) + " is not in " + std::to_string(lo) + ".." +
                                  std::to_string(hi));
  };
  check("latent channels", latent_channels, 1, 16);
  check("latent size", latent_size, 2, 64);
  check("base", base, 8, 512);
  check("mid", mid, 8, 512);
  check("context width", context_width, 8, 1024);
  check("heads", heads, 1, 16);
  check("time_dim", time_dim, 16, 1024);
  if (base % heads || mid % heads) throw std::invalid_argument("heads " + std::to_string(heads) + " does not divide the widths");
  if (time_dim % 2) throw std::invalid_argument("time_dim " + std::to_string(time_dim) + " is not even");
}

CrossAttentionImpl::CrossAttentionImpl(int channels, int context_width, int heads) : heads_(heads) {
  norm_ = register_module("norm", group_norm(channels));
  query_ = register_module("query", nn::Linear(nn::LinearOptions(channels, channels).bias(false)));
  key_ = register_module("key", nn::Linear(nn::LinearOptions(context_width, channels).bias(false)));
  value_ = register_module("value", nn::Linear(nn::LinearOptions(context_width, channels).bias(false)));
  out_ = register_module("out", nn::Linear(channels, channels));
  // Starts as the identity: the untrained block passes the image through.
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.zero_();
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& keep,
                                          torch::Tensor* weights) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), l = context.size(1), head = c / heads_;
  auto tokens = norm_->forward(x).flatten(2).transpose(1, 2);                                // B x HW x C
  auto q = query_->forward(tokens).view({b, h * w, heads_, head}).transpose(1, 2);           // B x h x HW x d
  auto k = key_->forward(context).view({b, l, heads_, head}).transpose(1, 2);                // B x h x L x d
  auto v = value_->forward(context).view({b, l, heads_, head}).transpose(1, 2);
  auto scores = q.matmul(k.transpose(-2, -1)) / std::sqrt(double(head));
  scores = scores.masked_fill(keep.logical_not().view({b, 1, 1, l}), -std::numeric_limits<float>::infinity());
  auto p = torch::softmax(scores, -1);
  if (weights) *weights = p.mean(1);
  auto attended = p.matmul(v).transpose(1, 2).reshape({b, h * w, c});
  return x + out_->forward(attended).transpose(1, 2).view({b, c, h, w});
}

LatentUNetImpl::LatentUNetImpl(const LatentUNetConfig& config) : config_(config) {
  config.validate();
  const int c = config.latent_channels, base = config.base, mid = config.mid, td = config.time_dim;
  const int ctx = config.context_width, heads = config.heads;
  time_in_ = register_module("time_in", nn::Linear(td, td));
  time_out_ = register_module("time_out", nn::Linear(td, td));
  in_conv_ = register_module("in_conv", conv3x3(c, base));
  enc1_ = register_module("enc1", TimeResBlock(base, base, td));
  enc1_attn_ = register_module("enc1_attn", CrossAttention(base, ctx, heads));
  down_ = register_module("down", conv3x3(base, mid, 2));
  enc2_ = register_module("enc2", TimeResBlock(mid, mid, td));
  enc2_attn_ = register_module("enc2_attn", CrossAttention(mid, ctx, heads));
  middle_ = register_module("middle", TimeResBlock(mid, mid, td));
  middle_attn_ = register_module("middle_attn", CrossAttention(mid, ctx, heads));
  dec2_ = register_module("dec2", TimeResBlock(2 * mid, mid, td));
  dec2_attn_ = register_module("dec2_attn", CrossAttention(mid, ctx, heads));
  up_ = register_module("up", conv3x3(mid, base));
  dec1_ = register_module("dec1", TimeResBlock(2 * base, base, td));
  dec1_attn_ = register_module("dec1_attn", CrossAttention(base, ctx, heads));
  out_norm_ = register_module("out_norm", group_norm(base));
  out_conv_ = register_module("out_conv", conv3x3(base, c));
  torch::NoGradGuard no_grad;
  out_conv_->weight.zero_();
  out_conv_->bias.zero_();
}

torch::Tensor LatentUNetImpl::forward(const torch::Tensor& z, const torch::Tensor& t, const torch::Tensor& context,
                                      const torch::Tensor& keep, torch::Tensor* attention) {
  const int s = config_.latent_size;
  TORCH_CHECK(z.dim() == 4 && z.size(1) == config_.latent_channels && z.size(2) == s && z.size(3) == s,
              "latent U-Net input must be B x ", config_.latent_channels, " x ", s, " x ", s, ", got ", z.sizes());
  TORCH_CHECK(context.dim() == 3 && context.size(0) == z.size(0) && context.size(2) == config_.context_width,
              "latent U-Net context must be ", z.size(0), " x L x ", config_.context_width, ", got ", context.sizes());
  auto emb = time_out_->forward(torch::silu(time_in_->forward(timestep_embedding(t, config_.time_dim))));
  std::vector<torch::Tensor> maps;  // B x HW x L per cross-attention, when asked
  auto attend = [&](CrossAttention& block, const torch::Tensor& h) {
    if (!attention) return block->forward(h, context, keep);
    torch::Tensor weights;
    auto out = block->forward(h, context, keep, &weights);
    const int64_t side = h.size(2);
    auto grid = weights.transpose(1, 2).reshape({h.size(0), context.size(1), side, side});
    maps.push_back(side == s ? grid : F::interpolate(grid, F::InterpolateFuncOptions().size(std::vector<int64_t>{s, s}).mode(torch::kBilinear).align_corners(false)));
    return out;
  };
  auto h = in_conv_->forward(z);
  auto skip1 = attend(enc1_attn_, enc1_->forward(h, emb));
  auto skip2 = attend(enc2_attn_, enc2_->forward(down_->forward(skip1), emb));
  h = attend(middle_attn_, middle_->forward(skip2, emb));
  h = attend(dec2_attn_, dec2_->forward(torch::cat({h, skip2}, 1), emb));
  // Back to the latent's own size (7 is odd: nearest resize rather than a 2x that overshoots).
  h = F::interpolate(h, F::InterpolateFuncOptions().size(std::vector<int64_t>{s, s}).mode(torch::kNearest));
  h = attend(dec1_attn_, dec1_->forward(torch::cat({up_->forward(h), skip1}, 1), emb));
  if (attention) *attention = torch::stack(maps).mean(0);
  return out_conv_->forward(torch::silu(out_norm_->forward(h)));
}

}  // namespace genlab
