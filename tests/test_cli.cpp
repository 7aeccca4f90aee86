// genlab-cli end to end: JSON output, and one-line errors with exit code 2 for bad input.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "run_command.h"

#include <unistd.h>

namespace {

const std::string kCli = GENLAB_CLI;

// Bad input: exit code 2, nothing on stdout, and one line on stderr that holds every fragment (the
// file or value, and the problem).
void expect_bad_input(const std::string& args, const std::vector<std::string>& fragments) {
  SCOPED_TRACE("genlab-cli " + args);
  CommandResult r = run_command(kCli + " " + args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_LT(r.err.size(), 400u) << "not a short line: " << r.err;
  for (const std::string& fragment : fragments)
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "lacks '" << fragment << "': " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string big_endian32(uint32_t value) {
  return {char(value >> 24), char(value >> 16), char(value >> 8), char(value)};
}

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
                             "classifier_train_images_per_s", "vae_decode_ms", "gan_sample_ms_batch1",
                             "vaegan_train_images_per_s", "vqvae_train_images_per_s", "vq_prior_sample_ms_batch1"})
    EXPECT_GT(j["models"][figure].get<double>(), 0) << figure;
  // Sampling 64 images costs more than one.
  EXPECT_GT(j["models"]["gan_sample_ms_batch64"].get<double>(), j["models"]["gan_sample_ms_batch1"].get<double>());
  EXPECT_GT(j["models"]["vq_prior_sample_ms_batch64"].get<double>(), j["models"]["vq_prior_sample_ms_batch1"].get<double>());
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

TEST(Cli, CtrlCDuringTrainingSavesTheRunAndExits130) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("interrupt"), ckpt = dir + "/vae.safetensors";
  // Train "forever", writing every second; once the first checkpoint is there, press Ctrl-C.
  const std::string train = kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps 1000000 "
                                   "--checkpoint-every 1 --out " + ckpt;
  CommandResult r = run_command("sh -c '" + train + " & pid=$!; while [ ! -e " + ckpt +
                                " ]; do sleep 0.2; done; sleep 0.5; kill -INT $pid; wait $pid; echo exit=$?'");
  EXPECT_NE(r.out.find("exit=130"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("genlab-cli: interrupted: saved " + ckpt + "; go on with --resume " + ckpt), std::string::npos)
      << r.err;
  auto summary = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  EXPECT_TRUE(summary["interrupted"].get<bool>());
  const int64_t steps = summary["steps"];
  EXPECT_GT(steps, 0);
  // The checkpoint holds the step it stopped at, and the run goes on from there.
  CommandResult resumed = run_command(kCli + " --threads 1 train --model vae --arch mlp --latent 8 --steps " +
                                      std::to_string(steps + 5) + " --resume " + ckpt + " --out " + ckpt);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["steps"], steps + 5);
  std::filesystem::remove_all(dir);
}

TEST(Cli, TrainsOnCudaOrSaysInOneLineWhyNot) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("cuda"), ckpt = dir + "/vae.safetensors";
  CommandResult r = run_command(kCli + " --threads 1 train --model vae --arch mlp --steps 3 --device cuda --out " + ckpt);
  if (r.exit_code == 0) {  // a CUDA LibTorch with a GPU
    EXPECT_EQ(nlohmann::json::parse(r.out)["steps"], 3);
  } else {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "genlab-cli: --device cuda: no CUDA device here (this LibTorch is a CPU build, or no GPU is visible)\n");
    EXPECT_FALSE(std::filesystem::exists(ckpt));
  }
  expect_bad_input("--threads 1 train --model classifier --device cuda --steps 3 --out " + ckpt,
                   {"--device cuda", "the classifier trains on the CPU"});
  std::filesystem::remove_all(dir);
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

