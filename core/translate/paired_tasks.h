// What Pix2Pix learns from: each task makes an input from its target image (edges, a low-res copy,
// a greyed-out box, noise), the trivial baselines an output must beat (the low-res copy blown up by
// nearest or bicubic, the masked or noisy input itself), and the image figures that compare
// outputs with targets: L1, PSNR, SSIM, and the silhouette IoU that tells how much of an object's
// shape a translation kept. Torch header.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

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

// Means over the batch of images in [0, 1].
double mean_l1(const torch::Tensor& a, const torch::Tensor& b);
double psnr(const torch::Tensor& a, const torch::Tensor& b);  // dB, per image then averaged (capped at 60)
double ssim(const torch::Tensor& a, const torch::Tensor& b);  // 7x7 Gaussian window (sigma 1.5), per channel
// Intersection over union of the pixels brighter than `threshold` (the object's silhouette).
double silhouette_iou(const torch::Tensor& a, const torch::Tensor& b, double threshold = 0.1);

}  // namespace genlab
