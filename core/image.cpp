#include "core/image.h"

#include <stb_image_write.h>

#include <algorithm>

namespace genlab {

int ImageGrid::cell_at(int x, int y) const {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return -1;
  int col = (x - pad) / (cell_w + pad), row = (y - pad) / (cell_h + pad);
  int in_x = (x - pad) - col * (cell_w + pad), in_y = (y - pad) - row * (cell_h + pad);
  if (x < pad || y < pad || in_x >= cell_w || in_y >= cell_h || col >= cols || row >= rows) return -1;
  int cell = row * cols + col;
  return cell < int(indices.size()) ? cell : -1;
}

ImageGrid make_dataset_grid(const Dataset& data, Split split, const std::vector<int64_t>& indices,
                            int cols, int pad, float pad_value) {
  ImageGrid grid;
  const int n = int(indices.size());
  grid.cols = std::max(1, cols);
  grid.rows = std::max(1, (n + grid.cols - 1) / grid.cols);
  grid.cell_h = data.height;
  grid.cell_w = data.width;
  grid.pad = pad;
  grid.indices = indices;
  ImageBuffer& img = grid.image;
  img.channels = data.channels;
  img.width = pad + grid.cols * (data.width + pad);
  img.height = pad + grid.rows * (data.height + pad);
  img.pixels.assign(size_t(img.channels) * img.height * img.width, pad_value);
  const int64_t plane = int64_t(data.height) * data.width;
  for (int cell = 0; cell < n; ++cell) {
    const uint8_t* src = data.image(split, indices[size_t(cell)]);
    grid.labels.push_back(data.label(split, indices[size_t(cell)]));
    int x0 = pad + (cell % grid.cols) * (data.width + pad);
    int y0 = pad + (cell / grid.cols) * (data.height + pad);
    for (int c = 0; c < data.channels; ++c)
      for (int y = 0; y < data.height; ++y) {
        float* dst = &img.pixels[(size_t(c) * img.height + y0 + y) * img.width + x0];
        const uint8_t* row = src + c * plane + int64_t(y) * data.width;
        for (int x = 0; x < data.width; ++x) dst[x] = row[x] * (1.f / 255.f);
      }
  }
  return grid;
}

std::vector<int64_t> filter_by_class(const Dataset& data, Split split, const std::vector<bool>& classes) {
  const ImageSet& set = data.split(split);
  std::vector<int64_t> out;
  out.reserve(size_t(set.count));
  for (int64_t i = 0; i < set.count; ++i) {
    int label = set.labels[size_t(i)];
    bool shown = classes.empty() || (label >= 0 && label < int(classes.size()) && classes[size_t(label)]);
    if (shown) out.push_back(i);
  }
  return out;
}

void subtract_from_cells(ImageGrid& grid, const ImageBuffer& image) {
  ImageBuffer& img = grid.image;
  std::vector<float> out(img.pixels.size(), 0.f);
  for (int c = 0; c < img.channels; ++c)
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) {
        int cell = grid.cell_at(x, y);
        if (cell < 0 || grid.indices[size_t(cell)] < 0) continue;
        int cx = (x - grid.pad) % (grid.cell_w + grid.pad), cy = (y - grid.pad) % (grid.cell_h + grid.pad);
        size_t at = (size_t(c) * img.height + y) * img.width + x;
        out[at] = img.pixels[at] - image.at(c, cy, cx);
      }
  img.pixels = std::move(out);
}

ImageBuffer mean_image(const Dataset& data, Split split) {
  const ImageSet& set = data.split(split);
  const int64_t bytes = data.image_bytes();
  std::vector<double> sum(size_t(bytes), 0.0);
  for (int64_t i = 0; i < set.count; ++i) {
    const uint8_t* src = set.pixels.data() + i * bytes;
    for (int64_t j = 0; j < bytes; ++j) sum[size_t(j)] += src[j];
  }
  ImageBuffer mean{data.channels, data.height, data.width, std::vector<float>(size_t(bytes))};
  const double scale = set.count > 0 ? 1.0 / (255.0 * double(set.count)) : 0.0;
  for (int64_t j = 0; j < bytes; ++j) mean.pixels[size_t(j)] = float(sum[size_t(j)] * scale);
  return mean;
}

std::vector<uint8_t> to_interleaved_bytes(const ImageBuffer& image, float lo, float hi) {
  const size_t plane = size_t(image.height) * image.width;
  std::vector<uint8_t> out(plane * image.channels);
  const float scale = hi > lo ? 255.f / (hi - lo) : 0.f;
  for (int c = 0; c < image.channels; ++c)
    for (size_t p = 0; p < plane; ++p) {
      float v = (image.pixels[c * plane + p] - lo) * scale;
      out[p * image.channels + c] = uint8_t(std::clamp(v + 0.5f, 0.f, 255.f));
    }
  return out;
}

void write_png(const std::string& path, const ImageBuffer& image) {
  auto bytes = to_interleaved_bytes(image);
  if (!stbi_write_png(path.c_str(), image.width, image.height, image.channels, bytes.data(),
                      image.width * image.channels))
    throw DataError(path + ": cannot write PNG");
}

}  // namespace genlab
