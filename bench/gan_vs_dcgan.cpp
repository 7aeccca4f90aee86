// GAN quality per wall-clock second: genlab's GAN (GanTrainer with its default unconditional DCGAN,
// or any config given as JSON) against pytorch/examples' `cpp/dcgan`, the canonical LibTorch DCGAN,
// whose architecture and training loop are written out below unchanged but for the data (Fashion-MNIST
// from genlab's reader) and the thread count. Both arms train at once in one process, each on its own
// thread with one intra-op thread, so both meet the same machine; each is scored with FID-LeNet (and
// k-NN precision/recall) in the shipped classifier's features whenever its own training clock passes
// a mark. Scoring is not counted as training time.
//
//   cmake --build build --target gan_vs_dcgan
//   build/bench/gan_vs_dcgan [--seconds 450] [--every 75] [--samples 2000] [--seed 1]
//                            [--genlab '{"width":64}'] [--classifier F] [--dataset fashion-mnist]
//
// One JSON line per score, then a table: training seconds | FID-LeNet of each arm.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "core/compute/machine.h"
#include "core/data/dataset.h"
#include "core/gan/gan_trainer.h"
#include "core/io/shipped.h"
#include "core/metrics/classifier.h"
#include "core/metrics/sample_quality.h"

namespace {

namespace nn = torch::nn;

// ---- pytorch/examples cpp/dcgan/dcgan.cpp: its generator, discriminator and loop ----------------

constexpr int64_t kNoiseSize = 100;
constexpr int64_t kBatchSize = 64;

struct DCGANGeneratorImpl : nn::Module {
  explicit DCGANGeneratorImpl(int noise_size)
      : conv1(nn::ConvTranspose2dOptions(noise_size, 256, 4).bias(false)),
        conv2(nn::ConvTranspose2dOptions(256, 128, 3).stride(2).padding(1).bias(false)),
        conv3(nn::ConvTranspose2dOptions(128, 64, 4).stride(2).padding(1).bias(false)),
        conv4(nn::ConvTranspose2dOptions(64, 1, 4).stride(2).padding(1).bias(false)),
        batch_norm1(256),
        batch_norm2(128),
        batch_norm3(64) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv3", conv3);
    register_module("conv4", conv4);
    register_module("batch_norm1", batch_norm1);
    register_module("batch_norm2", batch_norm2);
    register_module("batch_norm3", batch_norm3);
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(batch_norm1(conv1(x)));
    x = torch::relu(batch_norm2(conv2(x)));
    x = torch::relu(batch_norm3(conv3(x)));
    return torch::tanh(conv4(x));
  }

  nn::ConvTranspose2d conv1, conv2, conv3, conv4;
  nn::BatchNorm2d batch_norm1, batch_norm2, batch_norm3;
};
TORCH_MODULE(DCGANGenerator);

nn::Sequential dcgan_discriminator() {
  return nn::Sequential(
      nn::Conv2d(nn::Conv2dOptions(1, 64, 4).stride(2).padding(1).bias(false)),
      nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
      nn::Conv2d(nn::Conv2dOptions(64, 128, 4).stride(2).padding(1).bias(false)), nn::BatchNorm2d(128),
      nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
      nn::Conv2d(nn::Conv2dOptions(128, 256, 4).stride(2).padding(1).bias(false)), nn::BatchNorm2d(256),
      nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
      nn::Conv2d(nn::Conv2dOptions(256, 1, 3).stride(1).padding(0).bias(false)), nn::Sigmoid());
}

// The example's loop body per batch. Its random draws come from a generator of its own, so the arm
// beside it (which swaps torch's default generator in and out) cannot disturb them.
class CppDcgan {
 public:
  CppDcgan(std::shared_ptr<const genlab::Dataset> data, uint64_t seed)
      : data_(std::move(data)), gen_(at::detail::createCPUGenerator(seed)) {
    torch::manual_seed(seed);  // the layers' initial weights, drawn before the arms start
    generator_ = DCGANGenerator(kNoiseSize);
    discriminator_ = dcgan_discriminator();
    g_opt_ = std::make_unique<torch::optim::Adam>(generator_->parameters(),
                                                  torch::optim::AdamOptions(2e-4).betas(std::make_tuple(0.5, 0.999)));
    d_opt_ = std::make_unique<torch::optim::Adam>(discriminator_->parameters(),
                                                  torch::optim::AdamOptions(2e-4).betas(std::make_tuple(0.5, 0.999)));
    const genlab::ImageSet& train = data_->train;
    images_ = torch::from_blob(const_cast<uint8_t*>(train.pixels.data()), {train.count, 1, 28, 28}, torch::kUInt8)
                  .to(torch::kFloat)
                  .div_(127.5)
                  .sub_(1.0);  // the example's Normalize(0.5, 0.5) of [0, 1]
  }

