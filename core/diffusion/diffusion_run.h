// The diffusion jobs behind genlab-cli's train, sample and eval; torch-free so the CLI stays cheap
// to compile. Results are JSON text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

struct ComparableModel;

// The family's genlab-cli entry points (see core/families.cpp): train --model ddpm, sample (with
// the sampler, steps, CFG scale and eta given), eval (FID-LeNet and the rest, the CFG curve across
// w = 0, 1, 1.5, 2, 3, 5 for a conditional model, and on request FID against steps per sampler).
std::string train_ddpm(const TrainArgs& args, const LogLine& log);
std::string sample_ddpm(const SampleArgs& args);
std::string eval_ddpm(const EvalArgs& args, const LogLine& log);
// The Compare table's view of a checkpoint: samples along steps (per sampler) and the CFG scale (a
// latent checkpoint goes to comparable_latent).
std::shared_ptr<ComparableModel> comparable_diffusion(const std::string& path);

// genlab-cli edit: one picture or test images through an edit (image_editing.h) of a pixel DDPM.
struct EditArgs : RunArgs {
  std::string checkpoint, out;
  std::string input;          // a picture (super-resolution: the full-size image or its low-res copy)
  int64_t test_index = -1;    // or test images from this one on, `count` of them, scored against themselves
  int count = 1;
  std::string dataset;        // of the test images (default: the one the checkpoint names)
  std::string mask;           // inpainting: a picture, white where the model fills in
  double strength = 0.6;      // SDEdit
  double denoise = 0;         // > 0: the image holds noise of this level (a test image gets it added, seeded)
  int superres = 0;           // > 0: the factor
  int resample = 1;           // inpainting: RePaint's r
  std::string sampler = "dpmpp2m", cfg_schedule = "constant";
  int steps = 50, n = 1, label = -1;  // label -1: a test image's own class, a picture's: each class in turn
  double cfg = 3.0, eta = 0.0;
  uint64_t seed = 1;
};
std::string edit_ddpm(const EditArgs& args);

}  // namespace genlab
