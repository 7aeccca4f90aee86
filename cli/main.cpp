// genlab-cli: the headless front end on the same core as the app.
// Bad input prints one line on stderr and exits 2.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>

#include "cli/launch_ranks.h"

#include "core/compare/compare_run.h"
#include "core/compute/machine.h"
#include "core/data/dataset.h"
#include "core/diffusion/diffusion_run.h"
#include "core/diffusion/ldm_run.h"
#include "core/families.h"
#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/speed_bench.h"
#include "core/translate/translate_run.h"
#include "core/train/run_util.h"

namespace {

constexpr int kBadInput = 2;

// CLI::Range lets "nan" through (every comparison with NaN is false), and PositiveNumber and
// NonNegativeNumber print DBL_MAX in full when they refuse a value: these say what they want in words.
CLI::Validator number_check(const std::string& wanted, bool (*ok)(double)) {
  return CLI::Validator(
      [wanted, ok](std::string& input) {
        double value = 0;
        return CLI::detail::lexical_cast(input, value) && ok(value) ? std::string()
                                                                    : "Value " + input + " is not " + wanted;
      },
      "", wanted);
}
const CLI::Validator kNumber = number_check("a number", [](double v) { return !std::isnan(v); });
const CLI::Validator kPositive = number_check("a positive number", [](double v) { return v > 0 && std::isfinite(v); });
const CLI::Validator kNonNegative = number_check("zero or more", [](double v) { return v >= 0 && std::isfinite(v); });

struct DataArgs {
  std::string dataset = "fashion-mnist";
  int image_size = 28;
  bool rgb = false;
  bool json = false;
};

nlohmann::json class_counts(const genlab::Dataset& data, const genlab::ImageSet& set) {
  std::vector<int64_t> counts(data.class_names.size(), 0);
  int64_t unlabelled = 0;
  for (int label : set.labels) {
    if (label >= 0 && label < int(counts.size())) ++counts[size_t(label)];
    else ++unlabelled;
  }
  nlohmann::json out = counts;
  if (unlabelled > 0) out.push_back(unlabelled);
  return out;
}

int run_data(const DataArgs& args) {
  genlab::LoadOptions options;
  options.image_size = args.image_size;
  options.channels = args.rgb ? 3 : 1;
  auto t0 = std::chrono::steady_clock::now();
  genlab::Dataset data = genlab::load_dataset(args.dataset, options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json out = {
      {"dataset", data.spec},
      {"title", data.title},
      {"source", data.source},
      {"train", data.train.count},
      {"test", data.test.count},
      {"shape", {data.channels, data.height, data.width}},
      {"classes", data.class_names},
      {"class_counts", {{"train", class_counts(data, data.train)}, {"test", class_counts(data, data.test)}}},
      {"skipped_files", data.skipped_files},
      {"load_seconds", seconds},
  };
  if (args.json) {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << data.title << " from " << data.source << "\n"
              << "  train " << data.train.count << ", test " << data.test.count << ", shape "
              << data.channels << "x" << data.height << "x" << data.width << "\n";
    for (size_t c = 0; c < data.class_names.size(); ++c)
      std::cout << "  " << c << ": " << data.class_names[c] << "\n";
    if (data.skipped_files > 0) std::cout << "  skipped " << data.skipped_files << " unreadable files\n";
    std::cout << "  loaded in " << seconds << " s\n";
  }
  return 0;
}

int run_bench(const genlab::MachineInfo& info, bool json, int repeats, bool machine_only) {
  // One denoising step of the diffusion lab's U-Net, the cost behind every streamed sampling step.
  nlohmann::json unet = nlohmann::json::object(), models = nlohmann::json::object();
  if (!machine_only) {
    unet = {{"batch1", genlab::unet_step_ms(1, false)}, {"batch1_cfg", genlab::unet_step_ms(1, true)},
            {"batch16", genlab::unet_step_ms(16, false)}, {"batch16_cfg", genlab::unet_step_ms(16, true)},
            {"batch64", genlab::unet_step_ms(64, false)}, {"batch64_cfg", genlab::unet_step_ms(64, true)}};
    models = nlohmann::json::parse(genlab::model_speeds_json(repeats));
  }
  nlohmann::json out = {
      {"unet_step_ms", unet},
      {"models", models},
      {"device", info.device},       {"torch", info.torch_version},
      {"blas", info.blas_library},   {"cores", info.cores},
      {"threads", info.threads},     {"matmul_gflops", info.matmul_gflops},
      {"warning", info.warning},
  };
  if (json) {
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "device " << info.device << ", torch " << info.torch_version << ", " << info.threads
              << "/" << info.cores << " threads\n"
              << "BLAS " << info.blas_library << "\n"
              << "512x512 matmul: " << info.matmul_gflops << " GFLOP/s\n"
              << "U-Net step (ms): " << unet.dump() << "\n"
              << "models: " << models.dump() << "\n";
  }
  return 0;
}

// Ctrl-C or SIGTERM during `train`: the run stops after its step and saves (signal-safe: one
// lock-free atomic store).
void request_stop(int) { genlab::stop_requested().store(true); }

constexpr int kInterrupted = 130;  // the shell's code for a command ended by SIGINT

// What a finished `train` returns: 0, or 130 with a line saying where the run was saved (by rank 0
// of a data-parallel run: the one that writes).
int train_exit(const std::string& out, bool writes) {
  if (!genlab::stop_requested()) return 0;
  if (writes) std::cerr << "genlab-cli: interrupted: saved " << out << "; go on with --resume " << out << "\n";
  return kInterrupted;
}

// The options the user set on a subcommand ("--batch", ...): families keep their own defaults for the rest.
std::set<std::string> given_options(const CLI::App& command) {
  std::set<std::string> given;
  for (const CLI::Option* option : command.get_options())
    if (option->count() > 0) given.insert(option->get_name());
  return given;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"genlab-cli: headless genlab (data, training, sampling, evaluation, benchmarks)"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "torch intra-op threads (0: all cores)")->check(kNonNegative);

  DataArgs data_args;
  auto* data = app.add_subcommand("data", "load a data set and print what it holds");
  data->add_option("--dataset", data_args.dataset,
                   "fashion-mnist, fashion-mnist:PATH, mnist:PATH, folder:PATH or a path");
  data->add_option("--image-size", data_args.image_size, "folder data: resize images to this size")
      ->check(CLI::Range(4, 512));
  data->add_flag("--rgb", data_args.rgb, "folder data: keep colour (default grayscale)");
  data->add_flag("--json", data_args.json, "print one JSON line");

  bool bench_json = false;
  auto* bench = app.add_subcommand("bench", "measure the machine and each model's hot paths (medians)");
  bench->add_flag("--json", bench_json, "print one JSON line");
  int bench_repeats = 3;
  bool bench_machine_only = false;
  bench->add_flag("--machine", bench_machine_only, "only the machine (device, BLAS, matmul GFLOP/s), not the models");
  bench->add_option("--repeats", bench_repeats, "timings per model figure (the median is reported)")->check(CLI::Range(1, 100));

  genlab::TrainArgs train_args;
  auto* train = app.add_subcommand("train", "train a model and write a .safetensors checkpoint");
  train->add_option("--model", train_args.model, "vae, ae, vaegan, vqvae, vqprior, gan, progan, stylegan, ddpm, pix2pix, cyclegan, stargan or classifier (the LeNet behind FID-LeNet)")
      ->check(CLI::IsMember(genlab::trainable_kinds()));
  train->add_option("--arch", train_args.arch, "mlp or conv")->check(CLI::IsMember({"mlp", "conv"}));
  train->add_option("--latent", train_args.latent, "latent size (VAE/AE 2..64, default 16; GAN default 64, toy 8)")
      ->check(CLI::Range(1, 512));
  train->add_option("--beta", train_args.beta, "weight of the KL term (1: the VAE; klae default 0.01)")
      ->check(kNumber)
      ->check(CLI::Range(0.0, 100.0));
  train->add_option("--recon", train_args.recon, "bernoulli (BCE) or gaussian (squared error)")
      ->check(CLI::IsMember({"bernoulli", "gaussian"}));
  bool no_binarize = false;
  train->add_flag("--no-binarize", no_binarize, "train on gray images instead of dynamically binarised ones");
  train->add_option("--lr", train_args.lr, "Adam learning rate")->check(kNumber)->check(CLI::Range(1e-6, 0.5));
  train->add_option("--batch", train_args.batch, "batch size")->check(CLI::Range(1, 4096));
  auto* epochs = train->add_option("--epochs", train_args.epochs, "epochs to train")->check(kPositive);
  auto* steps = train->add_option("--steps", train_args.steps, "steps to train")->check(kPositive);
  epochs->excludes(steps);
  train->add_option("--seed", train_args.seed, "random seed");
  train->add_option("--dataset", train_args.dataset, "data set spec");
  train->add_option("--image-size", train_args.data_options.image_size, "folder data: resize images to this size")
      ->check(CLI::Range(4, 512));
  bool train_rgb = false;
  train->add_flag("--rgb", train_rgb, "folder data: keep colour (default grayscale)");
  train->add_option("--out", train_args.out, "checkpoint to write (.safetensors)")->required();
  train->add_option("--resume", train_args.resume, "checkpoint to continue from");
  train->add_option("--device", train_args.device, "cpu, or cuda (VAE, GAN, DDPM; needs a CUDA LibTorch)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  train->add_option("--checkpoint-every", train_args.checkpoint_every_s, "also write --out every S seconds (VAE, GAN, DDPM)")
      ->check(kPositive);
  train->add_option("--loss", train_args.loss, "GAN loss: ns, minimax, lsgan, wgan-gp or hinge")
      ->check(CLI::IsMember({"ns", "minimax", "lsgan", "wgan-gp", "hinge"}));
  train->add_flag("--cond", train_args.conditional, "GAN, DDPM: condition on the class (cGAN; a DDPM with CFG)");
  train->add_option("--toy", train_args.toy, "GAN: the 2-D toy mode on ring or spiral data")
      ->check(CLI::IsMember({"ring", "spiral"}));
  train->add_option("--optimizer", train_args.optimizer, "GAN: adam, rmsprop or sgd")
      ->check(CLI::IsMember({"adam", "rmsprop", "sgd"}));
  train->add_option("--lr-g", train_args.lr_g, "GAN: generator learning rate")->check(kNumber)->check(CLI::Range(1e-6, 0.5));
  train->add_option("--lr-d", train_args.lr_d, "GAN: discriminator learning rate")->check(kNumber)->check(CLI::Range(1e-6, 0.5));
  train->add_option("--d-steps", train_args.d_steps, "GAN: D steps per G step")->check(CLI::Range(1, 100));
  train->add_option("--task", train_args.task, "pix2pix: edges, superres, inpaint or denoise")
      ->check(CLI::IsMember({"edges", "superres", "inpaint", "denoise"}));
  train->add_option("--factor", train_args.superres_factor, "pix2pix superres: 2 or 4 (28 -> 14 or 7 -> 28)")
      ->check(CLI::IsMember({2, 4}));
  train->add_option("--domains", train_args.domains, "cyclegan (two), stargan (two or more): classes by name or index, e.g. Sneaker,\"Ankle boot\"");
  train->add_option("--codes", train_args.codes, "vqvae: K, the codebook's size")->check(CLI::Range(8, 512));
  train->add_option("--code-dim", train_args.code_dim, "vqvae: length of each code vector")->check(CLI::Range(2, 64));
  train->add_option("--commitment", train_args.commitment, "vqvae: beta, the commitment weight")
      ->check(kNumber)
      ->check(CLI::Range(0.0, 10.0));
  train->add_option("--codebook", train_args.codebook, "vqvae: codebook updated by ema (moving averages) or loss")
      ->check(CLI::IsMember({"ema", "loss"}));
  bool no_restarts = false;
  train->add_flag("--no-restarts", no_restarts, "vqvae: leave dead codes dead (default: restart them from encoder outputs)");
  train->add_option("--vqvae", train_args.vqvae, "vqprior: the VQ-VAE checkpoint whose codes the prior models");
  train->add_option("--layers", train_args.layers, "vqprior: transformer blocks (--width sets its width, default 64)")
      ->check(CLI::Range(1, 16));
  const std::pair<const char*, float*> vaegan_weights[] = {{"--pixel-weight", &train_args.pixel_weight},
                                                           {"--feature-weight", &train_args.feature_weight},
                                                           {"--adv-weight", &train_args.adversarial_weight}};
  for (const auto& [name, value] : vaegan_weights)
    train->add_option(name, *value, "vaegan: weight of that loss term (pixel BCE, D-feature reconstruction, adversarial)")
        ->check(kNumber)
        ->check(CLI::Range(0.0, 1000.0));
  train->add_option("--autoencoder", train_args.autoencoder, "ldm: its first stage, a klae checkpoint (genlab-cli train --model klae)");
  train->add_option("--hold-out", train_args.hold_out,
                    std::string("ldm: attribute-class pairs no caption shows, or none (Fashion-MNIST default: ") + genlab::kDefaultHeldOut + ")");
  train->add_option("--hold-out-mode", train_args.hold_out_mode,
                    "ldm: images (leave out every image showing a held-out pair) or captions (keep them, never name the pair)")
      ->check(CLI::IsMember({"images", "captions"}));
  bool no_skips = false;
  train->add_flag("--no-skips", no_skips, "pix2pix, cyclegan, stargan: a U-Net without its skip connections");
  train->add_option("--width", train_args.width, "pix2pix, cyclegan, stargan, gan, progan, stylegan: base channel count of G and D")->check(CLI::Range(4, 256));
  train->add_option("--stage-steps", train_args.stage_steps, "progan: steps at each resolution before the next fades in")
      ->check(CLI::Range(1, 10000000));
  train->add_option("--fade-steps", train_args.fade_steps, "progan: steps a new resolution takes to fade in")
      ->check(CLI::Range(1, 10000000));
  train->add_option("--mapping-depth", train_args.mapping_depth, "stylegan: layers of the mapping network z -> w")
      ->check(CLI::Range(1, 8));
  train->add_option("--w-dim", train_args.w_dim, "stylegan: size of w (the mapping network's width)")->check(CLI::Range(4, 512));
  train->add_option("--r1", train_args.r1_gamma, "gan, progan, stylegan: R1 penalty gamma on D's gradient at real images (stylegan default 0.1, others 0)")
      ->check(kNumber)
      ->check(CLI::Range(0.0, 1000.0));
  train->add_option("--layout", train_args.layout, "gan: DCGAN layers, deep (cpp/dcgan's) or compact")
      ->check(CLI::IsMember({"deep", "compact"}));
  train->add_option("--real-label", train_args.real_label, "gan: D's target for real images drawn from [this, 1] (1: no smoothing)")
      ->check(kNumber)
      ->check(CLI::Range(0.01, 1.0));
  train->add_option("--g-ema", train_args.g_ema, "gan: decay of G's weight average that draws the samples (0: off)")
      ->check(kNumber)
      ->check(CLI::Range(0.0, 0.9999));
  train->add_option("--teacher", train_args.teacher,
                    "ddpm: distil this guided model's DPM-Solver++ 20-step run into a few-step student");
  train->add_option("--student-steps", train_args.student_steps, "ddpm --teacher: the student's steps (divides 20)")
      ->check(CLI::Range(1, 20));
  train->add_option("--trajectories", train_args.trajectories, "ddpm --teacher: teacher runs recorded to learn from")
      ->check(CLI::Range(1, 1000000));
  train->add_option("--w-max", train_args.w_max, "ddpm --teacher: the student learns guidance scales 0..this")
      ->check(kNumber)
      ->check(CLI::Range(0.1, 20.0));
  train->add_option("--mixing-prob", train_args.mixing_prob, "stylegan: share of batches trained with two styles mixed")
      ->check(kNumber)
      ->check(CLI::Range(0.0, 1.0));
  const std::pair<const char*, float*> weights[] = {
      {"--lambda-l1", &train_args.lambda_l1},     {"--lambda-cycle", &train_args.lambda_cycle},
      {"--lambda-identity", &train_args.lambda_identity}, {"--lambda-cls", &train_args.lambda_cls},
      {"--lambda-rec", &train_args.lambda_rec}};
  for (const auto& [name, value] : weights)
    train->add_option(name, *value, "weight of that loss term (pix2pix L1; cyclegan cycle, identity; stargan cls, rec)")
        ->check(kNumber)
        ->check(CLI::Range(0.0, 1000.0));
  int nproc = 1;
  genlab::ParallelOptions& parallel = train_args.parallel;
  auto* nproc_option = train->add_option("--nproc", nproc, "data-parallel: train with N ranks on this machine (each with cores/N threads)")
                           ->check(CLI::Range(1, 256));
  auto* rank_option = train->add_option("--rank", parallel.rank, "data-parallel across machines: this process's rank (0..W-1)")
                          ->check(CLI::NonNegativeNumber);
  auto* world_option = train->add_option("--world-size", parallel.world_size, "data-parallel across machines: W, the number of ranks")
                           ->check(CLI::Range(1, 4096));
  auto* master_option = train->add_option("--master", parallel.master, "data-parallel across machines: HOST:PORT of the rendezvous (rank 0 hosts it)");
  train->add_option("--backend", parallel.backend, "data-parallel: gloo, or nccl on a CUDA build")->check(CLI::IsMember({"gloo", "nccl"}));
  train->add_option("--rank-timeout", parallel.timeout_s, "data-parallel: seconds a rank waits for the others before it stops")
      ->check(kPositive);
  nproc_option->excludes(rank_option)->excludes(world_option)->excludes(master_option);
  rank_option->needs(world_option);
  world_option->needs(rank_option)->needs(master_option);

  genlab::SampleArgs sample_args;
  auto* sample = app.add_subcommand("sample", "draw samples from a checkpoint (VAE/AE prior, GAN, diffusion)");
  sample->add_option("--ckpt", sample_args.checkpoint, "checkpoint (.safetensors)")->required();
  sample->add_option("--n", sample_args.n, "number of samples")->check(CLI::Range(1, 4096));
  sample->add_option("--seed", sample_args.seed, "noise seed");
  sample->add_option("--class", sample_args.label, "class to draw (default: every class in turn)")->check(kNonNegative);
  sample->add_option("--out", sample_args.out, "grid.png or samples.npy")->required();
  sample->add_option("--sampler", sample_args.sampler, "diffusion: ddpm, ddim or dpmpp2m")
      ->check(CLI::IsMember({"ddpm", "ddim", "dpmpp2m"}));
  sample->add_option("--steps", sample_args.steps, "diffusion: sampling steps (1..T)");
  sample->add_option("--cfg", sample_args.cfg, "diffusion: guidance scale w (0 unconditional, 1 conditional)")->check(kNumber);
  sample->add_option("--eta", sample_args.eta, "diffusion: DDIM's eta (0 deterministic)")->check(kNumber);
  sample->add_option("--cfg-schedule", sample_args.cfg_schedule,
                     "ddpm: w by step, mean --cfg: constant, linear-up, linear-down, cosine or interval:LO:HI (noise levels)");
  sample->add_option("--psi", sample_args.psi, "stylegan: truncation psi (1: none, 0: the mean w's image)")
      ->check(kNumber)
      ->check(CLI::Range(-1.0, 1.0));
  sample->add_option("--mix-from", sample_args.mix_from, "stylegan: seed of a second z whose styles replace --mix-layers'")
      ->check(CLI::NonNegativeNumber);
  sample->add_option("--mix-layers", sample_args.mix_layers, "stylegan: coarse, middle or fine (the layers --mix-from styles)")
      ->check(CLI::IsMember({"coarse", "middle", "fine"}));
  sample->add_option("--prompt", sample_args.prompt, "ldm: the text, e.g. \"a dark wide pullover\" (empty: unconditional)");
  sample->add_option("--negative", sample_args.negative, "ldm: the negative prompt; guidance steers away from it");
  sample->add_option("--vqvae", sample_args.vqvae, "vqprior: its VQ-VAE (default: the one it names, or that file beside it)");
  sample->add_option("--temperature", sample_args.temperature, "vqprior: divides the logits (below 1: safer codes)")
      ->check(kNumber)
      ->check(CLI::Range(0.05, 5.0));
  sample->add_option("--top-k", sample_args.top_k, "vqprior: draw from the k likeliest codes only (0: all)")->check(CLI::Range(0, 512));
  sample->add_option("--gif", sample_args.gif, "diffusion: also write the run as an animated GIF, a frame per step");

  std::string pack_in, pack_out;
  auto* pack = app.add_subcommand("pack", "write a checkpoint's weights as float16 (half the size, for shipping)");
  pack->add_option("--ckpt", pack_in, "checkpoint (.safetensors)")->required();
  pack->add_option("--out", pack_out, "the float16 copy (.safetensors; optimizer state is left behind)")->required();

  genlab::TranslateArgs translate_args;
  auto* translate = app.add_subcommand("translate", "one picture or test image through an image-to-image model");
  translate->add_option("--ckpt", translate_args.checkpoint, "pix2pix, cyclegan or stargan checkpoint (.safetensors)")->required();
  auto* input_option = translate->add_option("--input", translate_args.input, "a picture (pix2pix: the task's input, e.g. drawn edges)");
  auto* index_option = translate->add_option("--test-index", translate_args.test_index, "a test image (pix2pix makes the task's input from it)")
                           ->check(CLI::NonNegativeNumber);
  input_option->excludes(index_option);
  translate->add_option("--to", translate_args.to, "cyclegan, stargan: the target domain (default: the other one; stargan: every one)");
  translate->add_option("--dataset", translate_args.dataset, "data set spec (default: the one it was trained on)");
  translate->add_option("--seed", translate_args.seed, "seed of the task's random parts (a test image's box or noise)");
  translate->add_option("--out", translate_args.out, "out.png or out.npy (N x C x H x W float32 in [0, 1])")->required();

  genlab::EditArgs edit_args;
  auto* edit = app.add_subcommand("edit", "edit a picture or test images with a pixel diffusion model: SDEdit, denoise, inpaint, super-resolution");
  edit->add_option("--ckpt", edit_args.checkpoint, "ddpm checkpoint (.safetensors)")->required();
  auto* edit_input = edit->add_option("--input", edit_args.input, "a picture: a sketch, a photo, a low-res image");
  auto* edit_index = edit->add_option("--test-index", edit_args.test_index, "test images from N on, scored against themselves")
                         ->check(CLI::NonNegativeNumber);
  edit_input->excludes(edit_index);
  edit->add_option("--count", edit_args.count, "with --test-index: how many test images (figures are their means)");
  edit->add_option("--dataset", edit_args.dataset, "data set of the test images (default: the checkpoint's)");
  auto* strength = edit->add_option("--strength", edit_args.strength, "SDEdit: noise to t = S T, then denoise (0: the input, 1: ignore it)")
                       ->check(kNumber);
  auto* mask = edit->add_option("--mask", edit_args.mask, "inpaint: a picture, white where the model fills in");
  auto* superres = edit->add_option("--superres", edit_args.superres, "super-resolution by this factor (ILVR)");
  auto* denoise = edit->add_option("--denoise", edit_args.denoise, "restore an image holding noise of this level (test images get it added)")
                      ->check(kNumber);
  mask->excludes(superres)->excludes(denoise)->excludes(strength);
  superres->excludes(denoise)->excludes(strength);
  denoise->excludes(strength);
  edit->add_option("--resample", edit_args.resample, "inpaint: RePaint's r, each step done r times");
  edit->add_option("--sampler", edit_args.sampler, "ddpm, ddim or dpmpp2m")->check(CLI::IsMember({"ddpm", "ddim", "dpmpp2m"}));
  edit->add_option("--steps", edit_args.steps, "sampling steps of the whole grid (SDEdit walks those below S T)");
  edit->add_option("--cfg", edit_args.cfg, "guidance scale w")->check(kNumber);
  edit->add_option("--cfg-schedule", edit_args.cfg_schedule, "w by step (see sample)");
  edit->add_option("--eta", edit_args.eta, "DDIM's eta")->check(kNumber);
  edit->add_option("--class", edit_args.label, "class to steer to (default: a test image's own, a picture's every class in turn)")
      ->check(kNonNegative);
  edit->add_option("--n", edit_args.n, "results per image");
  edit->add_option("--seed", edit_args.seed, "noise seed");
  edit->add_option("--out", edit_args.out, "out.png or out.npy")->required();

  genlab::EvalArgs eval_args;
  bool eval_json = false;
  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint on the test set");
  eval->add_option("--ckpt", eval_args.checkpoint, "checkpoint (.safetensors)")->required();
  eval->add_option("--dataset", eval_args.dataset, "data set spec (default: the one it was trained on)");
  eval->add_option("--iwae-k", eval_args.iwae_samples, "importance samples per image")->check(CLI::Range(1, 100000));
  eval->add_option("--iwae-images", eval_args.iwae_images, "test images for the IWAE bound")->check(CLI::Range(0, 100000));
  eval->add_option("--seed", eval_args.seed, "random seed");
  eval->add_option("--vqvae", eval_args.vqvae, "vqprior: its VQ-VAE (default: the one it names)");
  eval->add_option("--temperature", eval_args.temperature, "vqprior: sampling temperature")
      ->check(kNumber)
      ->check(CLI::Range(0.05, 5.0));
  eval->add_option("--top-k", eval_args.top_k, "vqprior: top-k sampling (0: all codes)")->check(CLI::Range(0, 512));
  eval->add_flag("--json", eval_json, "print one JSON line");
  eval->add_option("--classifier", eval_args.classifier,
                   "classifier for FID-LeNet and accuracy (default: the shipped Fashion-MNIST one)");
  eval->add_option("--samples", eval_args.samples, "samples behind the main FID-LeNet figure")->check(CLI::Range(10, 100000));
  eval->add_option("--curve-samples", eval_args.curve_samples, "samples per point of the CFG and steps curves")
      ->check(CLI::Range(10, 100000));
  eval->add_option("--sampler", eval_args.sampler, "diffusion: sampler of the main figure and the CFG curve")
      ->check(CLI::IsMember({"ddpm", "ddim", "dpmpp2m"}));
  eval->add_option("--steps", eval_args.steps, "diffusion: sampling steps")->check(CLI::Range(1, 10000));
  eval->add_option("--cfg", eval_args.cfg, "diffusion: guidance scale of the main figure")
      ->check(kNumber)
      ->check(CLI::Range(0.0, 20.0));
  eval->add_option("--cfg-schedule", eval_args.cfg_schedule, "ddpm: the main figure's guidance schedule (see sample)");
  bool no_cfg_curve = false;
  eval->add_flag("--no-cfg-curve", no_cfg_curve, "diffusion: skip FID/accuracy across w = 0, 1, 1.5, 2, 3, 5");
  eval->add_flag("--steps-curve", eval_args.steps_curve,
                 "diffusion: FID against 10, 20, 50, 100 and T steps for each sampler (long)");

  auto* compare = app.add_subcommand(
      "compare", "every model on one table: FID-LeNet, precision, recall and ms per image along each one's own knob");
  std::vector<std::string> compare_ckpts;
  std::string compare_classifier, compare_dataset;
  genlab::CompareOptions compare_options;
  bool compare_json = false, compare_no_cache = false;
  compare->add_option("--ckpt", compare_ckpts, "checkpoints to compare (default: every shipped model)");
  compare->add_option("--samples", compare_options.samples, "samples behind each point")->check(CLI::Range(10, 100000));
  compare->add_option("--seed", compare_options.seed, "random seed");
  compare->add_option("--classifier", compare_classifier,
                      "classifier for FID-LeNet and accuracy (default: the shipped Fashion-MNIST one)");
  compare->add_option("--dataset", compare_dataset, "data set spec (default: the first checkpoint's)");
  compare->add_option("--cache-dir", compare_options.cache_dir, "where results are kept (default: ~/.cache/genlab/compare)");
  compare->add_flag("--no-cache", compare_no_cache, "measure every point again (the results still refresh the cache)");
  compare->add_flag("--retime", compare_options.retime,
                    "time the sampling of cached points again, keeping their scores (timings taken on a busy machine)");
  compare->add_flag("--json", compare_json, "print one JSON line instead of a text table");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "genlab-cli: " << e.what() << "\n";
    return kBadInput;
  }

  // A rank of a data-parallel run says which one it is. Each error line goes out in one write: the
  // ranks share stderr, and a line written in pieces interleaves with another rank's.
  const std::string who = parallel.world_size > 1 ? "genlab-cli (rank " + std::to_string(parallel.rank) + ")" : "genlab-cli";
  try {
    genlab::configure_compute_threads(threads);
    genlab::keep_freed_memory();
    if (data->parsed()) return run_data(data_args);
    if (pack->parsed()) {
      genlab::family_of_checkpoint(pack_in);  // a genlab checkpoint, or a one-line error
      genlab::write_safetensors(pack_out, genlab::with_half_precision(genlab::read_safetensors(pack_in)));
      std::cout << nlohmann::json{{"out", pack_out}, {"from", pack_in}}.dump() << "\n";
      return 0;
    }
    // Compute commands check the BLAS first: a reference BLAS makes everything 10-30x slower.
    genlab::MachineInfo machine = genlab::probe_machine();
    if (!machine.warning.empty()) std::cerr << "genlab-cli: warning: " << machine.warning << "\n";
    if (bench->parsed()) return run_bench(machine, bench_json, bench_repeats, bench_machine_only);
    auto log = [](const std::string& line) { std::cerr << line << "\n"; };
    if (train->parsed()) {
      genlab::stop_requested();  // made before a handler can touch it
      std::signal(SIGINT, request_stop);
      std::signal(SIGTERM, request_stop);
      train_args.given = given_options(*train);
      train_args.binarize = !no_binarize;
      train_args.restarts = !no_restarts;
      train_args.skips = !no_skips;
      train_args.data_options.channels = train_rgb ? 3 : 1;
      if (nproc > 1) {
        if (train_args.model == "classifier") throw std::invalid_argument("--nproc: the classifier trains in one process");
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        return genlab::launch_ranks(argc, argv, {nproc, threads > 0 ? 0 : std::max(1, cores / nproc), parallel.timeout_s, train_args.out});
      }
      parallel.store_hosted = std::getenv("GENLAB_RENDEZVOUS_HOSTED") != nullptr;
      std::cout << genlab::train_model(train_args, log) << "\n";
      return train_exit(train_args.out, parallel.rank == 0);
    }
    if (translate->parsed()) {
      translate_args.given = given_options(*translate);
      std::cout << genlab::translate_image(translate_args) << "\n";
      return 0;
    }
    if (edit->parsed()) {
      edit_args.given = given_options(*edit);
      std::cout << genlab::edit_ddpm(edit_args) << "\n";
      return 0;
    }
    if (sample->parsed()) {
      sample_args.given = given_options(*sample);
      std::cout << genlab::sample_model(sample_args) << "\n";
      return 0;
    }
    if (compare->parsed()) {
      if (compare_ckpts.empty()) compare_ckpts = genlab::shipped_models();
      if (compare_classifier.empty()) compare_classifier = genlab::find_shipped_model("classifier-fashion.safetensors");
      if (compare_classifier.empty())
        throw std::invalid_argument("no classifier for FID-LeNet: pass --classifier C.safetensors");
      compare_options.use_cache = !compare_no_cache;
      const genlab::CompareTable table =
          genlab::compare_models(compare_ckpts, compare_classifier, compare_dataset, compare_options, log);
      std::cout << (compare_json ? genlab::compare_table_json(table) + "\n" : genlab::compare_table_text(table));
      return 0;
    }
    if (eval->parsed()) {
      eval_args.given = given_options(*eval);
      eval_args.cfg_curve = !no_cfg_curve;
      nlohmann::json result = nlohmann::json::parse(genlab::eval_model(eval_args, log));
      std::cout << (eval_json ? result.dump() : result.dump(2)) << "\n";
      return 0;
    }
  } catch (const genlab::DataError& e) {
    std::cerr << who + ": " + e.what() + "\n";
    return kBadInput;
  } catch (const genlab::CheckpointError& e) {
    std::cerr << who + ": " + e.what() + "\n";
    return kBadInput;
  } catch (const std::invalid_argument& e) {
    std::cerr << who + ": " + e.what() + "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << who + ": error: " + e.what() + "\n";
    return 1;
  }
  return 0;
}
