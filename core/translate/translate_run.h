// genlab-cli for the image-to-image models: train (--model pix2pix --task ..., cyclegan/stargan
// --domains ...), eval (the test-set figures beside the task's baselines), and translate (one
// picture or test image through G). Torch-free.
#pragma once

#include <cstdint>
#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

class TranslateTrainer;
class SampleQuality;

struct TranslateArgs : RunArgs {
  std::string checkpoint, out;
  std::string input;      // a picture: Pix2Pix's task input, or an image of a domain
  int64_t test_index = -1;  // or a test image (Pix2Pix makes its task input from it, seeded)
  std::string to;         // CycleGAN/StarGAN: the target domain (default: the other one / every one)
  std::string dataset;    // empty: the one the checkpoint names
  uint64_t seed = 1;
};

std::string train_translate(const TrainArgs& args, const LogLine& log);
std::string eval_translate(const EvalArgs& args, const LogLine& log);
std::string translate_image(const TranslateArgs& args);

// The model's figures on the first `n` test images (of its domains), the task's random parts from
// `seed`, as JSON text. Pix2Pix: L1, PSNR and SSIM to the ground truth beside the baselines', and
// with `quality`, FID-LeNet of the outputs (and of the baselines). CycleGAN/StarGAN, per direction:
// the share of translations the classifier assigns to the target (with `quality`), the cycle L1
// and the silhouette IoU of input and output.
std::string evaluate_translation(TranslateTrainer& trainer, int n, uint64_t seed, SampleQuality* quality);

}  // namespace genlab
