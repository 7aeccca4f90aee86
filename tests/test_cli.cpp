// genlab-cli end to end: JSON output, and one-line errors with exit code 2 for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_command.h"

#include <unistd.h>

namespace {

const std::string kCli = GENLAB_CLI;
const bool kHaveFashion = std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");

}  // namespace

TEST(Cli, DataPrintsTheFashionMnistSummaryAsJson) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  CommandResult r = run_command(kCli + " data --dataset fashion-mnist --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["train"], 60000);
  EXPECT_EQ(j["test"], 10000);
  EXPECT_EQ(j["shape"], nlohmann::json::array({1, 28, 28}));
  ASSERT_EQ(j["classes"].size(), 10u);
  EXPECT_EQ(j["classes"][0], "T-shirt/top");
  EXPECT_EQ(j["classes"][9], "Ankle boot");
  EXPECT_EQ(j["class_counts"]["train"], nlohmann::json(std::vector<int>(10, 6000)));
}

TEST(Cli, BadDataSetIsOneLineOnStderrAndExitCodeTwo) {
  for (const std::string spec : {"mnist:/nonexistent/dir", "folder:/nonexistent/images", "no-such-set"}) {
    CommandResult r = run_command(kCli + " data --dataset " + spec + " --json");
    EXPECT_EQ(r.exit_code, 2) << spec;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  CommandResult r = run_command(kCli + " data --dataset mnist:/nonexistent/dir");
  EXPECT_NE(r.err.find("/nonexistent/dir"), std::string::npos) << r.err;
}

TEST(Cli, BadOptionsExitTwo) {
  EXPECT_EQ(run_command(kCli + " data --image-size 0").exit_code, 2);
  EXPECT_EQ(run_command(kCli + " data --no-such-flag").exit_code, 2);
  EXPECT_EQ(run_command(kCli + " frobnicate").exit_code, 2);
  EXPECT_EQ(run_command(kCli).exit_code, 2);
  EXPECT_EQ(run_command(kCli + " --threads -3 bench").exit_code, 2);
  EXPECT_EQ(run_command(kCli + " --help").exit_code, 0);
}

TEST(Cli, BenchReportsTheMachine) {
  CommandResult r = run_command(kCli + " --threads 1 bench --json --repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["matmul_gflops"].get<double>(), 0.0);
  EXPECT_TRUE(j["device"] == "cpu" || j["device"] == "cuda");
  EXPECT_FALSE(j["blas"].get<std::string>().empty());
  // A guided step is one batch of twice the images: it costs more than an unguided one.
  EXPECT_GT(j["unet_step_ms"]["batch16_cfg"].get<double>(), j["unet_step_ms"]["batch16"].get<double>());
  EXPECT_GT(j["unet_step_ms"]["batch1"].get<double>(), 0);
  for (const char* figure : {"vae_train_images_per_s", "gan_train_images_per_s", "ddpm_train_images_per_s",
                             "classifier_train_images_per_s", "vae_decode_ms", "gan_sample_ms_batch1"})
    EXPECT_GT(j["models"][figure].get<double>(), 0) << figure;
  // Sampling 64 images costs more than one.
  EXPECT_GT(j["models"]["gan_sample_ms_batch64"].get<double>(), j["models"]["gan_sample_ms_batch1"].get<double>());
}

TEST(Cli, WarnsOnStderrWhenLibTorchRunsOnTheReferenceBlas) {
  const std::string reference = "/usr/lib/x86_64-linux-gnu/blas";
  if (!std::filesystem::exists(reference + "/libblas.so.3")) GTEST_SKIP() << "reference BLAS not installed";
  CommandResult r = run_command("LD_LIBRARY_PATH=" + reference + " " + kCli + " bench --json --machine");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["blas"].get<std::string>().find(reference), std::string::npos) << j.dump();
  EXPECT_NE(r.err.find("slow BLAS"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1);
}

TEST(Cli, TrainsAndEvaluatesAVae) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string ckpt = ::testing::TempDir() + "genlab_cli_vae_" + std::to_string(getpid()) + ".safetensors";
  CommandResult train = run_command(kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps 30 --seed 5 --out " + ckpt);
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto summary = nlohmann::json::parse(train.out);
  EXPECT_EQ(summary["steps"], 30);
  EXPECT_EQ(summary["latent"], 8);
  EXPECT_GT(summary["images_per_s"].get<double>(), 0);
  EXPECT_GT(summary["test"]["kl"].get<double>(), 0);

  CommandResult eval = run_command(kCli + " --threads 1 eval --ckpt " + ckpt + " --iwae-k 20 --iwae-images 20 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  auto figures = nlohmann::json::parse(eval.out);
  EXPECT_EQ(figures["step"], 30);
  EXPECT_EQ(figures["test_images"], 10000);
  double elbo = figures["neg_elbo_nats"], iwae = figures["neg_iwae_nats"];
  EXPECT_GT(elbo, 0);
  EXPECT_LT(iwae, elbo + 2.0);
  // The gray-target reconstruction figure is deterministic: a second eval repeats it exactly.
  auto again = nlohmann::json::parse(run_command(kCli + " --threads 1 eval --ckpt " + ckpt + " --iwae-images 0 --json").out);
  EXPECT_EQ(again["recon_bce_gray"], figures["recon_bce_gray"]);

  CommandResult resumed =
      run_command(kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps 40 --resume " + ckpt + " --out " + ckpt);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["steps"], 40);
}

TEST(Cli, BadTrainingAndEvalInputExitTwo) {
  const std::string out = " --out /tmp/genlab_never_written.safetensors";
  EXPECT_EQ(run_command(kCli + " train --latent 1" + out).exit_code, 2);
  EXPECT_EQ(run_command(kCli + " train --epochs 1 --steps 5" + out).exit_code, 2);
  EXPECT_EQ(run_command(kCli + " train --model gan2" + out).exit_code, 2);
  EXPECT_EQ(run_command(kCli + " train --steps 5").exit_code, 2);  // no --out
  CommandResult missing = run_command(kCli + " eval --ckpt /nonexistent/m.safetensors");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(count_lines(missing.err), 1);
  EXPECT_NE(missing.err.find("/nonexistent/m.safetensors"), std::string::npos);
  CommandResult not_a_checkpoint = run_command(kCli + " eval --ckpt " + std::string(GENLAB_CLI));
  EXPECT_EQ(not_a_checkpoint.exit_code, 2) << not_a_checkpoint.err;
  EXPECT_EQ(count_lines(not_a_checkpoint.err), 1) << not_a_checkpoint.err;
}

TEST(Cli, SampleGridsCarryTheirParameters) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string base = ::testing::TempDir() + "genlab_cli_ddpm_" + std::to_string(getpid());
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model ddpm --cond --steps 2 --batch 8 --out " + base + ".safetensors").exit_code, 0);
  CommandResult r = run_command(kCli + " --threads 1 sample --ckpt " + base +
                                ".safetensors --sampler ddim --steps 3 --cfg 2.5 --class 4 --seed 9 --n 2 --out " + base +
                                ".png --gif " + base + ".gif");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream gif(base + ".gif", std::ios::binary);
  std::string magic(6, '\0');
  gif.read(magic.data(), 6);
  EXPECT_EQ(magic, "GIF89a");
  EXPECT_EQ(run_command(kCli + " sample --ckpt " + base + ".safetensors --out x.png --gif run.png").exit_code, 2);
  CommandResult bad = run_command(kCli + " sample --ckpt " + base + ".safetensors --steps 0 --out " + base + "_bad.png");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(run_command(kCli + " sample --ckpt " + base + ".safetensors --sampler euler --out x.png").exit_code, 2);
  EXPECT_EQ(run_command(kCli + " sample --ckpt " + base + ".safetensors --class 10 --out x.png").exit_code, 2);
  EXPECT_EQ(run_command(kCli + " sample --ckpt " + base + ".safetensors --cfg nan --out x.png").exit_code, 2);
  // The PNG's genlab text chunk holds the parameters.
  std::ifstream in(base + ".png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const size_t at = bytes.find("genlab");
  ASSERT_NE(at, std::string::npos);
  auto params = nlohmann::json::parse(bytes.substr(at + 7, bytes.find('}', at) - at - 6));
  EXPECT_EQ(params["sampler"], "ddim");
  EXPECT_EQ(params["steps"], 3);
  EXPECT_EQ(params["cfg"], 2.5);
  EXPECT_EQ(params["class"], 4);
  EXPECT_EQ(params["seed"], 9);
}

TEST(Cli, EvalScoresGanAndDiffusionSamplesWithTheirFloors) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string base = ::testing::TempDir() + "genlab_cli_quality_" + std::to_string(getpid());
  const std::string classifier = base + "_lenet.safetensors";
  CommandResult c = run_command(kCli + " --threads 1 train --model classifier --steps 30 --out " + classifier);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_GT(nlohmann::json::parse(c.out)["metrics"]["test_accuracy"].get<double>(), 0.3);
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model gan --cond --steps 2 --out " + base + "_gan.safetensors").exit_code, 0);
  CommandResult gan = run_command(kCli + " --threads 1 eval --ckpt " + base + "_gan.safetensors --classifier " + classifier +
                                  " --samples 40 --json");
  ASSERT_EQ(gan.exit_code, 0) << gan.err;
  auto g = nlohmann::json::parse(gan.out);
  EXPECT_EQ(g["model"], "gan");
  EXPECT_EQ(g["quality"]["samples"], 40);
  // An untrained G is far from the data: its FID is above the floor of a perfect generator.
  EXPECT_GT(g["quality"]["fid"].get<double>(), g["quality"]["fid_floors"]["train_vs_test"].get<double>());
  EXPECT_EQ(g["quality"]["class_accuracy"].size(), 10u);

  ASSERT_EQ(run_command(kCli + " --threads 1 train --model ddpm --cond --steps 2 --batch 8 --out " + base + "_ddpm.safetensors").exit_code, 0);
  CommandResult ddpm = run_command(kCli + " --threads 1 eval --ckpt " + base + "_ddpm.safetensors --classifier " +
                                   classifier + " --samples 20 --curve-samples 20 --steps 2 --json");
  ASSERT_EQ(ddpm.exit_code, 0) << ddpm.err;
  auto d = nlohmann::json::parse(ddpm.out);
  ASSERT_EQ(d["cfg_curve"].size(), 6u);  // w = 0, 1, 1.5, 2, 3, 5
  EXPECT_EQ(d["cfg_curve"][4]["cfg"], 3.0);
  EXPECT_TRUE(d["cfg_curve"][0].contains("accuracy"));
  // A classifier that is not one, and a missing file: one line, exit 2.
  EXPECT_EQ(run_command(kCli + " eval --ckpt " + base + "_gan.safetensors --classifier " + base + "_ddpm.safetensors").exit_code, 2);
  EXPECT_EQ(run_command(kCli + " eval --ckpt " + base + "_gan.safetensors --classifier " + base + "_none.safetensors").exit_code, 2);
}
