// Tensor <-> plain-buffer conversions and latent-space helpers shared by the labs. Torch header.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/data/image.h"
#include "core/data/layer_view.h"

namespace genlab {

// N x C x H x W floats -> a grid `cols` wide.
ImageGrid tensor_grid(const torch::Tensor& images, int cols, int pad = 1, float pad_value = 0.25f);
// C x H x W floats -> an image.
ImageBuffer tensor_image(const torch::Tensor& image);
// An image -> a batch of one, 1 x C x H x W floats (a copy).
torch::Tensor image_tensor(const ImageBuffer& image);
std::vector<float> to_vector(const torch::Tensor& t);
torch::Tensor from_vector(const std::vector<float>& v);  // 1 x n

// Spherical interpolation between two codes, row by row: row i of a and b at t[i].
torch::Tensor slerp_rows(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& t);

// One layer's output in a generator or decoder: B x C x H x W (a dense layer's as B x C x 1 x 1).
struct Activation {
  std::string name;
  torch::Tensor value;
};
// The output of each nonlinearity of `net` for x (what the next layer reads), first to last.
std::vector<Activation> sequential_activations(torch::nn::Sequential& net, torch::Tensor x);
// Sample 0 of layers[layer] (-1: the last) for the layer view; throws std::invalid_argument for a
// layer that does not exist.
LayerView layer_view(const std::vector<Activation>& layers, int layer);

// Spherical interpolation between two codes (falls back to the straight line when they are parallel).
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t);

// Where `genlab-cli sample` writes: throws std::invalid_argument unless `out` ends in .png or .npy.
void check_samples_path(const std::string& out);
// Columns of a sample grid: a row per class when every class is drawn in turn (classes > 0 and
// label -1), else about square.
int sample_columns(int n, int classes, int label);
// N x C x H x W images in [0, 1] to `out`: a .npy array, or a PNG grid `cols` wide carrying
// `record_json` (what made it) in its "genlab" text chunk.
void write_samples(const std::string& out, const torch::Tensor& images, int cols, const std::string& record_json);

// Labels first, first + 1, ... modulo `classes`: one sample of each class in turn.
torch::Tensor cycling_labels(int64_t first, int64_t count, int classes);

// n x latent standard-normal codes from their own seed, independent of torch's global generator.
torch::Tensor seeded_noise(uint64_t seed, int64_t n, int latent);

// `count` test images for a fixed display batch: as many of each class as fit when the data set has
// labels (a varied batch), else the first ones; sorted.
torch::Tensor varied_test_indices(const Dataset& data, int count);

}  // namespace genlab