TEST(Cli, DistilsAFewStepStudentThatSamplesInItsOwnStepsAndRefusesOthers) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("student");
  const std::string teacher = dir + "/t.safetensors", student = dir + "/t-student.safetensors";
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model ddpm --cond --steps 2 --batch 8 --out " + teacher).exit_code, 0);
  CommandResult r = run_command(kCli + " --threads 1 train --model ddpm --teacher " + teacher +
                                " --student-steps 2 --trajectories 3 --w-max 4 --steps 2 --batch 4 --out " + student);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("teacher runs 3/3"), std::string::npos) << r.err;
  auto result = nlohmann::json::parse(r.out);
  EXPECT_EQ(result["student_steps"], 2);
  EXPECT_EQ(result["steps"], 2);
  const std::string png = dir + "/s.png";
  r = run_command(kCli + " --threads 1 sample --ckpt " + student + " --cfg 3 --n 2 --out " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto record = nlohmann::json::parse(r.out);
  EXPECT_EQ(record["sampler"], "ddim");  // what drew it: the student's own 2 steps
  EXPECT_EQ(record["steps"], 2);
  for (const auto& [options, message] : std::vector<std::pair<std::string, std::string>>{
           {" --steps 20", "takes its own 2 steps"},
           {" --sampler dpmpp2m", "takes its own 2 steps"},
           {" --cfg 5", "--cfg 5 is beyond the 0..4 the student learnt"}}) {
    r = run_command(kCli + " sample --ckpt " + student + options + " --out " + png);
    EXPECT_EQ(r.exit_code, 2) << options;
    EXPECT_NE(r.err.find(message), std::string::npos) << options << ": " << r.err;
  }
  r = run_command(kCli + " eval --ckpt " + student + " --steps-curve --samples 10");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no steps curve"), std::string::npos) << r.err;
  r = run_command(kCli + " train --model ddpm --teacher " + student + " --steps 1 --out " + dir + "/again.safetensors");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is a student already"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
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

TEST(Cli, BrokenDataFilesExitTwoNamingTheFile) {
  const std::string dir = temp_folder("bad_data");
  // 10 noisy 28x28 images in the IDX layout, so gzip has real blocks to cut and damage.
  std::string pixels(10 * 28 * 28, '\0');
  uint32_t state = 7;
  for (char& p : pixels) p = char((state = state * 1664525u + 1013904223u) >> 24);
  const std::string idx = big_endian32(0x803) + big_endian32(10) + big_endian32(28) + big_endian32(28) + pixels;
  const auto gzip = [&](const std::string& file) {
    ASSERT_EQ(run_command("gzip -n -f " + file).exit_code, 0) << file;
  };
  write_bytes(dir + "/magic/train-images-idx3-ubyte", big_endian32(0x12345678) + idx.substr(4));
  write_bytes(dir + "/magic-gz/train-images-idx3-ubyte", big_endian32(0x12345678) + idx.substr(4));
  gzip(dir + "/magic-gz/train-images-idx3-ubyte");
  write_bytes(dir + "/short/train-images-idx3-ubyte", idx.substr(0, idx.size() - 100));
  write_bytes(dir + "/cut-gz/train-images-idx3-ubyte", idx);
  gzip(dir + "/cut-gz/train-images-idx3-ubyte");
  const std::string cut = dir + "/cut-gz/train-images-idx3-ubyte.gz";
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  write_bytes(dir + "/flipped-gz/train-images-idx3-ubyte", idx);
  gzip(dir + "/flipped-gz/train-images-idx3-ubyte");
  const std::string flipped = dir + "/flipped-gz/train-images-idx3-ubyte.gz";
  std::string bytes = read_bytes(flipped);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] ^= char(0xA5);
  write_bytes(flipped, bytes);
  write_bytes(dir + "/not-gz/train-images-idx3-ubyte.gz", "\x1f\x8b not deflate at all");
  // Junk only: files named like images that are not, and litter that is ignored.
  write_bytes(dir + "/junk/a.png", "not a png");
  write_bytes(dir + "/junk/shirts/b.jpg", "\xff\xd8\xff not a jpeg");
  write_bytes(dir + "/junk/notes.txt", "hello");
  write_bytes(dir + "/junk/._c.png", "macOS litter");

  const struct {
    std::string spec, named, problem;
  } cases[] = {
      {"mnist:" + dir + "/magic", dir + "/magic/train-images-idx3-ubyte", "wrong magic number 0x12345678"},
      {"mnist:" + dir + "/magic-gz", dir + "/magic-gz/train-images-idx3-ubyte.gz", "wrong magic number 0x12345678"},
      {"mnist:" + dir + "/short", dir + "/short/train-images-idx3-ubyte", "truncated"},
      {"mnist:" + dir + "/cut-gz", cut, "truncated"},
      {"mnist:" + dir + "/flipped-gz", flipped, "corrupt gzip data"},
      {"mnist:" + dir + "/not-gz", dir + "/not-gz/train-images-idx3-ubyte.gz", "corrupt gzip data"},
      {dir + "/flipped-gz/train-images-idx3-ubyte.gz", flipped, "corrupt gzip data"},  // a dropped file
      {"folder:" + dir + "/junk", dir + "/junk", "no readable images (2 files skipped)"},
      {dir + "/junk", dir + "/junk", "no readable images"},
  };
  for (const auto& c : cases) {
    expect_bad_input("data --dataset " + c.spec, {c.named + ": ", c.problem});
    expect_bad_input("--threads 1 train --model vae --arch mlp --steps 1 --dataset " + c.spec + " --out " + dir + "/m.safetensors",
                     {c.named + ": ", c.problem});
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.safetensors"));
  std::filesystem::remove_all(dir);
}

// A header copy of `file` with the first two-dimensional tensor's dims swapped (the same bytes).
std::string with_transposed_tensor(const std::string& file) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = length << 8 | uint8_t(file[size_t(i)]);
  auto header = nlohmann::json::parse(file.substr(8, length));
  for (auto& [name, tensor] : header.items()) {
    if (name == "__metadata__" || tensor["shape"].size() != 2 || tensor["shape"][0] == tensor["shape"][1]) continue;
    tensor["shape"] = {tensor["shape"][1], tensor["shape"][0]};
    break;
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(char(uint64_t(text.size()) >> (8 * i)));
  return out + text + file.substr(8 + length);
}

TEST(Cli, BrokenAndForeignCheckpointsExitTwoNamingTheFile) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("bad_ckpt");
  const std::string vae = dir + "/vae.safetensors", ddpm = dir + "/ddpm.safetensors";
  const std::string train_vae = "--threads 1 train --model vae --arch mlp --latent 8 --steps 1";
  ASSERT_EQ(run_command(kCli + " " + train_vae + " --out " + vae).exit_code, 0);
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model ddpm --cond --steps 1 --batch 8 --out " + ddpm).exit_code, 0);
  const std::string good = read_bytes(vae);
  const std::string cut = dir + "/cut.safetensors", flipped = dir + "/flipped.safetensors",
                    transposed = dir + "/transposed.safetensors";
  write_bytes(cut, good.substr(0, good.size() / 2));
  std::string bits = good;
  bits[8] ^= 0x01;  // the header's '{' becomes 'z'
  write_bytes(flipped, bits);
  write_bytes(transposed, with_transposed_tensor(good));
  const std::string out = " --out " + dir + "/out.png";

  const struct {
    std::string args, named, problem;
  } cases[] = {
      // Truncated or bit-flipped: every command that reads a checkpoint.
      {"sample --ckpt " + cut + out, cut, "truncated"},
      {"eval --ckpt " + cut, cut, "truncated"},
      {"pack --ckpt " + cut + out, cut, "truncated"},
      {train_vae + " --resume " + cut + out, cut, "truncated"},
      {"sample --ckpt " + flipped + out, flipped, "header is not JSON"},
      {"eval --ckpt " + flipped, flipped, "header is not JSON"},
      {"pack --ckpt " + flipped + out, flipped, "header is not JSON"},
      {train_vae + " --resume " + flipped + out, flipped, "header is not JSON"},
      {"eval --ckpt /dev/zero", "/dev/zero", "not a regular file"},
      {"sample --ckpt " + dir + out, dir, "is a folder"},
      // Right names, wrong shape: the weights do not fit the model.
      {"eval --ckpt " + transposed + " --iwae-images 0", transposed, "has shape"},
      {train_vae + " --resume " + transposed + out, transposed, "has shape"},
      // Another model, or the same model with another shape.
      {"--threads 1 train --model gan --steps 2 --resume " + vae + out, vae, "not a GAN"},
      {"--threads 1 train --model ddpm --steps 2 --resume " + vae + out, vae, "not a diffusion model"},
      {"--threads 1 train --model ddpm --steps 2 --resume " + ddpm + out, ddpm, "another shape"},  // not --cond
      {"--threads 1 train --model vae --arch mlp --latent 4 --steps 2 --resume " + vae + out, vae, "latent 8"},
      {"--threads 1 train --model ae --arch mlp --latent 8 --steps 2 --resume " + vae + out, vae, "not the model asked for"},
      {"eval --ckpt " + ddpm + " --classifier " + vae + " --samples 10", vae, "not a classifier"},
  };
  for (const auto& c : cases) expect_bad_input(c.args, {c.named + ": ", c.problem});
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.png"));
  std::filesystem::remove_all(dir);
}

