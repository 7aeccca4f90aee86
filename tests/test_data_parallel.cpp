// Data-parallel training end to end, on loopback: 2 ranks take the steps of 1 process, a killed rank
// stops the run with one line and a checkpoint that resumes with another world size, and a rank
// started unlike the others is refused at the rendezvous.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_command.h"

namespace {

const std::string kCli = GENLAB_CLI;

struct Checkpoint {
  std::map<std::string, std::vector<float>> tensors;
  nlohmann::json metadata;
};

// A float32 .safetensors file, read with no help from genlab: the test checks what was written.
Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  Checkpoint out;
  if (bytes.size() < 8) return out;
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_size));
  const size_t data = 8 + header_size;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      out.metadata = nlohmann::json::parse(entry["genlab"].get<std::string>());
      continue;
    }
    if (entry["dtype"] != "F32") continue;
    const size_t begin = entry["data_offsets"][0], end = entry["data_offsets"][1];
    std::vector<float> values((end - begin) / 4);
    std::memcpy(values.data(), bytes.data() + data + begin, end - begin);
    out.tensors[name] = values;
  }
  return out;
}

struct Difference {
  double largest = 0;  // of one weight, relative to the largest weight of its tensor
  double mean = 0;     // mean |a - b| over all weights, relative to the mean |a|
};

Difference difference(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  Difference out;
  double sum_difference = 0, sum_size = 0;
  for (const auto& [name, values] : a.tensors) {
    auto other = b.tensors.find(name);
    if (other == b.tensors.end() || other->second.size() != values.size()) {
      ADD_FAILURE() << name << " is missing or of another size";
      return {INFINITY, INFINITY};
    }
    double scale = 1e-3;
    for (float v : values) scale = std::max(scale, double(std::fabs(v)));
    for (size_t i = 0; i < values.size(); ++i) {
      const double d = std::fabs(double(values[i]) - double(other->second[i]));
      out.largest = std::max(out.largest, d / scale);
      sum_difference += d;
      sum_size += std::fabs(double(values[i]));
    }
  }
  out.mean = sum_difference / std::max(sum_size, 1e-30);
  return out;
}

}  // namespace

TEST(DataParallel, TwoRanksTakeTheStepsOfOneProcessAndResumeAlone) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("dp_equal");
  // Models without batch statistics: the conv VAE and the GroupNorm U-Net of the DDPM. Each rank
  // takes its half of every batch; the VAE's odd batch splits 24 + 23, which only a sum weighted
  // by each rank's share of the batch gets right.
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"vae", "--model vae --batch 47 --seed 3"},
      {"ddpm", "--model ddpm --batch 8 --seed 3"},
  };
  for (const auto& [name, options] : runs) {
    SCOPED_TRACE(name);
    const std::string one = dir + "/" + name + "_one.safetensors", two = dir + "/" + name + "_two.safetensors";
    CommandResult alone = run_command(kCli + " --threads 1 train " + options + " --steps 8 --out " + one);
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    // 2 ranks for 4 steps, then 1 process for the last 4 from their checkpoint: another world size.
    CommandResult ranks = run_command(kCli + " --threads 1 train " + options + " --steps 4 --nproc 2 --out " + two);
    ASSERT_EQ(ranks.exit_code, 0) << ranks.err;
    EXPECT_NE(ranks.err.find("data-parallel: 2 ranks; all-reduce"), std::string::npos) << ranks.err;
    EXPECT_EQ(count_lines(ranks.out), 1) << "only rank 0 prints the summary: " << ranks.out;
    const Checkpoint halfway = read_checkpoint(two);
    EXPECT_EQ(halfway.metadata["step"], 4);
    CommandResult resumed = run_command(kCli + " --threads 1 train " + options + " --steps 8 --resume " + two + " --out " + two);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

    const Checkpoint a = read_checkpoint(one), b = read_checkpoint(two);
    ASSERT_FALSE(a.tensors.empty());
    EXPECT_EQ(b.metadata["step"], 8);
    const Difference ranks_vs_one = difference(a, b), steps = difference(halfway, b);
    std::cout << name << ": 2 ranks vs 1 process: largest " << ranks_vs_one.largest << ", mean " << ranks_vs_one.mean
              << "; 4 steps: largest " << steps.largest << ", mean " << steps.mean << "\n";
    // Float sums in another order, through 8 Adam steps: the weights agree to ~1e-7 on average
    // (measured: 5e-8 VAE, 1e-7 DDPM), while 4 more steps move them by ~1e-2 (7e-2, 2e-2). Adam
    // turns float noise in a gradient near zero into up to a whole step for a single weight, so
    // the largest single difference is bounded loosely (measured 8e-4 VAE, 6e-5 DDPM; 4 steps: 0.3, 1.5).
    EXPECT_LT(ranks_vs_one.mean, 1e-5);
    EXPECT_LT(ranks_vs_one.largest, 1e-2);
    EXPECT_GT(steps.mean, 1e-3) << "the last 4 steps changed nothing";
  }
  std::filesystem::remove_all(dir);
}

