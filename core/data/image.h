// CPU images as the worker hands them to the UI: float pixels, channels first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace genlab {

// C x H x W floats. Natural images hold [0, 1]; signed images (noise, differences) any range.
struct ImageBuffer {
  int channels = 1, height = 0, width = 0;
  std::vector<float> pixels;

  bool empty() const { return pixels.empty(); }
  float at(int c, int y, int x) const { return pixels[(size_t(c) * height + y) * width + x]; }
};

// A tiled grid of equally sized cells, with what each cell shows (for hover read-outs).
struct ImageGrid {
  ImageBuffer image;
  int cols = 0, rows = 0, cell_h = 0, cell_w = 0, pad = 0;
  std::vector<int64_t> indices;  // per cell: the data set index shown, -1 for an empty cell
  std::vector<int> labels;       // per cell: the label, -1 if none

  // The cell under pixel (x, y) of image, or -1 for padding and outside.
  int cell_at(int x, int y) const;
};

// Tiles `count` float images of C x H x W (contiguous) into a grid `cols` wide.
ImageGrid make_image_grid(const float* pixels, int count, int channels, int height, int width, int cols,
                          int pad = 1, float pad_value = 0.25f);

// A copy of one cell of a grid.
ImageBuffer grid_cell(const ImageGrid& grid, int cell);

// Tiles the given images of a data set split into a grid `cols` wide, `pad` pixels between cells
// (padding holds pad_value). Bytes are scaled to [0, 1].
ImageGrid make_dataset_grid(const Dataset& data, Split split, const std::vector<int64_t>& indices,
                            int cols, int pad = 1, float pad_value = 0.25f);

// The indices of a split whose label is enabled in `classes` (empty: all), in order.
std::vector<int64_t> filter_by_class(const Dataset& data, Split split, const std::vector<bool>& classes);

// Subtracts `image` (one cell's size) from every filled cell; padding becomes 0. Gives the signed
// "difference from the mean" view.
void subtract_from_cells(ImageGrid& grid, const ImageBuffer& image);

// The per-pixel mean of a split, as a [0, 1] image.
ImageBuffer mean_image(const Dataset& data, Split split);

// 8-bit RGB(A) or gray bytes, height x width x channels (interleaved, as PNG wants them).
std::vector<uint8_t> to_interleaved_bytes(const ImageBuffer& image, float lo = 0.f, float hi = 1.f);

// Reads a PNG/JPEG/... as a [0, 1] image of `channels` x size x size (resized); throws DataError
// naming the path when it cannot (used to encode a dropped picture).
ImageBuffer read_image(const std::string& path, int channels, int size);

// The size and channel count of an image file as stored; throws DataError naming the path when it
// cannot be read.
struct ImageFileShape {
  int width = 0, height = 0, channels = 0;
};
ImageFileShape image_file_shape(const std::string& path);

// Writes a PNG; throws DataError naming the path when it cannot.
void write_png(const std::string& path, const ImageBuffer& image);

}  // namespace genlab