TEST(Cli, OutOfRangeOptionsExitTwoNamingTheValue) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("bad_options");
  const std::string ddpm = dir + "/ddpm.safetensors", gan = dir + "/gan.safetensors";
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model ddpm --cond --steps 1 --batch 8 --out " + ddpm).exit_code, 0);
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model gan --cond --steps 1 --batch 8 --out " + gan).exit_code, 0);
  const std::string sample = "sample --ckpt " + ddpm + " --out " + dir + "/x.png ";
  const std::string sample_gan = "sample --ckpt " + gan + " --out " + dir + "/x.png ";
  // Scored against a classifier that is never reached: the options are checked first.
  const std::string eval = "eval --ckpt " + ddpm + " --classifier " + dir + "/none.safetensors ";
  const std::string train = "train --out " + dir + "/m.safetensors ";
  const struct {
    std::string args;
    std::vector<std::string> fragments;
  } cases[] = {
      {sample + "--steps 0", {"--steps 0 is not in 1..1000"}},
      {sample + "--steps -3", {"--steps -3 is not in 1..1000"}},
      {sample + "--steps 1001", {"--steps 1001 is not in 1..1000"}},  // above T
      {sample + "--steps many", {"--steps", "many"}},
      {sample + "--sampler euler", {"--sampler", "euler"}},
      {sample + "--cfg strong", {"--cfg", "strong"}},
      {sample + "--cfg nan", {"--cfg", "nan is not a number"}},
      {sample + "--cfg -1", {"--cfg -1", "0..20"}},
      {sample + "--cfg 1e9", {"--cfg 1000000000", "0..20"}},
      {sample + "--eta 2", {"--eta 2", "0..1"}},
      {sample + "--class 10", {"--class 10 is not in 0..9"}},
      {sample + "--class -2", {"--class", "-2"}},
      {sample + "--n 0", {"--n", "0"}},
      {sample + "--n 2000", {"--n 2000 is not in 1..1024"}},
      {sample_gan + "--class 10", {"--class 10 is not in 0..9"}},
      {sample_gan + "--steps 5", {"--steps: ", gan, "not a diffusion model"}},
      {sample_gan + "--sampler ddim", {"--sampler: ", gan, "not a diffusion model"}},
      {eval + "--steps 1001", {"--steps 1001 is not in 1..1000"}},
      {eval + "--steps 0", {"--steps", "0"}},
      {eval + "--cfg nan", {"--cfg", "nan is not a number"}},
      {eval + "--cfg strong", {"--cfg", "strong"}},
      {eval + "--cfg 25", {"--cfg", "25"}},
      {eval + "--sampler euler", {"--sampler", "euler"}},
      {train + "--steps 0", {"--steps: Value 0 is not a positive number"}},
      {train + "--steps -5", {"--steps: Value -5 is not a positive number"}},
      {train + "--epochs nan", {"--epochs: Value nan is not a positive number"}},
      {train + "--epochs inf", {"--epochs: Value inf is not a positive number"}},
      {train + "--epochs 0", {"--epochs: Value 0 is not a positive number"}},
      {train + "--lr nan", {"--lr", "nan is not a number"}},
      {train + "--beta nan", {"--beta", "nan is not a number"}},
      {train + "--model gan --lr-g nan", {"--lr-g", "nan is not a number"}},
      {train + "--batch 0", {"--batch", "0"}},
      {"data --image-size 9999", {"--image-size", "9999"}},
      {"--threads -3 data", {"--threads: Value -3 is not zero or more"}},
  };
  for (const auto& c : cases) expect_bad_input(c.args, c.fragments);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.safetensors"));
  std::filesystem::remove_all(dir);
}