  void train_step() {
    if (next_ + kBatchSize > images_.size(0)) order_ = torch::Tensor();
    if (!order_.defined()) order_ = at::randperm(images_.size(0), gen_), next_ = 0;  // a shuffled epoch
    auto real_images = images_.index_select(0, order_.slice(0, next_, next_ + kBatchSize));
    next_ += kBatchSize;
    ++steps_;

    discriminator_->zero_grad();
    auto real_labels = torch::empty(kBatchSize).uniform_(0.8, 1.0, gen_);
    auto real_output = discriminator_->forward(real_images).reshape(real_labels.sizes());
    auto d_loss_real = torch::binary_cross_entropy(real_output, real_labels);
    d_loss_real.backward();

    auto noise = at::randn({kBatchSize, kNoiseSize, 1, 1}, gen_);
    auto fake_images = generator_->forward(noise);
    auto fake_labels = torch::zeros(kBatchSize);
    auto fake_output = discriminator_->forward(fake_images.detach()).reshape(fake_labels.sizes());
    auto d_loss_fake = torch::binary_cross_entropy(fake_output, fake_labels);
    d_loss_fake.backward();
    d_opt_->step();

    generator_->zero_grad();
    fake_labels.fill_(1);
    fake_output = discriminator_->forward(fake_images).reshape(fake_labels.sizes());
    auto g_loss = torch::binary_cross_entropy(fake_output, fake_labels);
    g_loss.backward();
    g_opt_->step();
  }

  torch::Tensor sample(int n, uint64_t seed) {  // [0, 1]
    torch::NoGradGuard no_grad;
    generator_->eval();
    auto noise = at::randn({n, kNoiseSize, 1, 1}, at::detail::createCPUGenerator(seed));
    auto images = (generator_->forward(noise) + 1) * 0.5;
    generator_->train();
    return images.clamp(0, 1);
  }

  int64_t steps() const { return steps_; }
  double epochs() const { return double(steps_ * kBatchSize) / double(images_.size(0)); }

 private:
  std::shared_ptr<const genlab::Dataset> data_;
  at::Generator gen_;
  DCGANGenerator generator_{nullptr};
  nn::Sequential discriminator_{nullptr};
  std::unique_ptr<torch::optim::Adam> g_opt_, d_opt_;
  torch::Tensor images_, order_;
  int64_t next_ = 0, steps_ = 0;
};

// ---- the side-by-side run ---------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

struct Score {
  double seconds = 0;
  int64_t steps = 0;
  double epochs = 0;
  genlab::QualityReport report;
};

struct Arm {
  std::string name;
  std::function<void()> step;
  std::function<torch::Tensor(int n, uint64_t seed)> sample;
  std::function<int64_t()> steps;
  std::function<double()> epochs;
  std::vector<Score> scores;
};

