// The diffusion U-Net: shapes, the zero-initialised output, class conditioning with the null label,
// the time embedding, gradient flow, its size, a tiny overfit, and its config.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include "core/diffusion/unet.h"

#include <mutex>
#include <thread>

#include "core/compute/batch_halves.h"

using namespace genlab;

namespace {

UNetConfig config_with(int channels, int base = 16, int mid = 32) {
  UNetConfig c;
  c.channels = channels;
  c.base = base;
  c.mid = mid;
  return c;
}

// The zero output conv hides everything behind it; a random one makes the net non-trivial.
void randomize_output_conv(UNet& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters())
    if (p.key().rfind("out_conv.", 0) == 0) p.value().normal_(0, 0.1);
}

torch::Tensor timesteps(std::vector<int64_t> values) { return torch::tensor(values, torch::kLong); }

void expect_invalid(const UNetConfig& c, const std::string& fragment) {
  try {
    c.validate();
    ADD_FAILURE() << "expected std::invalid_argument mentioning '" << fragment << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(UNet, OutputShapeEqualsInputShape) {
  torch::manual_seed(0);
  for (int channels : {1, 3}) {
    UNet net(config_with(channels));
    auto x = torch::randn({3, channels, 28, 28});
    auto out = net->forward(x, timesteps({0, 500, 999}), torch::tensor({0, 3, 10}, torch::kLong));
    EXPECT_EQ(out.sizes(), x.sizes()) << channels << " channels";
  }
}

TEST(UNet, UntrainedNetPredictsZeroUntilOneStep) {
  torch::manual_seed(1);
  UNet net(config_with(1));
  auto x = torch::randn({4, 1, 28, 28});
  auto t = timesteps({1, 10, 100, 900});
  auto labels = torch::tensor({0, 1, 2, 10}, torch::kLong);
  EXPECT_TRUE(torch::equal(net->forward(x, t, labels), torch::zeros_like(x)));

  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-3));
  auto loss = torch::mse_loss(net->forward(x, t, labels), torch::randn_like(x));
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  EXPECT_GT(net->forward(x, t, labels).abs().max().item<float>(), 0.f);
}

TEST(UNet, ClassLabelChangesOutputAndUndefinedMeansNull) {
  torch::manual_seed(2);
  UNet net(config_with(1));
  randomize_output_conv(net);
  auto x = torch::randn({2, 1, 28, 28});
  auto t = timesteps({50, 700});
  auto zeros = net->forward(x, t, torch::zeros({2}, torch::kLong));
  auto ones = net->forward(x, t, torch::ones({2}, torch::kLong));
  EXPECT_GT((zeros - ones).abs().max().item<float>(), 1e-4f);

  auto null = net->forward(x, t, torch::full({2}, net->null_label(), torch::kLong));
  EXPECT_TRUE(torch::equal(net->forward(x, t), null));
}

TEST(UNet, TimestepEmbedding) {
  auto emb = timestep_embedding(timesteps({0, 1, 500}), 64);
  ASSERT_EQ(emb.sizes(), (std::vector<int64_t>{3, 64}));
  auto expected_t0 = torch::cat({torch::zeros({32}), torch::ones({32})});
  EXPECT_TRUE(torch::allclose(emb[0], expected_t0));
  EXPECT_GT((emb[1] - emb[2]).abs().max().item<float>(), 1e-3f);
  EXPECT_GT((emb[0] - emb[1]).abs().max().item<float>(), 1e-3f);
}

TEST(UNet, GradientsReachTheFirstConv) {
  torch::manual_seed(3);
  UNet net(config_with(3));
  randomize_output_conv(net);
  auto x = torch::randn({2, 3, 28, 28});
  auto loss = torch::mse_loss(net->forward(x, timesteps({10, 400})), torch::randn_like(x));
  loss.backward();
  auto params = net->named_parameters();
  ASSERT_TRUE(params.contains("in_conv.weight"));
  auto grad = params["in_conv.weight"].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_GT(grad.abs().sum().item<float>(), 0.f);
}