// Every family answers train, sample and eval through one table: a VAE samples its prior, an AE
// decodes N(0, I) codes; train takes the data options of `data` and keeps the curves with the
// checkpoint; nothing is written into the shipped models' folder.
TEST(Cli, EveryFamilySamplesAndTrainTakesTheDataOptions) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("families");
  for (const char* kind : {"vae", "ae"}) {
    SCOPED_TRACE(kind);
    const std::string ckpt = dir + "/" + kind + ".safetensors";
    CommandResult train = run_command(kCli + " --threads 1 train --model " + kind + " --arch mlp --latent 4 --steps 5 --out " + ckpt);
    ASSERT_EQ(train.exit_code, 0) << train.err;
    CommandResult sample = run_command(kCli + " --threads 1 sample --ckpt " + ckpt + " --n 9 --seed 2 --out " + dir + "/prior.png");
    ASSERT_EQ(sample.exit_code, 0) << sample.err;
    auto result = nlohmann::json::parse(sample.out);
    EXPECT_EQ(result["model"], kind);
    EXPECT_EQ(result["n"], 9);
    EXPECT_GT(std::filesystem::file_size(dir + "/prior.png"), 100u);
    // The curves travel with the checkpoint: one smoothed point a step, and the test figure.
    const std::string bytes = read_bytes(ckpt);
    uint64_t header = 0;
    std::memcpy(&header, bytes.data(), 8);
    auto meta = nlohmann::json::parse(nlohmann::json::parse(bytes.substr(8, header))["__metadata__"]["genlab"].get<std::string>());
    EXPECT_EQ(meta["history"]["train"]["rows"].size(), 5u);
    EXPECT_EQ(meta["history"]["test"]["rows"].size(), 1u);
    EXPECT_EQ(meta["history"]["train"]["columns"], nlohmann::json({"step", "recon", "kl", "total"}));
  }
  expect_bad_input("sample --ckpt " + dir + "/vae.safetensors --steps 5 --out " + dir + "/x.png",
                   {"--steps: ", dir + "/vae.safetensors", "not a diffusion model"});
  expect_bad_input("sample --ckpt " + dir + "/vae.safetensors --class 1 --out " + dir + "/x.png",
                   {"--class: ", "not a conditional model"});

  // A folder of colour pictures trains at the size and in the colours asked for.
  for (int i = 0; i < 12; ++i) {
    std::string ppm = "P6\n40 40\n255\n";
    for (int p = 0; p < 40 * 40; ++p) ppm += {char(i * 20), char(p % 40 * 6), char(200 - i * 10)};
    write_bytes(dir + "/pics/p" + std::to_string(i) + ".ppm", ppm);
  }
  CommandResult rgb = run_command(kCli + " --threads 1 train --model vae --arch mlp --latent 4 --dataset folder:" + dir +
                                  "/pics --image-size 32 --rgb --steps 2 --batch 4 --out " + dir + "/rgb.safetensors");
  ASSERT_EQ(rgb.exit_code, 0) << rgb.err;
  ASSERT_EQ(run_command(kCli + " sample --ckpt " + dir + "/rgb.safetensors --n 3 --out " + dir + "/rgb.npy").exit_code, 0);
  EXPECT_NE(read_bytes(dir + "/rgb.npy").find("'shape': (3, 3, 32, 32)"), std::string::npos);

  expect_bad_input("--threads 1 train --model vae --steps 1 --out " + std::string(GENLAB_ASSETS) + "/models/mine.safetensors",
                   {"mine.safetensors", "shipped models' folder"});
  EXPECT_FALSE(std::filesystem::exists(std::string(GENLAB_ASSETS) + "/models/mine.safetensors"));
  std::filesystem::remove_all(dir);
}

// cmake --install gives a tree that runs from any folder: the installed genlab-cli finds the
// shipped models (here the classifier behind FID-LeNet) in PREFIX/share/genlab, not in the source
// tree; the installed app, where it was built, starts with its installed shaders and font.
TEST(Cli, AnInstalledTreeRunsFromAnyFolder) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string prefix = temp_folder("install"), elsewhere = temp_folder("elsewhere");
  CommandResult install = run_command("cmake --install " + std::string(GENLAB_BUILD_DIR) + " --prefix " + prefix);
  ASSERT_EQ(install.exit_code, 0) << install.err;
  const std::string models = prefix + "/share/genlab/models";
  ASSERT_TRUE(std::filesystem::exists(models + "/classifier-fashion.safetensors"));
  CommandResult eval = run_command("cd " + elsewhere + " && " + prefix + "/bin/genlab-cli --threads 1 eval --ckpt " + models +
                                   "/vae-fashion-latent2.safetensors --iwae-images 0 --samples 10 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(nlohmann::json::parse(eval.out)["classifier"]["path"], models + "/classifier-fashion.safetensors");
  if (std::filesystem::exists(prefix + "/bin/genlab") && run_command("command -v xvfb-run").exit_code == 0) {
    EXPECT_TRUE(std::filesystem::exists(prefix + "/share/genlab/shaders/colormap.frag"));
    CommandResult app = run_command("cd " + elsewhere + " && xvfb-run -a " + prefix + "/bin/genlab --frames 3 --tab data");
    EXPECT_EQ(app.exit_code, 0) << app.err;
  }
  std::filesystem::remove_all(prefix);
  std::filesystem::remove_all(elsewhere);
}

