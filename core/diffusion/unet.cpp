#include "core/diffusion/unet.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace genlab {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

void check_range(const char* name, int value, int lo, int hi) {
  if (value < lo || value > hi)
    throw std::invalid_argument(std::string(name) + " " + std::to_string(value) + " is not in " + std::to_string(lo) +
                                ".." + std::to_string(hi));
}

torch::Tensor upsample2x(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
}

}  // namespace

nn::GroupNorm group_norm(int channels) {
  int groups = 8;
  while (channels % groups) --groups;
  return nn::GroupNorm(groups, channels);
}

nn::Conv2d conv3x3(int in, int out, int stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

void UNetConfig::validate() const {
  if (channels != 1 && channels != 3) throw std::invalid_argument("channels " + std::to_string(channels) + " is not 1 or 3");
  check_range("image size", image_size, 8, 128);
  if (image_size % 4) throw std::invalid_argument("image size " + std::to_string(image_size) + " is not divisible by 4");
  check_range("base", base, 8, 256);
  check_range("mid", mid, 8, 256);
  check_range("classes", classes, 0, 1000);
  check_range("time_dim", time_dim, 16, 1024);
  if (time_dim % 2) throw std::invalid_argument("time_dim " + std::to_string(time_dim) + " is not even");
}

std::string UNetConfig::to_json() const {
  nlohmann::json j = {{"channels", channels}, {"image_size", image_size}, {"base", base},
                      {"mid", mid},           {"classes", classes},       {"time_dim", time_dim}};
  if (guidance_input) j["guidance_input"] = true;  // absent from the teachers' files, as before
  return j.dump();
}

UNetConfig UNetConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("U-Net config is not a JSON object");
  UNetConfig c;
  try {
    c.channels = j.at("channels").get<int>();
    c.image_size = j.at("image_size").get<int>();
    c.base = j.at("base").get<int>();
    c.mid = j.at("mid").get<int>();
    c.classes = j.at("classes").get<int>();
    c.time_dim = j.at("time_dim").get<int>();
    c.guidance_input = j.value("guidance_input", false);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("U-Net config: ") + e.what());
  }
  c.validate();
  return c;
}

TimeResBlockImpl::TimeResBlockImpl(int in, int out, int embedding_dim) {
  norm1_ = register_module("norm1", group_norm(in));
  conv1_ = register_module("conv1", conv3x3(in, out));
  embed_ = register_module("embed", nn::Linear(embedding_dim, out));
  norm2_ = register_module("norm2", group_norm(out));
  conv2_ = register_module("conv2", conv3x3(out, out));
  if (in != out) skip_ = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in, out, 1)));
}

namespace {

double conv_flops(const nn::Conv2d& conv, double pixels) {  // pixels: of the conv's output
  const auto& o = conv->options;
  return 2.0 * double(o.in_channels() * o.out_channels() / o.groups()) * double((*o.kernel_size())[0]) *
         double((*o.kernel_size())[1]) * pixels;
}

double linear_flops(const nn::Linear& linear) {
  return 2.0 * double(linear->options.in_features()) * double(linear->options.out_features());
}

}  // namespace

double TimeResBlockImpl::flops(double pixels) const {
  return conv_flops(conv1_, pixels) + conv_flops(conv2_, pixels) + (skip_ ? conv_flops(skip_, pixels) : 0.0) +
         linear_flops(embed_);
}

torch::Tensor TimeResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& embedding) {
  auto h = conv1_->forward(torch::silu(norm1_->forward(x)));
  h = h + embed_->forward(embedding).unsqueeze(-1).unsqueeze(-1);
  h = conv2_->forward(torch::silu(norm2_->forward(h)));
  return h + (skip_ ? skip_->forward(x) : x);
}

