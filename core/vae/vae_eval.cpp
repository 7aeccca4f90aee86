#include "core/vae/vae_eval.h"

#include <cmath>

namespace genlab {

namespace {

constexpr double kLog2Pi = 1.8378770664093453;

// log N(z; mean, exp(logvar)) summed over the last dimension.
torch::Tensor gaussian_log_density(const torch::Tensor& z, const torch::Tensor& mean, const torch::Tensor& logvar) {
  return -0.5 * ((z - mean).pow(2) / logvar.exp() + logvar + kLog2Pi).sum(-1);
}

}  // namespace

VaeEvalResult evaluate_vae(VaeTrainer& trainer, const VaeEvalOptions& options,
                           const std::function<void(int64_t, int64_t)>& progress) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(options.seed);
  Vae& model = trainer.model();
  model->eval();
  const VaeConfig& config = trainer.config();
  VaeEvalResult result;
  const int64_t n_test = trainer.data().test.count;
  result.test_images = n_test;
  result.has_bounds = variational(config.kind) && config.recon == ReconLoss::Bernoulli;
  const int64_t iwae_images = result.has_bounds ? std::min<int64_t>(options.iwae_images, n_test) : 0;
  const int64_t total_work = n_test + iwae_images;
  auto bce_per_image = [](const torch::Tensor& logits, const torch::Tensor& x) {
    return torch::binary_cross_entropy_with_logits(logits, x, {}, {}, torch::Reduction::None).flatten(1).sum(1);
  };

  // Gray-target reconstruction of the mean code: deterministic, so shipped models can be re-checked.
  const int64_t n_recon = std::min<int64_t>(options.recon_images, n_test);
  if (n_recon > 0) {
    auto gray = trainer.images(Split::Test, torch::arange(n_recon));
    auto mu = model->encode(gray).first;
    result.recon_bce_gray = bce_per_image(model->decode_logits(mu), gray).mean().item<double>();
  }

  // Single-sample ELBO over the whole (binarised) test set.
  auto targets = trainer.test_targets(n_test);
  double elbo_sum = 0, kl_sum = 0;
  for (int64_t begin = 0; begin < n_test; begin += 500) {
    auto x = targets.slice(0, begin, std::min(n_test, begin + 500));
    auto out = model->forward(x, /*sample=*/true);
    auto kl = gaussian_kl(out.mu, out.logvar).sum(1);
    elbo_sum += (bce_per_image(out.logits, x) + kl).sum().item<double>();
    kl_sum += kl.sum().item<double>();
    if (progress) progress(std::min(n_test, begin + 500), total_work);
  }
  if (n_test > 0) {
    result.neg_elbo = elbo_sum / double(n_test);
    result.kl = kl_sum / double(n_test);
  }

  // Importance-weighted bound: k posterior samples per image, log-mean-exp of the weights.
  double iwae_sum = 0;
  const int64_t k = options.iwae_samples, chunk = 250;
  for (int64_t i = 0; i < iwae_images; ++i) {
    auto x = targets.slice(0, i, i + 1);
    auto [mu, logvar] = model->encode(x);
    std::vector<torch::Tensor> log_weights;
    for (int64_t begin = 0; begin < k; begin += chunk) {
      const int64_t m = std::min(chunk, k - begin);
      auto z = mu + torch::exp(0.5 * logvar) * torch::randn({m, mu.size(1)});
      auto logits = model->decode_logits(z);
      auto log_px_z = -bce_per_image(logits, x.expand({m, x.size(1), x.size(2), x.size(3)}));
      auto log_pz = gaussian_log_density(z, torch::zeros_like(z), torch::zeros_like(z));
      auto log_qz = gaussian_log_density(z, mu, logvar);
      log_weights.push_back(log_px_z + log_pz - log_qz);
    }
    auto all = torch::cat(log_weights);
    iwae_sum += (torch::logsumexp(all, 0) - std::log(double(k))).item<double>();
    if (progress && (i % 10 == 9 || i + 1 == iwae_images)) progress(n_test + i + 1, total_work);
  }
  if (iwae_images > 0) result.neg_iwae = -iwae_sum / double(iwae_images);
  return result;
}

}  // namespace genlab