// The image-to-image models end to end: train each kind, translate a test image or a picture
// (resized with a note), evaluate beside the task's baselines; bad domains, weights and
// checkpoints are one line and exit code 2.
TEST(Cli, TranslationModelsTrainTranslateAndEvaluate) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("translate");
  const std::string tiny = " --threads 1 train --width 8 --batch 8 --steps 2 ";
  CommandResult p2p = run_command(kCli + tiny + "--model pix2pix --task superres --out " + dir + "/p2p.safetensors");
  ASSERT_EQ(p2p.exit_code, 0) << p2p.err;
  EXPECT_EQ(nlohmann::json::parse(p2p.out)["title"], "Pix2Pix super-resolution x4");

  CommandResult test = run_command(kCli + " translate --ckpt " + dir + "/p2p.safetensors --test-index 3 --out " + dir + "/o.npy");
  ASSERT_EQ(test.exit_code, 0) << test.err;
  EXPECT_GT(nlohmann::json::parse(test.out)["to_ground_truth"]["psnr"].get<double>(), 0);
  EXPECT_NE(read_bytes(dir + "/o.npy").find("'shape': (1, 1, 28, 28)"), std::string::npos);

  std::string ppm = "P6\n40 40\n255\n";
  for (int p = 0; p < 40 * 40; ++p) ppm += {char(p % 40 * 6), char(p / 40 * 6), char(90)};
  write_bytes(dir + "/big.ppm", ppm);
  CommandResult picture = run_command(kCli + " translate --ckpt " + dir + "/p2p.safetensors --input " + dir + "/big.ppm --out " + dir + "/p.png");
  ASSERT_EQ(picture.exit_code, 0) << picture.err;
  EXPECT_NE(picture.err.find("big.ppm is 40x40 with 3 channel(s); resized to the model's 28x28, 1 channel(s)"), std::string::npos)
      << picture.err;

  CommandResult eval = run_command(kCli + " --threads 1 eval --ckpt " + dir + "/p2p.safetensors --samples 20 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  auto figures = nlohmann::json::parse(eval.out);
  EXPECT_EQ(figures["test_images"], 20);
  for (const char* baseline : {"nearest", "bicubic"}) EXPECT_TRUE(figures["baselines"][baseline].contains("ssim")) << baseline;
  EXPECT_TRUE(figures["figures"].contains("fid"));  // the shipped classifier scores the outputs

  ASSERT_EQ(run_command(kCli + tiny + "--model cyclegan --domains Sneaker,ankle_boot --out " + dir + "/cg.safetensors").exit_code, 0);
  CommandResult boot = run_command(kCli + " translate --ckpt " + dir + "/cg.safetensors --test-index 0 --out " + dir + "/b.png");
  ASSERT_EQ(boot.exit_code, 0) << boot.err;
  EXPECT_EQ(nlohmann::json::parse(boot.out)["to"], nlohmann::json({"Sneaker"}));  // test image 0 is an ankle boot
  ASSERT_EQ(run_command(kCli + tiny + "--model stargan --domains 5,7,9 --out " + dir + "/sg.safetensors").exit_code, 0);
  CommandResult every = run_command(kCli + " translate --ckpt " + dir + "/sg.safetensors --test-index 0 --out " + dir + "/s.npy");
  ASSERT_EQ(every.exit_code, 0) << every.err;
  EXPECT_EQ(nlohmann::json::parse(every.out)["to"], nlohmann::json({"Sandal", "Sneaker", "Ankle boot"}));
  EXPECT_NE(read_bytes(dir + "/s.npy").find("'shape': (3, 1, 28, 28)"), std::string::npos);

  expect_bad_input(tiny + "--model cyclegan --domains Sneaker,Unicorn --out " + dir + "/x.safetensors",
                   {"--domains: 'Unicorn' is not a class of Fashion-MNIST", "Ankle boot"});
  expect_bad_input(tiny + "--model cyclegan --domains Sneaker,Bag,Coat --out " + dir + "/x.safetensors",
                   {"CycleGAN translates between two domains"});
  expect_bad_input(tiny + "--model stargan --out " + dir + "/x.safetensors", {"--domains", "needs the domains"});
  expect_bad_input(tiny + "--model pix2pix --domains 1,2 --out " + dir + "/x.safetensors", {"--domains", "paired task"});
  expect_bad_input(tiny + "--model pix2pix --lambda-l1 -1 --out " + dir + "/x.safetensors", {"--lambda-l1", "-1"});
  expect_bad_input(tiny + "--model pix2pix --lambda-l1 nan --out " + dir + "/x.safetensors", {"--lambda-l1", "nan"});
  expect_bad_input("translate --ckpt " + dir + "/cg.safetensors --test-index 0 --to Bag --out " + dir + "/x.png",
                   {"--to: 'Bag' is not one of the model's domains"});
  expect_bad_input("translate --ckpt " + dir + "/cg.safetensors --test-index 10000 --out " + dir + "/x.png",
                   {"--test-index 10000", "0..9999"});
  expect_bad_input("translate --ckpt " + std::string(GENLAB_ASSETS) + "/models/vae-fashion-latent2.safetensors --test-index 0 --out " +
                       dir + "/x.png",
                   {"vae-fashion-latent2.safetensors", "not an image-to-image one"});
  std::filesystem::remove_all(dir);
}

TEST(Cli, ProGanAndStyleGanTrainSampleWithPsiAndMixingAndEvalPathLengths) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("style");
  const std::string style = dir + "/style.safetensors", pro = dir + "/pro.safetensors";
  CommandResult s = run_command(kCli + " --threads 1 train --model stylegan --steps 2 --batch 8 --width 8 --w-dim 16 --out " + style);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(nlohmann::json::parse(s.out)["model"], "stylegan");
  CommandResult p = run_command(kCli + " --threads 1 train --model progan --steps 3 --stage-steps 1 --fade-steps 2 --batch 8 --width 8 --out " + pro);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["resolution"], 14);  // 7x7 for a step, then fading into 14x14

  CommandResult mixed = run_command(kCli + " sample --ckpt " + style + " --n 4 --psi 0.5 --mix-from 3 --mix-layers middle --out " + dir + "/mix.png");
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  auto record = nlohmann::json::parse(mixed.out);
  EXPECT_EQ(record["psi"], 0.5);
  EXPECT_EQ(record["mix_layers"], "middle");
  EXPECT_TRUE(std::filesystem::exists(dir + "/mix.png"));

  CommandResult eval = run_command(kCli + " --threads 1 eval --ckpt " + style + " --samples 20 --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  auto e = nlohmann::json::parse(eval.out);
  EXPECT_GT(e["path_length"]["z"].get<double>(), 0);
  EXPECT_GT(e["path_length"]["w"].get<double>(), 0);
  EXPECT_EQ(e["path_length"]["paths"], 20);
  CommandResult eval_pro = run_command(kCli + " --threads 1 eval --ckpt " + pro + " --samples 20 --json");
  ASSERT_EQ(eval_pro.exit_code, 0) << eval_pro.err;
  EXPECT_FALSE(nlohmann::json::parse(eval_pro.out)["path_length"].contains("w"));  // no w space

  const std::string sample = "sample --ckpt " + style + " --out " + dir + "/x.png ";
  const struct {
    std::string args;
    std::vector<std::string> fragments;
  } cases[] = {
      {sample + "--psi 2", {"--psi", "2"}},
      {sample + "--psi abc", {"--psi", "abc"}},
      {sample + "--psi nan", {"--psi", "nan is not a number"}},
      {sample + "--mix-from 3 --mix-layers medium", {"--mix-layers", "medium"}},
      {sample + "--mix-layers fine", {"--mix-layers needs --mix-from"}},
      {"sample --ckpt " + pro + " --out " + dir + "/x.png --psi 0.5", {"--psi", pro, "not a StyleGAN"}},
      {"train --model progan --cond --steps 1 --out " + dir + "/m.safetensors", {"progan is unconditional"}},
      {"train --model stylegan --mixing-prob 2 --out " + dir + "/m.safetensors", {"--mixing-prob", "2"}},
  };
  for (const auto& c : cases) expect_bad_input(c.args, c.fragments);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));
  std::filesystem::remove_all(dir);
}