TEST(UNet, DefaultParameterCount) {
  UNet net(UNetConfig{});
  int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  std::printf("default U-Net parameters: %lld\n", static_cast<long long>(count));
  EXPECT_GT(count, 100000);
  EXPECT_LT(count, 1500000);
}

// DDPM training on one fixed image must memorise it: the eps loss falls well below its start.
TEST(UNet, OverfitsOneImage) {
  torch::manual_seed(4);
  const int64_t T = 1000, batch = 16, steps = 200;
  auto alpha_bar = torch::cumprod(1 - torch::linspace(1e-4, 0.02, T), 0);
  UNetConfig config = config_with(1, 16, 32);
  config.classes = 0;
  UNet net(config);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(2e-3));
  auto x0 = torch::zeros({1, 1, 28, 28});
  x0.slice(2, 6, 20).slice(3, 8, 22).fill_(1.0);  // a bright square on a dark field
  x0 = x0 * 2 - 1;

  std::vector<float> losses;
  for (int64_t step = 0; step < steps; ++step) {
    auto t = torch::randint(0, T, {batch}, torch::kLong);
    auto ab = alpha_bar.index_select(0, t).view({batch, 1, 1, 1});
    auto eps = torch::randn({batch, 1, 28, 28});
    auto x_t = torch::sqrt(ab) * x0 + torch::sqrt(1 - ab) * eps;
    auto loss = torch::mse_loss(net->forward(x_t, t), eps);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    losses.push_back(loss.item<float>());
  }
  float first = 0, last = 0;
  for (int i = 0; i < 10; ++i) {
    first += losses[i] / 10;
    last += losses[steps - 1 - i] / 10;
  }
  std::printf("overfit loss: first 10 %.4f, last 10 %.4f\n", first, last);
  EXPECT_LT(last, 0.5f * first);
}

TEST(UNetConfig, ValidationNamesTheBadValue) {
  EXPECT_NO_THROW(UNetConfig{}.validate());
  UNetConfig c;
  c.channels = 2;
  expect_invalid(c, "channels 2");
  c = {};
  c.image_size = 30;
  expect_invalid(c, "image size 30");
  c = {};
  c.image_size = 4;
  expect_invalid(c, "image size 4");
  c = {};
  c.base = 300;
  expect_invalid(c, "base 300");
  c = {};
  c.mid = 7;
  expect_invalid(c, "mid 7");
  c = {};
  c.classes = -1;
  expect_invalid(c, "classes -1");
  c = {};
  c.time_dim = 33;
  expect_invalid(c, "time_dim 33");
  c = {};
  c.time_dim = 2048;
  expect_invalid(c, "time_dim 2048");
  EXPECT_THROW(UNet{c}, std::invalid_argument);
}

TEST(UNetConfig, JsonRoundTrip) {
  UNetConfig c;
  c.channels = 3;
  c.image_size = 32;
  c.base = 24;
  c.mid = 48;
  c.classes = 0;
  c.time_dim = 64;
  UNetConfig back = UNetConfig::from_json(c.to_json());
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.image_size, 32);
  EXPECT_EQ(back.base, 24);
  EXPECT_EQ(back.mid, 48);
  EXPECT_EQ(back.classes, 0);
  EXPECT_EQ(back.time_dim, 64);

  EXPECT_THROW(UNetConfig::from_json("not json"), std::invalid_argument);
  EXPECT_THROW(UNetConfig::from_json("[1, 2]"), std::invalid_argument);
  EXPECT_THROW(UNetConfig::from_json(R"({"channels": 1})"), std::invalid_argument);
  EXPECT_THROW(UNetConfig::from_json(R"({"channels": 1, "image_size": 28, "base": 32, "mid": 64,
                                         "classes": 10, "time_dim": "wide"})"),
               std::invalid_argument);
  EXPECT_THROW(UNetConfig::from_json(R"({"channels": 2, "image_size": 28, "base": 32, "mid": 64,
                                         "classes": 10, "time_dim": 128})"),
               std::invalid_argument);
}

