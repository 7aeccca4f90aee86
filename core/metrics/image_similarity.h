// How alike two batches of images are, for restorations scored against their originals (Pix2Pix's
// tasks, diffusion's super-resolution and inpainting), and the plain upsampling baselines they must
// beat. Images B x C x H x W in [0, 1]. Torch header.
#pragma once

#include <torch/torch.h>

namespace genlab {

// A low-res batch blown up to size x size by nearest or bicubic (clamped to [0, 1]).
torch::Tensor upsample(const torch::Tensor& low, int64_t size, bool bicubic);

// Means over the batch.
double mean_l1(const torch::Tensor& a, const torch::Tensor& b);
double psnr(const torch::Tensor& a, const torch::Tensor& b);  // dB, per image then averaged (capped at 60)
double ssim(const torch::Tensor& a, const torch::Tensor& b);  // 7x7 Gaussian window (sigma 1.5), per channel
// Intersection over union of the pixels brighter than `threshold` (the object's silhouette).
double silhouette_iou(const torch::Tensor& a, const torch::Tensor& b, double threshold = 0.1);

}  // namespace genlab
