// Image-folder reader: finds images with std::filesystem, decodes them with stb on every core.
#include "core/data/image_folder.h"
#include "core/data/image.h"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace genlab {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxImageSize = 4096;
constexpr int64_t kHoldOutEvery = 10;  // without train/ and test/: every 10th image is test

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw DataError(path + ": " + problem);
}

struct ImageFile {
  fs::path path;
  std::string class_folder;    // empty: directly under the root, so unlabelled
  std::optional<Split> split;  // from train/ or test/; unset: held out by position
};

bool has_image_extension(const fs::path& path) {
  static const char* const kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm"};
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return std::find(std::begin(kExtensions), std::end(kExtensions), extension) != std::end(kExtensions);
}

// Hidden entries are tool litter (".git", macOS "._photo.png"), not data.
bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

bool is_image_file(const fs::directory_entry& entry) {
  return !is_hidden(entry.path()) && has_image_extension(entry.path()) && entry.is_regular_file();
}

std::vector<fs::path> images_under(const fs::path& folder) {
  std::vector<fs::path> found;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    if (is_hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
    } else if (is_image_file(*it)) {
      found.push_back(it->path());
    }
  }
  return found;
}

// One split's folder: images directly in it are unlabelled, each sub-folder holding images is a class.
void collect_images(const fs::path& folder, std::optional<Split> split, std::vector<ImageFile>& files,
                    std::set<std::string>& class_folders) {
  for (const fs::directory_entry& entry :
       fs::directory_iterator(folder, fs::directory_options::skip_permission_denied)) {
    if (is_hidden(entry.path())) continue;
    if (entry.is_directory()) {
      const std::string name = entry.path().filename().string();
      std::vector<fs::path> images = images_under(entry.path());
      if (!images.empty()) class_folders.insert(name);
      for (fs::path& image : images) files.push_back({std::move(image), name, split});
    } else if (is_image_file(entry)) {
      files.push_back({entry.path(), "", split});
    }
  }
}

// Decodes one file into out as channels x size x size; false when stb cannot read it.
bool decode_image(const fs::path& path, int size, int channels, uint8_t* out, std::vector<uint8_t>& resized) {
  int width = 0, height = 0, channels_in_file = 0;
  const std::unique_ptr<uint8_t, void (*)(void*)> pixels(
      stbi_load(path.c_str(), &width, &height, &channels_in_file, channels), stbi_image_free);
  if (!pixels) return false;
  const uint8_t* interleaved = pixels.get();
  if (width != size || height != size) {
    resized.resize(size_t(size) * size * channels);
    if (!stbir_resize_uint8(pixels.get(), width, height, 0, resized.data(), size, size, 0, channels)) {
      return false;
    }
    interleaved = resized.data();
  }
  const size_t plane = size_t(size) * size;
  for (int c = 0; c < channels; ++c) {
    for (size_t i = 0; i < plane; ++i) out[c * plane + i] = interleaved[i * channels + c];
  }
  return true;
}

}  // namespace

ImageFileShape image_file_shape(const std::string& path) {
  ImageFileShape shape;
  if (!stbi_info(path.c_str(), &shape.width, &shape.height, &shape.channels))
    throw DataError(path + ": not a readable image");
  return shape;
}

bool decode_image_file(const std::string& path, int size, int channels, uint8_t* out) {
  std::vector<uint8_t> resized;
  return decode_image(path, size, channels, out, resized);
}

