#include "core/speed_bench.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "core/diffusion/diffusion_trainer.h"
#include "core/io/tensors.h"
#include "core/metrics/classifier.h"
#include "core/gan/gan_trainer.h"
#include "core/compute/machine.h"
#include "core/compute/timing.h"
#include "core/train/run_util.h"
#include "core/vae/vae_trainer.h"
#include "core/vae/vq_trainer.h"
#include "core/diffusion/ldm_trainer.h"

namespace genlab {

namespace {

// 2048 random 28 x 28 images in 10 classes: the shape of Fashion-MNIST, enough for full batches
// (the trainers walk an epoch permutation, so a tiny set would shrink their batches).
std::shared_ptr<const Dataset> bench_dataset() {
  auto d = blank_dataset(1, 28, 28, 10);
  d->train.count = 2048;
  auto pixels = torch::randint(256, {d->train.count * 28 * 28}, torch::kLong).to(torch::kUInt8);
  d->train.pixels.assign(pixels.data_ptr<uint8_t>(), pixels.data_ptr<uint8_t>() + pixels.numel());
  d->train.labels.resize(size_t(d->train.count));
  for (size_t i = 0; i < d->train.labels.size(); ++i) d->train.labels[i] = int(i % 10);
  return d;
}

}  // namespace

double unet_step_ms(int batch, bool guided, int repeats) {
  torch::NoGradGuard no_grad;
  UNet net(UNetConfig{});
  net->eval();
  const int64_t rows = guided ? 2 * batch : batch;
  auto x = torch::randn({rows, 1, 28, 28});
  auto t = torch::full({rows}, 500, torch::kLong);
  auto labels = torch::zeros({rows}, torch::kLong);
  return 1000 * median_seconds(repeats, 1, 2, [&] { net->forward(x, t, labels); });
}

std::string model_speeds_json(int repeats) {
  auto data = bench_dataset();
  nlohmann::json out;

  VaeConfig vae_config;  // the conv VAE, latent 16, batch 128
  VaeTrainer vae(vae_config, data);
  out["vae_train_images_per_s"] = vae_config.batch_size / median_seconds(repeats, 10, 2, [&] { vae.train_step(); });
  {
    torch::NoGradGuard no_grad;
    vae.model()->eval();
    auto z = torch::randn({1, vae_config.latent});
    out["vae_decode_ms"] = 1000 * median_seconds(repeats, 20, 2, [&] { vae.model()->decode(z); });
  }

  VaeConfig vaegan_config;  // VAE-GAN: the same VAE with its discriminator
  vaegan_config.kind = AutoencoderKind::VAEGAN;
  VaeTrainer vaegan(vaegan_config, data);
  out["vaegan_train_images_per_s"] = vaegan_config.batch_size / median_seconds(repeats, 3, 2, [&] { vaegan.train_step(); });

  VqConfig vq_config;  // K 64, D 16, EMA, restarts, batch 128
  VqTrainer vq(vq_config, data);
  out["vqvae_train_images_per_s"] = vq_config.batch_size / median_seconds(repeats, 10, 2, [&] { vq.train_step(); });
  {
    // The prior's 49 positions, drawn one after the other (no cache: each position runs the prefix).
    VqPriorConfig prior_config;
    prior_config.classes = 10;
    prior_config.codes = vq_config.codes;
    CodePrior prior(prior_config);
    prior->eval();
    for (int batch : {1, 64}) {
      auto labels = torch::zeros({batch}, torch::kLong);
      auto generator = at::detail::createCPUGenerator(1);
      out["vq_prior_sample_ms_batch" + std::to_string(batch)] =
          1000 * median_seconds(repeats, 1, 2, [&] { prior->sample(labels, PriorSampling{}, generator); });
    }
  }

  GanConfig gan_config;  // the conditional DCGAN of `train --model gan --cond`, batch 64
  gan_config.conditional = true;
  GanTrainer gan(gan_config, data);
  out["gan_train_images_per_s"] = gan.config().batch_size / median_seconds(repeats, 5, 2, [&] { gan.train_step(); });
  for (int batch : {1, 64}) {
    auto z = seeded_noise(1, batch, gan.config().latent);
    auto labels = torch::zeros({batch}, torch::kLong);
    out["gan_sample_ms_batch" + std::to_string(batch)] = 1000 * median_seconds(repeats, 10, 2, [&] { gan.generate(z, labels); });
  }

  DiffusionConfig ddpm_config;  // the class-conditional U-Net, batch 64
  DiffusionTrainer ddpm(ddpm_config, data);
  const double ddpm_images_per_s = ddpm_config.batch_size / median_seconds(repeats, 5, 2, [&] { ddpm.train_step(); });
  out["ddpm_train_images_per_s"] = ddpm_images_per_s;
  // The U-Net is compute-bound: its training FLOPs (forward + a backward of twice the forward's,
  // counted from the layers) per second against the machine's float matmul peak at these threads.
  const double forward_gflop = ddpm.net()->forward_flops() / 1e9, peak = measure_matmul_gflops(1024, 2 * repeats + 1);
  out["ddpm_forward_gflop_per_image"] = forward_gflop;
  out["matmul_gflops_1024"] = peak;
  out["ddpm_train_fraction_of_matmul_peak"] = ddpm_images_per_s * 3 * forward_gflop / peak;

  // Latent diffusion: the autoencoder, then the text encoder + latent U-Net (its first step, which
  // encodes every training image once, is left out), and guided steps beside the pixel U-Net's.
  LatentAeTrainingConfig klae_config;
  LatentAeTrainer klae(klae_config, data);
  out["klae_train_images_per_s"] = klae_config.batch_size / median_seconds(repeats, 5, 2, [&] { klae.train_once(); });
  LdmConfig ldm_config;
  LdmTrainer ldm(ldm_config, klae.autoencoder(), data);
  ldm.train_once();
  out["ldm_train_images_per_s"] = ldm_config.batch_size / median_seconds(repeats, 5, 2, [&] { ldm.train_once(); });
  for (int batch : {1, 64}) {
    const std::string b = std::to_string(batch);
    const Denoiser guided = ldm.denoiser(ldm.prompt_ids(std::vector<std::string>(size_t(batch), "a dark wide pullover")),
                                         ldm.prompt_ids(std::vector<std::string>(size_t(batch), "")), 3.0);
    auto z = torch::randn({batch, ldm.config().unet.latent_channels, ldm.config().unet.latent_size, ldm.config().unet.latent_size});
    out["ldm_step_ms_batch" + b] = 1000 * median_seconds(repeats, 5, 2, [&] { guided(z, 500); });
    out["ddpm_step_ms_batch" + b] = unet_step_ms(batch, /*guided=*/true, repeats);
    out["ldm_decode_ms_batch" + b] = 1000 * median_seconds(repeats, 5, 2, [&] { ldm.decode(z); });
  }

  ClassifierConfig lenet_config;  // the LeNet behind FID-LeNet, batch 128
  LeNet lenet(lenet_config);
  torch::optim::Adam adam(lenet->parameters(), torch::optim::AdamOptions(lenet_config.learning_rate));
  auto x = torch::rand({lenet_config.batch_size, 1, 28, 28});
  auto y = torch::randint(10, {lenet_config.batch_size}, torch::kLong);
  out["classifier_train_images_per_s"] = lenet_config.batch_size / median_seconds(repeats, 10, 2, [&] {
    auto loss = torch::nn::functional::cross_entropy(lenet->forward(x), y);
    adam.zero_grad();
    loss.backward();
    adam.step();
  });
  out["repeats"] = repeats;
  return out.dump();
}

}  // namespace genlab