TEST(Cli, VqVaePriorAndVaeGanTrainSampleAndEvaluate) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string dir = temp_folder("vq");
  const std::string vq = dir + "/vq.safetensors", prior = dir + "/prior.safetensors", vg = dir + "/vg.safetensors";
  CommandResult v = run_command(kCli + " --threads 1 train --model vqvae --codes 16 --code-dim 4 --steps 3 --batch 16 --out " + vq);
  ASSERT_EQ(v.exit_code, 0) << v.err;
  auto trained = nlohmann::json::parse(v.out);
  EXPECT_EQ(trained["model"], "vqvae");
  EXPECT_GT(trained["test"]["perplexity"].get<double>(), 1.0);
  EXPECT_LE(trained["test"]["used_codes"].get<int>(), 16);
  CommandResult p = run_command(kCli + " --threads 1 train --model vqprior --vqvae " + vq +
                                " --width 16 --layers 1 --steps 2 --batch 16 --out " + prior);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["classes"], 10);
  CommandResult s = run_command(kCli + " sample --ckpt " + prior + " --n 4 --temperature 0.7 --top-k 3 --class 2 --out " +
                                dir + "/s.png");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(nlohmann::json::parse(s.out)["top_k"], 3);
  EXPECT_TRUE(std::filesystem::exists(dir + "/s.png"));
  CommandResult e = run_command(kCli + " --threads 1 eval --ckpt " + prior + " --samples 20 --json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto scored = nlohmann::json::parse(e.out);
  EXPECT_GT(scored["test_nats_per_code"].get<double>(), 0);
  EXPECT_GT(scored["prior_samples"]["sharpness"].get<double>(), 0);
  CommandResult g = run_command(kCli + " --threads 1 train --model vaegan --latent 4 --steps 2 --batch 8 --adv-weight 5 --out " + vg);
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(nlohmann::json::parse(g.out)["model"], "vaegan");

  // A prior over 8 codes beside the 16-code VQ-VAE: the mismatch names both files.
  const std::string vq8 = dir + "/vq8.safetensors", prior8 = dir + "/prior8.safetensors";
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model vqvae --codes 8 --code-dim 4 --steps 1 --batch 8 --out " + vq8).exit_code, 0);
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model vqprior --vqvae " + vq8 +
                        " --width 16 --layers 1 --steps 1 --batch 8 --out " + prior8).exit_code, 0);
  const std::string out = " --out " + dir + "/x.png";
  const struct {
    std::string args;
    std::vector<std::string> fragments;
  } cases[] = {
      {"train --model vqvae --codes 4 --out " + dir + "/m.safetensors", {"--codes", "4"}},
      {"train --model vqvae --commitment 20 --out " + dir + "/m.safetensors", {"--commitment", "20"}},
      {"train --model vqprior --out " + dir + "/m.safetensors", {"--vqvae"}},
      {"train --model vqprior --vqvae " + vg + " --out " + dir + "/m.safetensors", {vg, "not a VQ-VAE"}},
      {"sample --ckpt " + vq + out, {vq, "prior over its codes"}},
      {"sample --ckpt " + prior8 + " --vqvae " + vq + out, {prior8, vq, "8 codes", "16 codes"}},
      {"sample --ckpt " + prior + " --top-k 17" + out, {"top-k", "17"}},
      {"sample --ckpt " + prior + " --class 10" + out, {"--class", "10"}},
      {"sample --ckpt " + vg + " --temperature 0.5" + out, {"--temperature", vg, "not a prior"}},
  };
  for (const auto& c : cases) expect_bad_input(c.args, c.fragments);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));
  std::filesystem::remove_all(dir);
}

