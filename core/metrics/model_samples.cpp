#include "core/metrics/model_samples.h"

#include "core/diffusion/diffusion_trainer.h"
#include "core/labs/tensors.h"
#include "core/train/gan_trainer.h"
#include "core/train/vae_trainer.h"

namespace genlab {

namespace {

// Runs `draw` over batches of at most `batch`, concatenating; the noise of each batch comes from
// seeded_noise(seed + batch index) so results do not depend on thread count or batch timing.
Samples batched(int n, int batch, const SampleProgress& progress,
                const std::function<Samples(int first, int count)>& draw) {
  std::vector<torch::Tensor> images, labels;
  for (int first = 0; first < n; first += batch) {
    Samples s = draw(first, std::min(batch, n - first));
    images.push_back(s.images);
    if (s.labels.defined()) labels.push_back(s.labels);
    if (progress && !progress(first + s.images.size(0), n)) throw std::runtime_error("cancelled");
  }
  return {torch::cat(images), labels.empty() ? torch::Tensor() : torch::cat(labels)};
}

}  // namespace

SampleSource gan_samples(GanTrainer& trainer) {
  return [&trainer](int n, uint64_t seed, const SampleProgress& progress) {
    const GanConfig& c = trainer.config();
    return batched(n, 250, progress, [&](int first, int count) {
      torch::NoGradGuard no_grad;
      auto z = seeded_noise(seed * 7919 + uint64_t(first), count, c.latent);
      torch::Tensor labels = c.conditional ? cycling_labels(first, count, c.classes) : torch::Tensor();
      return Samples{trainer.generate(z, labels).clamp(0, 1), labels};  // generate() maps tanh to [0, 1]
    });
  };
}

SampleSource diffusion_samples(DiffusionTrainer& trainer, const std::string& sampler, int steps, double cfg,
                               double eta) {
  const SamplerKind kind = parse_sampler(sampler);
  return [&trainer, kind, steps, cfg, eta](int n, uint64_t seed, const SampleProgress& progress) {
    const DiffusionConfig& c = trainer.config();
    const int size = c.unet.image_size, ch = c.unet.channels;
    return batched(n, 100, progress, [&](int first, int count) {
      torch::Tensor labels = c.unet.classes > 0 ? cycling_labels(first, count, c.unet.classes) : torch::Tensor();
      auto x_T = seeded_noise(seed * 7919 + uint64_t(first), count, ch * size * size).view({count, ch, size, size});
      auto x = sample(kind, trainer.schedule(), trainer.denoiser(labels, cfg), x_T, steps, eta,
                      seed * 7919 + uint64_t(first) + 1, {}, 1.0)
                   .x;
      return Samples{((x + 1) * 0.5).clamp(0, 1), labels};
    });
  };
}

SampleSource vae_prior_samples(VaeTrainer& trainer) {
  return [&trainer](int n, uint64_t seed, const SampleProgress& progress) {
    return batched(n, 500, progress, [&](int first, int count) {
      torch::NoGradGuard no_grad;
      Vae& model = trainer.model();
      model->eval();
      auto z = seeded_noise(seed * 7919 + uint64_t(first), count, trainer.config().latent);
      const VaeConfig& c = trainer.config();
      return Samples{model->decode(z).reshape({count, c.channels, c.height, c.width}), torch::Tensor()};
    });
  };
}

}  // namespace genlab