TEST(UNet, WorksOnOtherSizesAndOddGroupWidths) {
  UNetConfig c = config_with(3, 12, 20);
  c.image_size = 12;
  c.classes = 0;
  UNet net(c);
  auto x = torch::randn({2, 3, 12, 12});
  EXPECT_EQ(net->forward(x, timesteps({3, 4})).sizes(), x.sizes());
}

TEST(UNet, ForwardFlopsAreTheLayersMultiplyAddsCountedByHand) {
  UNet net(UNetConfig{});  // 1 x 28 x 28, base 32, mid 64, embedding 128
  auto conv = [](double in, double out, double k, double pixels) { return 2 * in * out * k * k * pixels; };
  const double full = 784, half = 196, quarter = 49, embed = 2 * 128.0;
  const double expected = 2 * 2 * 128.0 * 128                                                // time MLP
                          + conv(1, 32, 3, full)                                              // in
                          + 2 * conv(32, 32, 3, full) + embed * 32                            // enc1
                          + conv(32, 64, 3, half) + 2 * conv(64, 64, 3, half) + embed * 64    // down1, enc2
                          + conv(64, 64, 3, quarter) + 2 * conv(64, 64, 3, quarter) + embed * 64  // down2, middle
                          + conv(64, 64, 3, half) + conv(128, 64, 3, half) + conv(64, 64, 3, half) +
                          conv(128, 64, 1, half) + embed * 64                                 // up2, dec2
                          + conv(64, 32, 3, full) + conv(64, 32, 3, full) + conv(32, 32, 3, full) +
                          conv(64, 32, 1, full) + embed * 32                                  // up1, dec1
                          + conv(32, 1, 3, full);                                             // out
  EXPECT_DOUBLE_EQ(net->forward_flops(), expected);
  EXPECT_NEAR(net->forward_flops() / 1e6, 213.4, 0.1);
}

TEST(UNet, ABatchRunsAsTwoHalvesOnTwoThreadsWithTheSameResult) {
  UNet net(UNetConfig{});
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({6, 1, 28, 28});
  auto t = torch::tensor({10, 200, 400, 600, 800, 999}, torch::kLong);
  auto labels = torch::tensor({0, 1, 2, 3, 4, 10}, torch::kLong);
  auto halves = [&](std::vector<std::thread::id>& ran_on, std::vector<bool>& grad) {
    std::mutex m;
    return run_in_halves(6, [&](int64_t first, int64_t count) {
      {
        std::lock_guard<std::mutex> lock(m);
        ran_on.push_back(std::this_thread::get_id());
        grad.push_back(torch::GradMode::is_enabled());
      }
      return net->forward(x.narrow(0, first, count), t.narrow(0, first, count), labels.narrow(0, first, count));
    });
  };
  const int before = torch::get_num_threads();
  torch::set_num_threads(1);
  std::vector<std::thread::id> one_thread;
  std::vector<bool> grad;
  auto whole = halves(one_thread, grad);
  EXPECT_EQ(one_thread.size(), 1u);  // one call on the whole batch
  torch::set_num_threads(2);
  std::vector<std::thread::id> two_threads;
  auto split = halves(two_threads, grad);
  ASSERT_EQ(two_threads.size(), 2u);
  EXPECT_NE(two_threads[0], two_threads[1]);
  EXPECT_EQ(grad, (std::vector<bool>{false, false, false}));  // no-grad reached the helper thread
  EXPECT_EQ(torch::get_num_threads(), 2);                      // the caller's count is back
  EXPECT_TRUE(torch::allclose(split, whole, 1e-5, 1e-5));
  EXPECT_EQ(split.sizes(), x.sizes());
  torch::set_num_threads(before);
}
