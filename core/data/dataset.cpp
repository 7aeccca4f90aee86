// Data set specs: picks the IDX or image-folder reader and assembles the Dataset.
#include "core/data/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/data/image_folder.h"

namespace genlab {
namespace {

namespace fs = std::filesystem;

const char* const kDefaultFashionFolder = "/usr/share/datasets/fashion-mnist";
const char* const kTrainImages = "train-images-idx3-ubyte";
const char* const kTestImages = "t10k-images-idx3-ubyte";
const std::vector<std::string> kFashionClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
constexpr int kMnistClasses = 10;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw DataError(path + ": " + problem);
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The file, or else its twin with ".gz" added or removed; empty when neither exists.
std::string existing_variant(const std::string& path) {
  if (is_file(path)) return path;
  const std::string twin = ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path + ".gz";
  return is_file(twin) ? twin : std::string();
}

// path with `from` replaced by `to` in its file name only; empty when the name lacks `from`.
std::string sibling(const std::string& path, const std::string& from, const std::string& to) {
  const fs::path file(path);
  std::string name = file.filename().string();
  const size_t at = name.find(from);
  if (at == std::string::npos) return {};
  name.replace(at, from.size(), to);
  return (file.parent_path() / name).string();
}

// Reads gzip and raw alike (gzread passes raw files through).
bool starts_with_idx_magic(const std::string& path) {
  const gzFile file = gzopen(path.c_str(), "rb");
  if (!file) return false;
  unsigned char magic[4];
  const bool whole = gzread(file, magic, sizeof magic) == int(sizeof magic);
  gzclose(file);
  const bool idx_type = magic[2] == 0x08 || magic[2] == 0x09 || (magic[2] >= 0x0B && magic[2] <= 0x0E);
  return whole && magic[0] == 0 && magic[1] == 0 && idx_type && magic[3] >= 1 && magic[3] <= 4;
}

struct IdxSplitFiles {
  std::string images;  // empty: the split is absent
  std::string labels;  // empty: no labels file by the standard naming, so unlabelled
};

// The files of one split: images as given, labels by the standard naming (.gz or not).
IdxSplitFiles split_files(const std::string& images) {
  const std::string labels = sibling(images, "images-idx3", "labels-idx1");
  if (labels.empty()) return {images, ""};
  const std::string found = existing_variant(labels);
  return {images, found.empty() ? labels : found};  // a missing labels file fails in read_idx
}

// Dims as "[60000, 28, 28]" for messages.
std::string describe_dims(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : uint64_t(size);
}

// Reads one split; the first split read sets dataset.height/width and later ones must match.
ImageSet read_idx_split(const IdxSplitFiles& files, Dataset& dataset) {
  IdxArray images = read_idx(files.images);
  if (images.dims.size() != 3) {
    fail(files.images, "expected images as 3 dimensions [N, H, W], found " + describe_dims(images.dims));
  }
  const int64_t count = images.dims[0];
  const int height = int(images.dims[1]), width = int(images.dims[2]);
  if (dataset.height == 0) {
    dataset.height = height;
    dataset.width = width;
  } else if (height != dataset.height || width != dataset.width) {
    fail(files.images, "images are " + std::to_string(height) + "x" + std::to_string(width) +
                           " but the other split's are " + std::to_string(dataset.height) + "x" +
                           std::to_string(dataset.width));
  }
  ImageSet set;
  set.count = count;
  set.pixels = std::move(images.data);
  if (files.labels.empty()) {
    set.labels.assign(size_t(count), -1);
    return set;
  }
  const IdxArray labels = read_idx(files.labels);
  if (labels.dims.size() != 1) {
    fail(files.labels, "expected labels as 1 dimension [N], found " + describe_dims(labels.dims));
  }
  if (labels.dims[0] != count) {
    fail(files.images, std::to_string(count) + " images but " + files.labels + " has " +
                           std::to_string(labels.dims[0]) + " labels");
  }
  set.labels.assign(labels.data.begin(), labels.data.end());
  return set;
}

enum class IdxKind { Mnist, Fashion };

// path is a folder with the standard file names or one images (or labels) file.
Dataset load_idx(const std::string& spec, const std::string& path, IdxKind kind, const std::string& title,
                 const LoadProgress& progress) {
  std::error_code ec;
  IdxSplitFiles train, test;
  if (fs::is_directory(path, ec)) {
    const fs::path folder(path);
    const std::string train_images = existing_variant((folder / kTrainImages).string());
    if (train_images.empty()) fail(path, std::string("no ") + kTrainImages + " or " + kTrainImages + ".gz");
    train = split_files(train_images);
    const std::string test_images = existing_variant((folder / kTestImages).string());
    if (!test_images.empty()) test = split_files(test_images);
  } else if (fs::exists(path, ec)) {
    // A dropped file: a labels file stands for its images, the name says its split, and the
    // other split is the same name with "train" and "t10k" swapped, where that exists.
    std::string images = path;
    const std::string images_of_labels = sibling(path, "labels-idx1", "images-idx3");
    if (!images_of_labels.empty()) {
      images = existing_variant(images_of_labels);
      if (images.empty()) fail(images_of_labels, "no such file (the images for " + path + ")");
    }
    const bool is_test = fs::path(images).filename().string().find("t10k") != std::string::npos;
    const std::string other =
        existing_variant(is_test ? sibling(images, "t10k", "train") : sibling(images, "train", "t10k"));
    (is_test ? test : train) = split_files(images);
    if (!other.empty()) (is_test ? train : test) = split_files(other);
  } else {
    fail(path, "no such file or folder");
  }

  uint64_t total = 0, done = 0;
  for (const std::string& file : {train.images, train.labels, test.images, test.labels}) {
    total += file_size_or_zero(file);
  }
  const auto report = [&](const std::string& file) {
    done += file_size_or_zero(file);
    if (progress) progress(int64_t(done), int64_t(total));
  };

  Dataset dataset;
  dataset.spec = spec;
  dataset.title = title;
  dataset.source = path;
  const std::pair<const IdxSplitFiles*, ImageSet*> splits[] = {{&train, &dataset.train},
                                                               {&test, &dataset.test}};
  for (const auto& [files, set] : splits) {
    if (files->images.empty()) continue;
    *set = read_idx_split(*files, dataset);
    report(files->images);
    report(files->labels);
  }

  int max_label = -1;
  for (const auto& [files, set] : splits) {
    const auto highest = std::max_element(set->labels.begin(), set->labels.end());
    if (highest == set->labels.end()) continue;
    if (kind == IdxKind::Fashion && *highest >= int(kFashionClasses.size())) {
      fail(files->labels, "label " + std::to_string(*highest) + " at index " +
                              std::to_string(highest - set->labels.begin()) + " is out of range (" +
                              std::to_string(kFashionClasses.size()) + " classes)");
    }
    max_label = std::max(max_label, *highest);
  }
  if (kind == IdxKind::Fashion) {
    dataset.class_names = kFashionClasses;
  } else {
    // Digits 0-9; IDX sets with more classes (EMNIST, KMNIST-49) get their numbers as names.
    for (int label = 0; label < std::max(kMnistClasses, max_label + 1); ++label) {
      dataset.class_names.push_back(std::to_string(label));
    }
  }
  return dataset;
}

Dataset load_folder(const std::string& spec, const std::string& path, const LoadOptions& options,
                    const LoadProgress& progress) {
  Dataset dataset = read_image_folder(path, options, progress);
  dataset.spec = spec;
  dataset.title = "Folder (" + path + ")";
  return dataset;
}

[[noreturn]] void fail_unknown(const std::string& name) {
  throw DataError("unknown data set '" + name + "' (use fashion-mnist, mnist:PATH, folder:PATH or a path)");
}

}  // namespace

std::string Dataset::class_name(int label) const {
  if (label < 0) return "unlabelled";
  if (size_t(label) < class_names.size()) return class_names[size_t(label)];
  return "#" + std::to_string(label);
}

Dataset load_dataset(const std::string& spec, const LoadOptions& options, const LoadProgress& progress) {
  const size_t colon = spec.find(':');
  const std::string prefix = spec.substr(0, colon);
  const std::string path = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
  if (spec == "fashion-mnist" || spec == "fashion-mnist:") {
    if (existing_variant((fs::path(kDefaultFashionFolder) / kTrainImages).string()).empty()) {
      fail(kDefaultFashionFolder,
           "Fashion-MNIST is not installed (install the Debian package dataset-fashion-mnist)");
    }
    return load_idx("fashion-mnist", kDefaultFashionFolder, IdxKind::Fashion, "Fashion-MNIST", progress);
  }
  if (colon != std::string::npos && (prefix == "fashion-mnist" || prefix == "mnist" || prefix == "folder")) {
    if (path.empty()) throw DataError("'" + spec + "' needs a path, e.g. " + prefix + ":/data/" + prefix);
    if (prefix == "fashion-mnist") {
      return load_idx(spec, path, IdxKind::Fashion, "Fashion-MNIST (" + path + ")", progress);
    }
    if (prefix == "mnist") return load_idx(spec, path, IdxKind::Mnist, "MNIST (" + path + ")", progress);
    return load_folder(spec, path, options, progress);
  }

  // A bare path, or a name we do not know.
  std::error_code ec;
  if (fs::exists(spec, ec)) return load_dataset(detect_spec(spec), options, progress);
  if (prefix.find('/') == std::string::npos) fail_unknown(prefix);
  fail(spec, "no such file or folder");
}

std::shared_ptr<Dataset> blank_dataset(int channels, int height, int width, int classes) {
  auto d = std::make_shared<Dataset>();
  d->channels = channels;
  d->height = height;
  d->width = width;
  d->class_names.resize(size_t(std::max(0, classes)));
  d->train.count = 1;
  d->train.pixels.assign(size_t(channels) * height * width, 0);
  d->train.labels = {0};
  return d;
}

std::string detect_spec(const std::string& path) {
  std::error_code ec;
  bool idx = false;
  if (fs::is_directory(path, ec)) {
    idx = !existing_variant((fs::path(path) / kTrainImages).string()).empty();
  } else if (fs::is_regular_file(path, ec)) {
    idx = lowercase(fs::path(path).filename().string()).find("idx") != std::string::npos ||
          starts_with_idx_magic(path);
  }
  if (!idx) return "folder:" + path;
  return (lowercase(path).find("fashion") != std::string::npos ? "fashion-mnist:" : "mnist:") + path;
}

}  // namespace genlab