namespace {

// Joins the workers on every way out, also when progress throws to cancel the load.
struct JoinOnExit {
  std::vector<std::thread>& workers;
  std::atomic<bool>& stop;
  ~JoinOnExit() {
    stop = true;
    for (std::thread& worker : workers) worker.join();
  }
};

// Decodes file i into slot i of pixels on all cores and says which ones stb could read (char, not
// bool, so that workers write separate bytes). progress is called on this thread only.
std::vector<char> decode_all(const std::vector<ImageFile>& files, const LoadOptions& options, uint8_t* pixels,
                             const LoadProgress& progress) {
  const size_t total = files.size();
  const size_t image_bytes = size_t(options.channels) * options.image_size * options.image_size;
  std::vector<char> readable(total, 0);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable changed;
  size_t done = 0;
  std::exception_ptr failure;

  const auto work = [&] {
    try {
      std::vector<uint8_t> resized;
      for (size_t i; !stop && (i = next++) < total;) {
        readable[i] = decode_image(files[i].path, options.image_size, options.channels,
                                   pixels + i * image_bytes, resized);
        const std::lock_guard<std::mutex> lock(mutex);
        ++done;
        changed.notify_one();
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
      changed.notify_one();
    }
  };

  {
    std::vector<std::thread> workers;
    const JoinOnExit joiner{workers, stop};
    const size_t thread_count = std::min<size_t>(total, std::max(1u, std::thread::hardware_concurrency()));
    for (size_t t = 0; t < thread_count; ++t) workers.emplace_back(work);
    std::unique_lock<std::mutex> lock(mutex);
    for (size_t reported = 0; reported < total;) {
      changed.wait(lock, [&] { return done != reported || failure; });
      if (failure) break;
      reported = done;
      lock.unlock();
      if (progress) progress(int64_t(reported), int64_t(total));
      lock.lock();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return readable;
}

}  // namespace

Dataset read_image_folder(const std::string& folder, const LoadOptions& options,
                          const LoadProgress& progress) {
  if (options.channels != 1 && options.channels != 3) {
    fail(folder, "channels must be 1 or 3, not " + std::to_string(options.channels));
  }
  if (options.image_size < 1 || options.image_size > kMaxImageSize) {
    fail(folder, "image size must be 1 to " + std::to_string(kMaxImageSize) + ", not " +
                     std::to_string(options.image_size));
  }

  const fs::path root(folder);
  std::vector<ImageFile> files;
  std::set<std::string> class_folders;
  try {
    std::error_code ec;
    if (!fs::exists(root, ec)) fail(folder, "no such folder");
    if (!fs::is_directory(root, ec)) fail(folder, "not a folder");
    if (fs::is_directory(root / "train", ec) && fs::is_directory(root / "test", ec)) {
      collect_images(root / "train", Split::Train, files, class_folders);
      collect_images(root / "test", Split::Test, files, class_folders);
    } else {
      collect_images(root, std::nullopt, files, class_folders);
    }
  } catch (const fs::filesystem_error& error) {
    fail(folder, error.code().message() + " (" + error.path1().string() + ")");
  }
  if (files.empty()) fail(folder, "no images found (png, jpg, jpeg, bmp, gif, tga, ppm or pgm)");
  std::sort(files.begin(), files.end(),
            [](const ImageFile& a, const ImageFile& b) { return a.path < b.path; });

  Dataset dataset;
  dataset.source = folder;
  dataset.channels = options.channels;
  dataset.height = dataset.width = options.image_size;
  dataset.class_names.assign(class_folders.begin(), class_folders.end());
  const size_t image_bytes = size_t(dataset.image_bytes());
  std::vector<uint8_t> pixels(files.size() * image_bytes);
  const std::vector<char> readable = decode_all(files, options, pixels.data(), progress);

  // Train images are compacted in place (slot i only ever moves down), so the pixels are never held
  // twice. The hold-out counts readable images only, so it is exactly every 10th image.
  size_t train_bytes = 0;
  int64_t position = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!readable[i]) {
      ++dataset.skipped_files;
      continue;
    }
    Split split = position++ % kHoldOutEvery == kHoldOutEvery - 1 ? Split::Test : Split::Train;
    if (files[i].split) split = *files[i].split;
    const uint8_t* image = pixels.data() + i * image_bytes;
    ImageSet& set = split == Split::Train ? dataset.train : dataset.test;
    if (split == Split::Train) {
      std::memmove(pixels.data() + train_bytes, image, image_bytes);
      train_bytes += image_bytes;
    } else {
      set.pixels.insert(set.pixels.end(), image, image + image_bytes);
    }
    const auto& names = dataset.class_names;
    set.labels.push_back(
        files[i].class_folder.empty()
            ? -1
            : int(std::lower_bound(names.begin(), names.end(), files[i].class_folder) - names.begin()));
    ++set.count;
  }
  if (position == 0) {
    const int skipped = dataset.skipped_files;
    fail(folder, "no readable images (" + std::to_string(skipped) + (skipped == 1 ? " file" : " files") +
                     " skipped)");
  }
  pixels.resize(train_bytes);
  dataset.train.pixels = std::move(pixels);
  return dataset;
}

}  // namespace genlab
