// Image data sets as plain CPU buffers: no torch, no GL, so every layer can include this.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace genlab {

// Thrown for bad input. what() is one line that names the file (or value) and the problem,
// e.g. "/data/train-images-idx3-ubyte.gz: wrong magic number 0x00000000 (expected 0x00000803)".
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Split { Train, Test };

// One split of a data set: N images of C x H x W bytes (row-major, channels first), labels in
// [0, classes) or -1 where the source has none.
struct ImageSet {
  int64_t count = 0;
  std::vector<uint8_t> pixels;  // count * C * H * W
  std::vector<int> labels;      // count
};

struct Dataset {
  std::string spec;    // what was asked for, e.g. "fashion-mnist", "mnist:/d", "folder:/d"
  std::string title;   // what the UI shows, e.g. "Fashion-MNIST"
  std::string source;  // the file or folder it was read from
  int channels = 1, height = 0, width = 0;
  std::vector<std::string> class_names;  // empty when the source has no classes
  ImageSet train, test;
  int skipped_files = 0;  // folder reader: unreadable files that were skipped

  const ImageSet& split(Split s) const { return s == Split::Train ? train : test; }
  int64_t image_bytes() const { return int64_t(channels) * height * width; }
  const uint8_t* image(Split s, int64_t i) const { return split(s).pixels.data() + i * image_bytes(); }
  int label(Split s, int64_t i) const { return split(s).labels[size_t(i)]; }
  std::string class_name(int label) const;  // "Sneaker", or "#3" / "unlabelled"
};

// An IDX array (the MNIST file layout): big-endian magic 0x0000 08 <ndims>, dims, then bytes.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads a raw or gzip-compressed IDX file of unsigned bytes (type 0x08). Throws DataError for a
// missing file, wrong magic, corrupt or truncated gzip, or a payload shorter or longer than dims say.
IdxArray read_idx(const std::string& path);
// The same for an IDX file (raw or gzip) already in memory; `name` stands for the path in errors.
IdxArray read_idx_bytes(const std::vector<uint8_t>& bytes, const std::string& name);

struct LoadOptions {
  int image_size = 28;  // folder reader: images are resized to image_size x image_size
  int channels = 1;     // folder reader: 1 (grayscale) or 3 (RGB)
};

// Reports progress of a load as (done, total); may be empty.
using LoadProgress = std::function<void(int64_t done, int64_t total)>;

// Opens a data set from a spec:
//   "fashion-mnist"          Debian's dataset-fashion-mnist files (/usr/share/datasets/fashion-mnist)
//   "fashion-mnist:PATH"     the same layout elsewhere
//   "mnist:PATH"             PATH is a folder holding the four standard IDX files (.gz or raw),
//                            or one images IDX file (its labels and other split are found beside it)
//   "folder:PATH"            a folder of PNG/JPEG/BMP/... images; sub-folders are classes; a folder
//                            with train/ and test/ sub-folders gives both splits, else every 10th
//                            image (sorted by path) is held out as test. Unreadable files are skipped
//                            and counted; none readable is an error.
//   a bare PATH              detected: an IDX file or IDX folder, else an image folder.
Dataset load_dataset(const std::string& spec, const LoadOptions& options = {},
                     const LoadProgress& progress = {});

// A data set holding one blank training image of the given shape and `classes` unnamed classes:
// what a model needs to be rebuilt for sampling from a checkpoint, without its training images.
std::shared_ptr<Dataset> blank_dataset(int channels, int height, int width, int classes);

// The spec load_dataset would use for a dropped or typed path (for drag-and-drop).
std::string detect_spec(const std::string& path);

}  // namespace genlab