// Latent text-to-image on a tiny folder of two classes: the first stage, the denoiser on it with a
// held-out pair, a prompt with a negative; one line and exit code 2 for each wrong use.
TEST(LdmCli, TrainsBothStagesSamplesAPromptAndRefusesBadUse) {
  const std::string dir = temp_folder("ldm");
  for (int i = 0; i < 20; ++i)
    for (const std::string cls : {"dress", "sneaker"}) {
      std::string pixels(784, '\0');
      const int w = 6 + (i * 5) % 15, h = 6 + (i * 7) % 15, value = 90 + (i * 53) % 160;
      for (int y = (28 - h) / 2; y < (28 - h) / 2 + h; ++y)
        for (int x = (28 - w) / 2; x < (28 - w) / 2 + w; ++x) pixels[size_t(y * 28 + x)] = char(value);
      write_bytes(dir + "/data/" + cls + "/" + std::to_string(i) + ".pgm", "P5\n28 28\n255\n" + pixels);
    }
  const std::string data = " --dataset folder:" + dir + "/data";
  const std::string klae = dir + "/klae.safetensors", ldm = dir + "/ldm.safetensors";
  CommandResult first = run_command(kCli + " --threads 1 train --model klae" + data + " --steps 2 --batch 8 --out " + klae);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto ae = nlohmann::json::parse(first.out);
  EXPECT_EQ(ae["model"], "klae");
  EXPECT_EQ(ae["steps"], 2);
  EXPECT_EQ(ae["latent"], nlohmann::json({4, 7, 7}));
  EXPECT_GT(ae["metrics"]["test_bce"].get<double>(), 0);
  CommandResult scored = run_command(kCli + " --threads 1 eval --ckpt " + klae);
  ASSERT_EQ(scored.exit_code, 0) << scored.err;
  EXPECT_EQ(nlohmann::json::parse(scored.out)["model"], "klae");

  CommandResult second = run_command(kCli + " --threads 1 train --model ldm --autoencoder " + klae + data +
                                     " --hold-out \"dark sneaker\" --width 8 --steps 2 --batch 8 --out " + ldm);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto trained = nlohmann::json::parse(second.out);
  EXPECT_EQ(trained["model"], "ldm");
  EXPECT_EQ(trained["steps"], 2);
  EXPECT_EQ(trained["held_out"], nlohmann::json({"dark sneaker"}));
  EXPECT_GT(trained["held_out_images"].get<int>(), 0);
  EXPECT_LT(trained["held_out_images"].get<int>(), 18);
  // 40 images, every 10th a test image: 36 to train on, the held-out ones among them.
  EXPECT_EQ(trained["training_images"].get<int>() + trained["held_out_images"].get<int>(), 36);
  EXPECT_GT(trained["scale_factor"].get<double>(), 0);
  EXPECT_GT(trained["vocabulary"].get<int>(), 10);

  CommandResult s = run_command(kCli + " --threads 1 sample --ckpt " + ldm +
                                " --prompt \"A light dress, wide\" --negative \"a purple sneaker\" --steps 3 --n 2 --seed 4 --out " +
                                dir + "/s.png");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto sampled = nlohmann::json::parse(s.out);
  EXPECT_EQ(sampled["prompt"], "A light dress, wide");
  EXPECT_EQ(sampled["negative"], "a purple sneaker");
  EXPECT_EQ(sampled["n"], 2);
  EXPECT_NE(sampled["notes"]["negative"].get<std::string>().find("unknown: purple"), std::string::npos) << s.out;
  EXPECT_FALSE(sampled["notes"].contains("prompt")) << s.out;
  EXPECT_NE(read_bytes(dir + "/s.png").find("A light dress, wide"), std::string::npos);  // the PNG's text

  // A pixel-space model to ask for a prompt.
  const std::string ddpm = dir + "/ddpm.safetensors";
  ASSERT_EQ(run_command(kCli + " --threads 1 train --model ddpm" + data + " --steps 1 --batch 4 --out " + ddpm).exit_code, 0);
  const std::string out = " --out " + dir + "/x.png";
  const struct {
    std::string args;
    std::vector<std::string> fragments;
  } cases[] = {
      {"sample --ckpt " + ldm + " --prompt \"purple hat\"" + out, {"purple hat", "vocabulary"}},
      {"sample --ckpt " + ldm + " --negative \"purple hat\"" + out, {"purple hat", "vocabulary"}},
      {"sample --ckpt " + ldm + " --class 1" + out, {"--class", "--prompt"}},
      {"sample --ckpt " + klae + out, {klae, "first stage"}},
      {"sample --ckpt " + ddpm + " --prompt \"a dress\"" + out, {"--prompt", ddpm, "not a text-to-image model"}},
      {"train --model ldm" + data + " --steps 1 --out " + dir + "/m.safetensors", {"--autoencoder"}},
      {"train --model ldm --autoencoder " + ldm + data + " --steps 1 --out " + dir + "/m.safetensors",
       {ldm, "not a latent autoencoder"}},
      {"train --model ldm --autoencoder " + klae + data + " --hold-out \"purple sneaker\" --steps 1 --out " + dir +
           "/m.safetensors",
       {"purple sneaker"}},
  };
  for (const auto& c : cases) expect_bad_input(c.args, c.fragments);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.safetensors"));
  std::filesystem::remove_all(dir);
}

