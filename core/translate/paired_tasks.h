// What Pix2Pix learns from: each task makes an input from its target image (edges, a low-res copy,
// a greyed-out box, noise), the trivial baselines an output must beat (the low-res copy blown up by
// nearest or bicubic, the masked or noisy input itself), and the image figures that compare
// outputs with targets (core/metrics/image_similarity.h). Torch header.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "core/metrics/image_similarity.h"
#include "core/translate/translate_config.h"

namespace genlab {

// The task's input for B x C x H x W targets in [0, 1], in [0, 1]. Random parts (the box, the
// noise) come from torch's current generator.
torch::Tensor task_input(const TranslateConfig& config, const torch::Tensor& targets);

// The baselines of the task for these inputs (and their targets, for the low-res copy), by name:
// superres "nearest", "bicubic"; inpaint "masked input"; denoise "noisy input"; edges none.
std::vector<std::pair<std::string, torch::Tensor>> task_baselines(const TranslateConfig& config,
                                                                   const torch::Tensor& inputs,
                                                                   const torch::Tensor& targets);

// The same with the random parts drawn from their own `seed` (torch's generator is left as it was):
// the fixed inputs of evaluations, views and `genlab-cli translate`.
torch::Tensor seeded_task_input(const TranslateConfig& config, const torch::Tensor& targets, uint64_t seed);

// Thresholded Sobel edges, 1 on an edge: what a person draws on the canvas.
torch::Tensor sobel_edges(const torch::Tensor& images);


}  // namespace genlab
