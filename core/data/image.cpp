#include "core/data/image.h"

#include <stb_image_write.h>

#include <algorithm>

#include "core/data/image_folder.h"

namespace genlab {

int ImageGrid::cell_at(int x, int y) const {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return -1;
  int col = (x - pad) / (cell_w + pad), row = (y - pad) / (cell_h + pad);
  int in_x = (x - pad) - col * (cell_w + pad), in_y = (y - pad) - row * (cell_h + pad);
  if (x < pad || y < pad || in_x >= cell_w || in_y >= cell_h || col >= cols || row >= rows) return -1;
  int cell = row * cols + col;
  return cell < int(indices.size()) ? cell : -1;
}

ImageGrid make_image_grid(const float* pixels, int count, int channels, int height, int width, int cols, int pad,
                          float pad_value) {
  ImageGrid grid;
  grid.cols = std::max(1, cols);
  grid.rows = std::max(1, (count + grid.cols - 1) / grid.cols);
  grid.cell_h = height;
  grid.cell_w = width;
  grid.pad = pad;
  grid.indices.resize(size_t(count));
  for (int i = 0; i < count; ++i) grid.indices[size_t(i)] = i;
  grid.labels.assign(size_t(count), -1);
  ImageBuffer& img = grid.image;
  img.channels = channels;
  img.width = pad + grid.cols * (width + pad);
  img.height = pad + grid.rows * (height + pad);
  img.pixels.assign(size_t(channels) * img.height * img.width, pad_value);
  const size_t plane = size_t(height) * width;
  for (int cell = 0; cell < count; ++cell) {
    const float* src = pixels + size_t(cell) * channels * plane;
    int x0 = pad + (cell % grid.cols) * (width + pad);
    int y0 = pad + (cell / grid.cols) * (height + pad);
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < height; ++y)
        std::copy_n(src + c * plane + size_t(y) * width, width,
                    &img.pixels[(size_t(c) * img.height + y0 + y) * img.width + x0]);
  }
  return grid;
}

ImageBuffer grid_cell(const ImageGrid& grid, int cell) {
  const ImageBuffer& img = grid.image;
  ImageBuffer out{img.channels, grid.cell_h, grid.cell_w, {}};
  out.pixels.reserve(size_t(img.channels) * grid.cell_h * grid.cell_w);
  const int x0 = grid.pad + (cell % grid.cols) * (grid.cell_w + grid.pad);
  const int y0 = grid.pad + (cell / grid.cols) * (grid.cell_h + grid.pad);
  for (int c = 0; c < img.channels; ++c)
    for (int y = 0; y < grid.cell_h; ++y)
      for (int x = 0; x < grid.cell_w; ++x) out.pixels.push_back(img.at(c, y0 + y, x0 + x));
  return out;
}

ImageGrid make_dataset_grid(const Dataset& data, Split split, const std::vector<int64_t>& indices,
                            int cols, int pad, float pad_value) {
  const int64_t bytes = data.image_bytes();
  std::vector<float> pixels(indices.size() * size_t(bytes));
  for (size_t i = 0; i < indices.size(); ++i) {
    const uint8_t* src = data.image(split, indices[i]);
    for (int64_t j = 0; j < bytes; ++j) pixels[i * size_t(bytes) + size_t(j)] = src[j] * (1.f / 255.f);
  }
  ImageGrid grid = make_image_grid(pixels.data(), int(indices.size()), data.channels, data.height, data.width, cols,
                                   pad, pad_value);
  grid.indices = indices;
  for (size_t i = 0; i < indices.size(); ++i) grid.labels[i] = data.label(split, indices[i]);
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

ImageBuffer read_image(const std::string& path, int channels, int size) {
  std::vector<uint8_t> bytes(size_t(channels) * size * size);
  if (!decode_image_file(path, size, channels, bytes.data())) throw DataError(path + ": not a readable image");
  ImageBuffer out{channels, size, size, std::vector<float>(bytes.size())};
  for (size_t i = 0; i < bytes.size(); ++i) out.pixels[i] = bytes[i] * (1.f / 255.f);
  return out;
}

void write_png(const std::string& path, const ImageBuffer& image) {
  auto bytes = to_interleaved_bytes(image);
  if (!stbi_write_png(path.c_str(), image.width, image.height, image.channels, bytes.data(),
                      image.width * image.channels))
    throw DataError(path + ": cannot write PNG");
}

}  // namespace genlab