// Trains `arm` until its own clock reaches `seconds`, scoring it at every multiple of `every`.
void run_arm(Arm& arm, double seconds, double every, int samples, uint64_t seed, genlab::SampleQuality& quality,
             std::mutex& quality_mutex) {
  genlab::configure_compute_threads(1);
  double trained = 0, next_mark = every;
  while (trained < seconds) {
    const auto t0 = Clock::now();
    arm.step();
    trained += std::chrono::duration<double>(Clock::now() - t0).count();
    if (trained < next_mark && trained < seconds) continue;
    next_mark += every;
    Score score{trained, arm.steps(), arm.epochs(), {}};
    auto images = arm.sample(samples, seed);
    {
      std::lock_guard<std::mutex> lock(quality_mutex);  // SampleQuality caches its floors
      score.report = quality.evaluate(images);
    }
    arm.scores.push_back(score);
    std::printf("%s\n", nlohmann::json{{"arm", arm.name},
                                       {"seconds", score.seconds},
                                       {"steps", score.steps},
                                       {"epochs", score.epochs},
                                       {"fid_lenet", score.report.fid},
                                       {"precision", score.report.precision},
                                       {"recall", score.report.recall}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"genlab's GAN and pytorch/examples' cpp/dcgan side by side: FID-LeNet against training time"};
  double seconds = 450, every = 75;
  int samples = 2000;
  uint64_t seed = 1;
  std::string genlab_json = "{}", classifier_path, dataset = "fashion-mnist";
  cli.add_option("--seconds", seconds, "training seconds of each arm")->check(CLI::PositiveNumber);
  cli.add_option("--every", every, "score each arm after every this many of its training seconds")
      ->check(CLI::PositiveNumber);
  cli.add_option("--samples", samples, "samples per score")->check(CLI::Range(10, 100000));
  cli.add_option("--seed", seed, "seed of both arms' weights and draws");
  cli.add_option("--genlab", genlab_json, "genlab's GAN config as JSON (unset keys: GanConfig's defaults)");
  cli.add_option("--classifier", classifier_path, "LeNet checkpoint for the features (default: the shipped one)");
  cli.add_option("--dataset", dataset, "a 1 x 28 x 28 data set spec");
  CLI11_PARSE(cli, argc, argv);

  try {
    genlab::keep_freed_memory();
    genlab::configure_compute_threads(1);  // torch's and OpenBLAS's pools: one thread per arm
    auto data = std::make_shared<const genlab::Dataset>(genlab::load_dataset(dataset));
    if (data->channels != 1 || data->height != 28 || data->width != 28)
      throw std::invalid_argument(dataset + ": the example's DCGAN draws 1 x 28 x 28 images");
    if (classifier_path.empty()) classifier_path = genlab::find_shipped_model("classifier-fashion.safetensors");
    genlab::SampleQuality quality(genlab::load_classifier(classifier_path), data);
    std::mutex quality_mutex;

    nlohmann::json overrides = nlohmann::json::parse(genlab_json, nullptr, false);
    if (!overrides.is_object()) throw std::invalid_argument("--genlab '" + genlab_json + "' is not a JSON object");
    nlohmann::json config_json = nlohmann::json::parse(genlab::GanConfig{}.to_json());
    config_json.update(overrides);
    config_json["seed"] = seed;
    genlab::GanConfig config = genlab::GanConfig::from_json(config_json.dump());
    genlab::GanTrainer genlab_gan(config, data);
    CppDcgan example(data, seed);

    std::vector<Arm> arms(2);
    arms[0] = {"genlab", [&] { genlab_gan.train_step(); },
               [&](int n, uint64_t s) { return genlab::gan_samples(genlab_gan)(n, s, {}).images; },
               [&] { return genlab_gan.step(); }, [&] { return genlab_gan.epoch(); }, {}};
    arms[1] = {"cpp/dcgan", [&] { example.train_step(); },
               [&](int n, uint64_t s) { return example.sample(n, s); }, [&] { return example.steps(); },
               [&] { return example.epochs(); }, {}};
    std::fprintf(stderr, "genlab config: %s\n", genlab_gan.config().to_json().c_str());
    std::vector<std::thread> threads;
    for (Arm& arm : arms)
      threads.emplace_back([&, a = &arm] { run_arm(*a, seconds, every, samples, seed, quality, quality_mutex); });
    for (auto& t : threads) t.join();

    const auto floors = quality.floors(samples);
    std::printf("\nFID-LeNet of %d samples (floors: train vs test %.2f, test vs test %.2f)\n", samples,
                floors.train_vs_test, floors.test_vs_test);
    std::printf("%10s %14s %14s\n", "seconds", "genlab", "cpp/dcgan");
    for (size_t i = 0; i < std::min(arms[0].scores.size(), arms[1].scores.size()); ++i)
      std::printf("%10.0f %14.2f %14.2f\n", arms[0].scores[i].seconds, arms[0].scores[i].report.fid,
                  arms[1].scores[i].report.fid);
    for (const Arm& arm : arms)
      std::printf("%s: %lld steps, %.2f epochs, %.1f steps/s\n", arm.name.c_str(), (long long)arm.scores.back().steps,
                  arm.scores.back().epochs, double(arm.scores.back().steps) / arm.scores.back().seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gan_vs_dcgan: %s\n", e.what());
    return 2;
  }
}
