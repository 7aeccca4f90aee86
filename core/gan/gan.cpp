#include "core/gan/gan.h"

#include "core/gan/progan.h"
#include "core/gan/stylegan.h"

namespace genlab {

namespace nn = torch::nn;

namespace {

constexpr int kLabelEmbedding = 16;

nn::Upsample upsample() {
  return nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
}

}  // namespace

DcganGenerator::DcganGenerator(const GanConfig& config) : config_(config) {
  config.validate();
  if (config.mode == GanMode::Toy) {
    net_ = register_module("net", nn::Sequential(nn::Linear(config.latent, 128), nn::ReLU(), nn::Linear(128, 128),
                                                 nn::ReLU(), nn::Linear(128, 2)));
    return;
  }
  const int w = config.width, h4 = config.height / 4, in = config.latent + (config.conditional ? kLabelEmbedding : 0);
  if (config.conditional) embed_ = register_module("embed", nn::Embedding(config.classes, kLabelEmbedding));
  if (config.layout == DcganLayout::Deep) {
    // cpp/dcgan's path for 28 px: 1 -> 4 -> 7 -> 14 -> 28; for H/4 = s in general the first layer
    // gives ceil(s/2) and the second's kernel lands on s exactly.
    const int first = (h4 + 1) / 2, second_kernel = h4 - 2 * first + 4;
    auto up = [](int from, int to, int kernel, int stride, int padding) {
      return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(from, to, kernel).stride(stride).padding(padding).bias(false));
    };
    net_ = register_module(
        "net", nn::Sequential(nn::Unflatten(nn::UnflattenOptions(1, {in, 1, 1})), up(in, 4 * w, first, 1, 0),
                              nn::BatchNorm2d(4 * w), nn::ReLU(), up(4 * w, 2 * w, second_kernel, 2, 1),
                              nn::BatchNorm2d(2 * w), nn::ReLU(), up(2 * w, w, 4, 2, 1), nn::BatchNorm2d(w), nn::ReLU(),
                              up(w, config.channels, 4, 2, 1), nn::Tanh()));
    return;
  }
  net_ = register_module(
      "net", nn::Sequential(nn::Linear(in, 2 * w * h4 * h4), nn::Unflatten(nn::UnflattenOptions(1, {2 * w, h4, h4})),
                            nn::BatchNorm2d(2 * w), nn::ReLU(), upsample(),
                            nn::Conv2d(nn::Conv2dOptions(2 * w, w, 3).padding(1)), nn::BatchNorm2d(w), nn::ReLU(),
                            upsample(), nn::Conv2d(nn::Conv2dOptions(w, config.channels, 3).padding(1)), nn::Tanh()));
}

torch::Tensor DcganGenerator::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  if (config_.mode == GanMode::Images && config_.conditional) return net_->forward(torch::cat({z, embed_(labels)}, 1));
  return net_->forward(z);
}

std::vector<Activation> DcganGenerator::activations(const torch::Tensor& z, const torch::Tensor& labels) {
  auto x = config_.mode == GanMode::Images && config_.conditional ? torch::cat({z, embed_(labels)}, 1) : z;
  return sequential_activations(net_, x);
}

DcganDiscriminator::DcganDiscriminator(const GanConfig& config) : config_(config) {
  config.validate();
  const int features = 256;
  if (config.mode == GanMode::Toy) {
    features_ = register_module("features", nn::Sequential(nn::Linear(2, 128), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                                                           nn::Linear(128, features),
                                                           nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))));
    head_ = register_module("head", nn::Linear(features, 1));
    return;
  }
  const int w = config.width, h4 = config.height / 4;
  auto lrelu = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
  if (config.layout == DcganLayout::Deep) {
    // cpp/dcgan's D: three 4x4 stride-2 convs, batch norm after the second and third, then its last
    // conv (over the whole H/8 map) as the linear head. No batch norm for WGAN-GP, whose per-sample
    // gradient penalty needs samples judged independently.
    auto conv = [](int from, int to) {
      return nn::Conv2d(nn::Conv2dOptions(from, to, 4).stride(2).padding(1).bias(false));
    };
    const bool norm = config.loss != GanLoss::WassersteinGP;
    nn::Sequential layers(conv(config.channels, w), lrelu(), conv(w, 2 * w));
    if (norm) layers->push_back(nn::BatchNorm2d(2 * w));
    layers->push_back(lrelu());
    layers->push_back(conv(2 * w, 4 * w));
    if (norm) layers->push_back(nn::BatchNorm2d(4 * w));
    layers->push_back(lrelu());
    layers->push_back(nn::Flatten());
    features_ = register_module("features", layers);
    const int h8 = h4 / 2, features = 4 * w * h8 * h8;
    if (config.conditional) project_ = register_module("project", nn::Embedding(config.classes, features));
    head_ = register_module("head", nn::Linear(features, 1));
    return;
  }
  // The compact D: no batch norm (WGAN-GP's per-sample gradient penalty needs samples judged
  // independently), a dense feature layer.
  features_ = register_module(
      "features", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(config.channels, w, 4).stride(2).padding(1)), lrelu(),
                                 nn::Conv2d(nn::Conv2dOptions(w, 2 * w, 4).stride(2).padding(1)), lrelu(),
                                 nn::Flatten(), nn::Linear(2 * w * h4 * h4, features), lrelu()));
  if (config.conditional) project_ = register_module("project", nn::Embedding(config.classes, features));
  head_ = register_module("head", nn::Linear(features, 1));
}