TEST(DiffusionEditCli, EditsTestImagesScoresThemAndRefusesBadInput) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string model = std::string(GENLAB_ASSETS) + "/models/ddpm-fashion-cond.safetensors";
  const std::string dir = temp_folder("edit");
  const std::string edit = kCli + " --threads 1 edit --ckpt " + model + " --test-index 0 ";
  // Super-resolution from 7 x 7: ILVR's detail is closer in structure than bicubic's blur.
  CommandResult r = run_command(edit + "--count 6 --superres 4 --steps 10 --out " + dir + "/sr.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& s = j["scores"];
  EXPECT_GT(s["superres"]["ssim"].get<double>(), s["bicubic"]["ssim"].get<double>());
  EXPECT_GT(s["superres"]["psnr"].get<double>(), s["nearest"]["psnr"].get<double>());
  EXPECT_EQ(j["edit"]["mode"], "superres");
  const std::string png = read_bytes(dir + "/sr.png");
  EXPECT_NE(png.find("\"mode\":\"superres\""), std::string::npos) << "the PNG does not carry the edit";
  // SDEdit at strength 0 hands the image back untouched.
  r = run_command(edit + "--strength 0 --out " + dir + "/same.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["t_start"], 0);
  EXPECT_GE(j["scores"]["sdedit"]["psnr"].get<double>(), 59.9);
  // Inpainting a box: the known part is kept, so it beats the holed input.
  std::string mask = "P5 28 28 255\n";
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) mask += char(y >= 8 && y < 20 && x >= 8 && x < 20 ? 255 : 0);
  write_bytes(dir + "/mask.pgm", mask);
  r = run_command(edit + "--count 2 --mask " + dir + "/mask.pgm --steps 10 --resample 2 --out " + dir + "/in.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["scores"]["inpaint"]["psnr"].get<double>(), j["scores"]["input"]["psnr"].get<double>());
  // Sampling takes a guidance schedule and its PNG keeps it.
  r = run_command(kCli + " --threads 1 sample --ckpt " + model + " --steps 5 --n 2 --cfg-schedule interval:0.28:5.42 --out " +
                  dir + "/sched.png");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_bytes(dir + "/sched.png").find("interval:0.28:5.42"), std::string::npos);

  write_bytes(dir + "/small.pgm", "P5 10 10 255\n" + std::string(100, char(255)));
  write_bytes(dir + "/empty.pgm", "P5 28 28 255\n" + std::string(784, char(0)));
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --strength 1.5 --out x.png", {"--strength 1.5", "0..1"});
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --superres 3 --out x.png", {"--superres 3", "does not divide"});
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --mask " + dir + "/small.pgm --out x.png", {"small.pgm", "10x10"});
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --mask " + dir + "/empty.pgm --out x.png", {"mask is empty"});
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --cfg-schedule zigzag --out x.png", {"zigzag"});
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --cfg-schedule interval:3:1 --out x.png", {"interval is empty"});
  expect_bad_input("edit --ckpt " + model + " --test-index 0 --steps 5 --cfg-schedule interval:200:300 --out x.png",
                   {"holds none of the 5 sampling steps"});
  expect_bad_input("edit --ckpt " + model + " --out x.png", {"--input", "--test-index"});
  expect_bad_input("edit --ckpt " + std::string(GENLAB_ASSETS) + "/models/cgan-fashion.safetensors --test-index 0 --out x.png",
                   {"cgan-fashion.safetensors", "not a diffusion model"});
  expect_bad_input("sample --ckpt " + model + " --cfg-schedule cosine:2 --out x.png", {"cosine:2"});
}

// genlab-cli compare: a VAE along its temperature (four rows) beside a translation model (skipped,
// with the reason), as one JSON line; a second run reads every row from the cache.
TEST(CompareCli, ComparesCheckpointsAsJsonAndSkipsATranslator) {
  if (!kHaveFashion) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string cache = temp_folder("compare");
  const std::string models = std::string(GENLAB_ASSETS) + "/models/";
  const std::string command = kCli + " --threads 1 compare --ckpt " + models + "vae-fashion-conv16.safetensors --ckpt " +
                              models + "pix2pix-fashion-edges.safetensors --samples 20 --cache-dir " + cache + " --json";
  CommandResult r = run_command(command);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 20);
  EXPECT_EQ(j["dataset"], "fashion-mnist");
  EXPECT_EQ(j["threads"], 1);
  EXPECT_NE(j["classifier"]["path"].get<std::string>().find("classifier-fashion.safetensors"), std::string::npos);
  EXPECT_GT(j["classifier"]["test_accuracy"].get<double>(), 0.8);
  ASSERT_EQ(j["rows"].size(), 4u) << r.out;
  std::vector<double> temperatures;
  for (const auto& row : j["rows"]) {
    EXPECT_EQ(row["model"], "vae-fashion-conv16");
    EXPECT_EQ(row["point"]["knob"], "temperature");
    temperatures.push_back(row["point"]["value"].get<double>());
    EXPECT_GT(row["quality"]["fid"].get<double>(), 0.0);
    EXPECT_GT(row["ms_per_image"]["batch_64"].get<double>(), 0.0);
    EXPECT_FALSE(row.contains("sample_row"));  // no pixels on stdout
    EXPECT_EQ(row["cached"], false);
  }
  EXPECT_EQ(temperatures, (std::vector<double>{0.5, 0.75, 1.0, 1.25}));
  ASSERT_EQ(j["skipped"].size(), 1u) << r.out;
  EXPECT_EQ(j["skipped"][0]["model"], "pix2pix-fashion-edges");
  EXPECT_NE(j["skipped"][0]["reason"].get<std::string>().find("draws nothing from noise"), std::string::npos);

  CommandResult again = run_command(command);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto k = nlohmann::json::parse(again.out);
  ASSERT_EQ(k["rows"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(k["rows"][i]["cached"], true) << i;
    EXPECT_EQ(k["rows"][i]["quality"]["fid"], j["rows"][i]["quality"]["fid"]) << i;
  }
  // Without --json: a text table, one line a row and one for the skipped model, under a header.
  CommandResult text = run_command(kCli + " --threads 1 compare --ckpt " + models + "vae-fashion-conv16.safetensors --ckpt " +
                                   models + "pix2pix-fashion-edges.safetensors --samples 20 --cache-dir " + cache);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(count_lines(text.out), 1 + 4 + 1) << text.out;
  EXPECT_NE(text.out.find("temperature 1 *"), std::string::npos) << text.out;  // the default point marked
  EXPECT_NE(text.out.find("pix2pix-fashion-edges: not compared"), std::string::npos) << text.out;
  std::filesystem::remove_all(cache);
}

TEST(CompareCli, BadCheckpointsAndSampleCountsExitTwo) {
  expect_bad_input("compare --ckpt /nonexistent.safetensors", {"/nonexistent.safetensors"});
  expect_bad_input("compare --ckpt " + std::string(GENLAB_ASSETS) + "/models/vae-fashion-conv16.safetensors --samples 5",
                   {"--samples", "5"});
}
