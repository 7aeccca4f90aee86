// genlab-cli end to end: JSON output, and one-line errors with exit code 2 for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "run_command.h"

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
  CommandResult r = run_command(kCli + " --threads 1 bench --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["matmul_gflops"].get<double>(), 0.0);
  EXPECT_TRUE(j["device"] == "cpu" || j["device"] == "cuda");
  EXPECT_FALSE(j["blas"].get<std::string>().empty());
}

TEST(Cli, WarnsOnStderrWhenLibTorchRunsOnTheReferenceBlas) {
  const std::string reference = "/usr/lib/x86_64-linux-gnu/blas";
  if (!std::filesystem::exists(reference + "/libblas.so.3")) GTEST_SKIP() << "reference BLAS not installed";
  CommandResult r = run_command("LD_LIBRARY_PATH=" + reference + " " + kCli + " bench --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["blas"].get<std::string>().find(reference), std::string::npos) << j.dump();
  EXPECT_NE(r.err.find("slow BLAS"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1);
}