UNetImpl::UNetImpl(const UNetConfig& config) : config_(config) {
  config.validate();
  const int c = config.channels, base = config.base, mid = config.mid, td = config.time_dim;
  time_in_ = register_module("time_in", nn::Linear(td, td));
  time_out_ = register_module("time_out", nn::Linear(td, td));
  if (config.classes > 0) class_embedding_ = register_module("class_embedding", nn::Embedding(config.classes + 1, td));
  if (config.guidance_input) guidance_in_ = register_module("guidance_in", nn::Linear(td, td));
  in_conv_ = register_module("in_conv", conv3x3(c, base));
  enc1_ = register_module("enc1", TimeResBlock(base, base, td));
  down1_ = register_module("down1", conv3x3(base, mid, 2));
  enc2_ = register_module("enc2", TimeResBlock(mid, mid, td));
  down2_ = register_module("down2", conv3x3(mid, mid, 2));
  middle_ = register_module("middle", TimeResBlock(mid, mid, td));
  up2_ = register_module("up2", conv3x3(mid, mid));
  dec2_ = register_module("dec2", TimeResBlock(2 * mid, mid, td));
  up1_ = register_module("up1", conv3x3(mid, base));
  dec1_ = register_module("dec1", TimeResBlock(2 * base, base, td));
  out_norm_ = register_module("out_norm", group_norm(base));
  out_conv_ = register_module("out_conv", conv3x3(base, c));
  // A zero output layer makes the untrained net predict eps = 0, a calm start for the MSE loss.
  // A zero guidance layer starts a student as its teacher's conditional net.
  torch::NoGradGuard no_grad;
  out_conv_->weight.zero_();
  out_conv_->bias.zero_();
  if (guidance_in_) {
    guidance_in_->weight.zero_();
    guidance_in_->bias.zero_();
  }
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                                const torch::Tensor& w) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config_.channels && x.size(2) == config_.image_size &&
                  x.size(3) == config_.image_size,
              "U-Net input must be B x ", config_.channels, " x ", config_.image_size, " x ", config_.image_size,
              ", got ", x.sizes());
  TORCH_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "U-Net timesteps must be a vector of ", x.size(0));
  auto emb = time_out_->forward(torch::silu(time_in_->forward(timestep_embedding(t, config_.time_dim))));
  if (class_embedding_) {
    auto classes = labels.defined() ? labels : torch::full({x.size(0)}, null_label(), t.options().dtype(torch::kLong));
    emb = emb + class_embedding_->forward(classes);
  }
  if (guidance_in_) {
    TORCH_CHECK(w.defined() && w.dim() == 1 && w.size(0) == x.size(0), "this U-Net takes a guidance scale per image");
    emb = emb + guidance_in_->forward(timestep_embedding(w * 100, config_.time_dim));
  }
  auto h = in_conv_->forward(x);
  auto skip1 = enc1_->forward(h, emb);
  auto skip2 = enc2_->forward(down1_->forward(skip1), emb);
  h = middle_->forward(down2_->forward(skip2), emb);
  h = dec2_->forward(torch::cat({up2_->forward(upsample2x(h)), skip2}, 1), emb);
  h = dec1_->forward(torch::cat({up1_->forward(upsample2x(h)), skip1}, 1), emb);
  return out_conv_->forward(torch::silu(out_norm_->forward(h)));
}

double UNetImpl::forward_flops() const {
  const double full = double(config_.image_size) * config_.image_size, half = full / 4, quarter = full / 16;
  return linear_flops(time_in_) + linear_flops(time_out_) + conv_flops(in_conv_, full) + enc1_->flops(full) +
         conv_flops(down1_, half) + enc2_->flops(half) + conv_flops(down2_, quarter) + middle_->flops(quarter) +
         conv_flops(up2_, half) + dec2_->flops(half) + conv_flops(up1_, full) + dec1_->flops(full) +
         conv_flops(out_conv_, full);
}

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim) {
  TORCH_CHECK(dim >= 2 && dim % 2 == 0, "timestep embedding width must be even and at least 2, got ", dim);
  const int half = dim / 2;
  auto options = torch::TensorOptions().dtype(torch::kFloat).device(t.device());
  auto freqs = torch::exp(-std::log(10000.0) * torch::arange(half, options) / half);
  auto args = t.to(torch::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::sin(args), torch::cos(args)}, 1);
}

}  // namespace genlab