torch::Tensor DcganDiscriminator::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  auto h = features_->forward(x);
  auto score = head_->forward(h).squeeze(1);
  if (project_) score = score + (project_->forward(labels) * h).sum(1);
  return score;
}

std::shared_ptr<GeneratorNet> make_generator(const GanConfig& config) {
  switch (config.arch) {
    case GanArch::ProGan: return std::make_shared<ProGanGenerator>(config);
    case GanArch::StyleGan: return std::make_shared<StyleGenerator>(config);
    case GanArch::Dcgan: break;
  }
  return std::make_shared<DcganGenerator>(config);
}

std::shared_ptr<DiscriminatorNet> make_discriminator(const GanConfig& config) {
  if (config.arch == GanArch::Dcgan) return std::make_shared<DcganDiscriminator>(config);
  // StyleGAN's D is ProGAN's at the full resolution, without the inputs for growing.
  return std::make_shared<ProGanDiscriminator>(config, /*growing=*/config.arch == GanArch::ProGan);
}

torch::Tensor discriminator_loss(GanLoss loss, const torch::Tensor& real, const torch::Tensor& fake,
                                 const torch::Tensor& real_target) {
  switch (loss) {
    case GanLoss::Minimax:
    case GanLoss::NonSaturating:  // -[log D(x) + log(1 - D(G(z)))]; a soft target y: BCE(D(x), y)
      if (real_target.defined())
        return (real_target * torch::softplus(-real) + (1 - real_target) * torch::softplus(real)).mean() +
               torch::softplus(fake).mean();
      return torch::softplus(-real).mean() + torch::softplus(fake).mean();
    case GanLoss::LeastSquares:
      return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean());
    case GanLoss::WassersteinGP:
      return fake.mean() - real.mean();
    case GanLoss::Hinge:
      return torch::relu(1 - real).mean() + torch::relu(1 + fake).mean();
  }
  throw std::invalid_argument("unknown GAN loss");
}

torch::Tensor generator_loss(GanLoss loss, const torch::Tensor& fake) {
  switch (loss) {
    case GanLoss::Minimax:  // G minimises log(1 - D(G(z))): saturates when D wins
      return -torch::softplus(fake).mean();
    case GanLoss::NonSaturating:  // G maximises log D(G(z)) instead
      return torch::softplus(-fake).mean();
    case GanLoss::LeastSquares:
      return 0.5 * (fake - 1).pow(2).mean();
    case GanLoss::WassersteinGP:
    case GanLoss::Hinge:
      return -fake.mean();
  }
  throw std::invalid_argument("unknown GAN loss");
}

torch::Tensor value_function(const torch::Tensor& real, const torch::Tensor& fake) {
  return -torch::softplus(-real).mean() - torch::softplus(fake).mean();
}

torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake, const torch::Tensor& mix) {
  std::vector<int64_t> shape(size_t(real.dim()), 1);
  shape[0] = real.size(0);
  auto eps = mix.view(shape);
  auto mixed = (eps * real + (1 - eps) * fake.detach()).requires_grad_(true);
  auto scores = critic(mixed);
  auto grads = torch::autograd::grad({scores.sum()}, {mixed}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return (grads.flatten(1).norm(2, 1) - 1).pow(2).mean();
}

}  // namespace genlab