TEST(DataParallel, AKilledRankStopsTheOthersWithOneLineAndTheRunGoesOn) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("dp_kill"), ckpt = dir + "/vae.safetensors";
  // Train "forever" with 2 ranks, writing every second; once a checkpoint is there, kill rank 1.
  const std::string train = kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps 1000000 "
                                   "--checkpoint-every 1 --rank-timeout 20 --nproc 2 --out " + ckpt;
  CommandResult r = run_command("sh -c '" + train + " & pid=$!; while [ ! -e " + ckpt +
                                " ]; do sleep 0.2; done; sleep 0.5; pkill -9 -f -- \"" + ckpt +
                                ".*[-]-rank 1 \"; wait $pid; echo exit=$?'");  // [-]: not this shell's own line
  EXPECT_NE(r.out.find("exit=1"), std::string::npos) << r.out << r.err;
  // The launcher's line names the rank, its signal and its last step; rank 0's says where it saved.
  EXPECT_NE(r.err.find("genlab-cli: rank 1 (pid "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("was killed by signal 9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("after step "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("genlab-cli (rank 0): error: lost the other ranks at step "), std::string::npos) << r.err;
  const size_t saved = r.err.find("; saved step ");
  ASSERT_NE(saved, std::string::npos) << r.err;
  const int64_t step = std::stoll(r.err.substr(saved + 13));
  EXPECT_EQ(read_checkpoint(ckpt).metadata["step"], step);
  // --resume with another world size (1) and with the same (2) goes on from there.
  CommandResult alone = run_command(kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps " +
                                    std::to_string(step + 3) + " --resume " + ckpt + " --out " + ckpt);
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(nlohmann::json::parse(alone.out)["steps"], step + 3);
  CommandResult two = run_command(kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps " +
                                  std::to_string(step + 6) + " --nproc 2 --resume " + ckpt + " --out " + ckpt);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(nlohmann::json::parse(two.out)["steps"], step + 6);
  std::filesystem::remove_all(dir);
}

TEST(DataParallel, ARankStartedUnlikeTheOthersIsRefusedAtTheRendezvous) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("dp_unlike");
  // Two ranks started by hand, as on two machines, with another learning rate on rank 1.
  const std::string master = "127.0.0.1:" + std::to_string(20000 + getpid() % 20000);
  auto rank = [&](int r, const std::string& lr) {
    return kCli + " --threads 1 train --model vae --arch mlp --steps 5 --lr " + lr + " --rank " + std::to_string(r) +
           " --world-size 2 --rank-timeout 30 --master " + master + " --out " + dir + "/vae.safetensors";
  };
  CommandResult r = run_command("sh -c '(" + rank(0, "0.001") + "; echo rank0=$?) & (" + rank(1, "0.002") +
                                "; echo rank1=$?); wait'");
  EXPECT_NE(r.out.find("rank0=2"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("rank1=2"), std::string::npos) << r.out << r.err;
  const std::string why = "rank 1 was started unlike rank 0: config.learning_rate is 0.002 there, 0.001 on rank 0";
  EXPECT_NE(r.err.find("genlab-cli (rank 0): " + why), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("genlab-cli (rank 1): " + why), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 2) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/vae.safetensors"));

  // Options that cannot make a run: one line each, exit 2.
  for (const std::string& bad : {std::string("--nproc 2 --rank 0"), std::string("--rank 0 --world-size 2"),
                                 std::string("--rank 2 --world-size 2 --master 127.0.0.1:1"),
                                 std::string("--rank 0 --world-size 2 --master nohost")}) {
    CommandResult refused = run_command(kCli + " --threads 1 train --model vae --steps 5 " + bad + " --out " + dir + "/x.safetensors");
    EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.err;
    EXPECT_EQ(count_lines(refused.err), 1) << bad << ": " << refused.err;
  }
  std::filesystem::remove_all(dir);
}
