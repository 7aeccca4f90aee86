// Tests for core/data: IDX files (raw, gzip and broken ones), data set specs and the image-folder
// reader. Every fixture is written at run time into a fresh temporary folder.
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/lab/session.h"

namespace genlab {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const char* const kDebianFashion = "/usr/share/datasets/fashion-mnist";

Bytes idx_bytes(const std::vector<int32_t>& dims, const Bytes& data, uint8_t type = 0x08) {
  Bytes bytes = {0, 0, type, uint8_t(dims.size())};
  for (const int32_t dim : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(uint32_t(dim) >> shift));
  }
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

Bytes gzip(const Bytes& raw) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes compressed(deflateBound(&stream, uLong(raw.size())) + 64);
  stream.next_in = const_cast<uint8_t*>(raw.data());
  stream.avail_in = uInt(raw.size());
  stream.next_out = compressed.data();
  stream.avail_out = uInt(compressed.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  compressed.resize(stream.total_out);
  deflateEnd(&stream);
  return compressed;
}

// Smooth ramps plus noise: image-like, so deflate builds real Huffman blocks to break.
Bytes image_like_bytes(size_t count, uint32_t seed) {
  Bytes bytes(count);
  uint32_t state = seed;
  for (size_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    bytes[i] = uint8_t(i * 7 % 200 + (state >> 27));
  }
  return bytes;
}

void write_file(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A solid PNG with colour.size() channels (1 grey, 3 RGB).
void write_png(const fs::path& path, int width, int height, const Bytes& colour) {
  const int channels = int(colour.size());
  Bytes pixels(size_t(width) * height * channels);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = colour[i % channels];
  fs::create_directories(path.parent_path());
  ASSERT_NE(stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels), 0)
      << path;
}

// action must throw a DataError whose message is one line, starts with "<named>: " and holds fragment.
void expect_data_error(const std::function<void()>& action, const std::string& named,
                       const std::string& fragment) {
  try {
    action();
  } catch (const DataError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(named + ": ", 0), 0u) << "does not start with the name: " << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "lacks '" << fragment << "': " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "more than one line: " << message;
    return;
  }
  ADD_FAILURE() << "no DataError; expected one with '" << fragment << "'";
}

#define EXPECT_DATA_ERROR(statement, named, fragment)       \
  do {                                                      \
    SCOPED_TRACE(#statement);                               \
    expect_data_error([&] { statement; }, named, fragment); \
  } while (0)

class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "genlab-test-data-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string at(const std::string& relative) const { return (root_ / relative).string(); }

  // The four standard files in folder: images [count, height, width], labels i % 10.
  void write_idx_set(const std::string& folder, int train_count, int test_count, bool gzipped, int height = 4,
                     int width = 5) {
    const std::string suffix = gzipped ? ".gz" : "";
    const auto write = [&](const std::string& name, const Bytes& bytes) {
      write_file(fs::path(folder) / (name + suffix), gzipped ? gzip(bytes) : bytes);
    };
    for (const auto& [prefix, count] :
         {std::pair{std::string("train"), train_count}, std::pair{std::string("t10k"), test_count}}) {
      Bytes labels(static_cast<size_t>(count));
      for (int i = 0; i < count; ++i) labels[size_t(i)] = uint8_t(i % 10);
      write(prefix + "-images-idx3-ubyte",
            idx_bytes({count, height, width},
                      image_like_bytes(size_t(count) * height * width, uint32_t(count))));
      write(prefix + "-labels-idx1-ubyte", idx_bytes({count}, labels));
    }
  }

  fs::path root_;
};

// ---- read_idx

TEST_F(DataTest, IdxRawRoundTrip) {
  const Bytes pixels = image_like_bytes(3 * 4 * 5, 1);
  write_file(at("a-idx3-ubyte"), idx_bytes({3, 4, 5}, pixels));
  const IdxArray array = read_idx(at("a-idx3-ubyte"));
  EXPECT_EQ(array.dims, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(array.data, pixels);
}

TEST_F(DataTest, IdxGzipRoundTripIsDetectedByMagicNotName) {
  const Bytes pixels = image_like_bytes(50 * 28 * 28, 2);
  const Bytes compressed = gzip(idx_bytes({50, 28, 28}, pixels));
  write_file(at("images-idx3-ubyte.gz"), compressed);
  write_file(at("compressed-without-suffix"), compressed);
  for (const std::string name : {"images-idx3-ubyte.gz", "compressed-without-suffix"}) {
    const IdxArray array = read_idx(at(name));
    EXPECT_EQ(array.dims, (std::vector<int64_t>{50, 28, 28})) << name;
    EXPECT_EQ(array.data, pixels) << name;
  }
}

TEST_F(DataTest, IdxConcatenatedGzipMembersReadAsOneFile) {
  const Bytes raw = idx_bytes({6}, {1, 2, 3, 4, 5, 6});
  Bytes joined = gzip(Bytes(raw.begin(), raw.begin() + 7));
  const Bytes second = gzip(Bytes(raw.begin() + 7, raw.end()));
  joined.insert(joined.end(), second.begin(), second.end());
  write_file(at("labels-idx1-ubyte.gz"), joined);
  EXPECT_EQ(read_idx(at("labels-idx1-ubyte.gz")).data, (Bytes{1, 2, 3, 4, 5, 6}));
}

TEST_F(DataTest, IdxMissingFile) {
  EXPECT_DATA_ERROR(read_idx(at("nothing-idx1-ubyte.gz")), at("nothing-idx1-ubyte.gz"), "no such file");
  EXPECT_DATA_ERROR(read_idx(root_.string()), root_.string(), "is a folder");
}

TEST_F(DataTest, IdxWrongMagic) {
  Bytes bytes = idx_bytes({2, 2, 2}, Bytes(8, 0));
  bytes[0] = 0x12, bytes[1] = 0x34, bytes[2] = 0x56, bytes[3] = 0x78;
  write_file(at("train-images-idx3-ubyte"), bytes);
  EXPECT_DATA_ERROR(read_idx(at("train-images-idx3-ubyte")), at("train-images-idx3-ubyte"),
                    "wrong magic number 0x12345678 (expected 0x00000803)");
  write_file(at("unnamed.gz"), gzip(bytes));
  EXPECT_DATA_ERROR(read_idx(at("unnamed.gz")), at("unnamed.gz"),
                    "wrong magic number 0x12345678 (expected 0x00000801 to 0x00000804)");
}

TEST_F(DataTest, IdxNonByteTypeIsNamed) {
  write_file(at("floats-idx1"), idx_bytes({2}, Bytes(8, 0), 0x0D));
  EXPECT_DATA_ERROR(read_idx(at("floats-idx1")), at("floats-idx1"),
                    "unsupported element type 0x0D (float32)");
}

TEST_F(DataTest, IdxBadHeaders) {
  write_file(at("empty"), {});
  EXPECT_DATA_ERROR(read_idx(at("empty")), at("empty"), "empty file");
  write_file(at("five-dims"), {0, 0, 8, 5});
  EXPECT_DATA_ERROR(read_idx(at("five-dims")), at("five-dims"), "5 dimensions");
  write_file(at("zero-dim"), idx_bytes({3, 0}, {}));
  EXPECT_DATA_ERROR(read_idx(at("zero-dim")), at("zero-dim"), "dimension 1 is 0 (must be positive)");
  write_file(at("negative-dim"), idx_bytes({-4}, {}));
  EXPECT_DATA_ERROR(read_idx(at("negative-dim")), at("negative-dim"), "dimension 0 is -4");
  write_file(at("short-header"), {0, 0, 8, 3, 0, 0, 0, 9});
  EXPECT_DATA_ERROR(read_idx(at("short-header")), at("short-header"), "truncated header: 8 of 16 bytes");
}

TEST_F(DataTest, IdxHugeDimsInATinyFileFailWithoutHugeAllocation) {
  write_file(at("liar"), idx_bytes({1 << 30, 1 << 30}, Bytes(10, 1)));
  EXPECT_DATA_ERROR(read_idx(at("liar")), at("liar"),
                    "truncated: 10 bytes of pixel data, expected 1152921504606846976");
}

TEST_F(DataTest, IdxTruncatedRawPayload) {
  write_file(at("short-idx3"), idx_bytes({10, 4, 4}, Bytes(100, 7)));
  EXPECT_DATA_ERROR(read_idx(at("short-idx3")), at("short-idx3"),
                    "truncated: 100 bytes of pixel data, expected 160");
  write_file(at("short-idx1"), idx_bytes({10}, Bytes(9, 1)));
  EXPECT_DATA_ERROR(read_idx(at("short-idx1")), at("short-idx1"),
                    "truncated: 9 bytes of label data, expected 10");
}

TEST_F(DataTest, IdxTruncatedGzip) {
  const Bytes compressed = gzip(idx_bytes({40, 28, 28}, image_like_bytes(40 * 28 * 28, 3)));
  write_file(at("half.gz"), Bytes(compressed.begin(), compressed.begin() + long(compressed.size() / 2)));
  EXPECT_DATA_ERROR(read_idx(at("half.gz")), at("half.gz"), "gzip stream ends early (truncated file)");
  // Cut inside the 8-byte trailer: all pixels are there, the checksum is not.
  write_file(at("no-trailer.gz"), Bytes(compressed.begin(), compressed.end() - 3));
  EXPECT_DATA_ERROR(read_idx(at("no-trailer.gz")), at("no-trailer.gz"),
                    "gzip stream ends early (truncated file)");
}

TEST_F(DataTest, IdxCorruptGzip) {
  Bytes compressed = gzip(idx_bytes({40, 28, 28}, image_like_bytes(40 * 28 * 28, 4)));
  for (size_t i = compressed.size() / 2; i < compressed.size() / 2 + 16; ++i) compressed[i] ^= 0xA5;
  write_file(at("flipped.gz"), compressed);
  EXPECT_DATA_ERROR(read_idx(at("flipped.gz")), at("flipped.gz"), "corrupt gzip data (");
}

TEST_F(DataTest, IdxTrailingBytesAreAnError) {
  Bytes bytes = idx_bytes({10, 4, 4}, Bytes(160, 7));
  bytes.insert(bytes.end(), 5, 0);
  write_file(at("long-idx3"), bytes);
  write_file(at("long-idx3.gz"), gzip(bytes));
  for (const std::string name : {"long-idx3", "long-idx3.gz"}) {
    EXPECT_DATA_ERROR(read_idx(at(name)), at(name), "too long: 165 bytes of pixel data, expected 160");
  }
}

// The fuzzer's entry point: bytes in memory take the file reader's path, and `name` stands for the path.
TEST(IdxBytes, ReadLikeFilesAndNameTheBytesInErrors) {
  const Bytes pixels = image_like_bytes(3 * 4 * 5, 5);
  const Bytes raw = idx_bytes({3, 4, 5}, pixels), compressed = gzip(raw);
  for (const Bytes& bytes : {raw, compressed}) {
    const IdxArray array = read_idx_bytes(bytes, "in-memory");
    EXPECT_EQ(array.dims, (std::vector<int64_t>{3, 4, 5}));
    EXPECT_EQ(array.data, pixels);
  }
  EXPECT_DATA_ERROR(read_idx_bytes({}, "nothing"), "nothing", "empty file");
  EXPECT_DATA_ERROR(read_idx_bytes(Bytes(raw.begin(), raw.end() - 1), "cut"), "cut",
                    "truncated: 59 bytes of pixel data, expected 60");
  EXPECT_DATA_ERROR(read_idx_bytes(Bytes(compressed.begin(), compressed.end() - 3), "cut.gz"), "cut.gz",
                    "gzip stream ends early (truncated file)");
  Bytes wrong = raw;
  wrong[2] = 0x07;
  EXPECT_DATA_ERROR(read_idx_bytes(wrong, "train-images-idx3-ubyte"), "train-images-idx3-ubyte",
                    "wrong magic number 0x00000703 (expected 0x00000803)");
}

// ---- IDX data sets

TEST_F(DataTest, MnistFolderLoadsBothSplits) {
  write_idx_set(at("digits"), 30, 12, true);
  int64_t last_done = -1, last_total = -1;
  const Dataset data = load_dataset("mnist:" + at("digits"), {}, [&](int64_t done, int64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done, last_total = total;
  });
  EXPECT_EQ(data.spec, "mnist:" + at("digits"));
  EXPECT_EQ(data.title, "MNIST (" + at("digits") + ")");
  EXPECT_EQ(data.source, at("digits"));
  EXPECT_EQ(data.channels, 1);
  EXPECT_EQ(data.height, 4);
  EXPECT_EQ(data.width, 5);
  EXPECT_EQ(data.train.count, 30);
  EXPECT_EQ(data.test.count, 12);
  EXPECT_EQ(data.train.pixels, image_like_bytes(30 * 4 * 5, 30));
  EXPECT_EQ(data.test.pixels, image_like_bytes(12 * 4 * 5, 12));
  EXPECT_EQ(data.label(Split::Test, 11), 1);
  EXPECT_EQ(data.image(Split::Train, 2), data.train.pixels.data() + 2 * 20);
  ASSERT_EQ(data.class_names.size(), 10u);
  EXPECT_EQ(data.class_name(7), "7");
  EXPECT_GT(last_total, 0);
  EXPECT_EQ(last_done, last_total);
}

TEST_F(DataTest, RawFilesAndABarePathWork) {
  write_idx_set(at("raw"), 10, 10, false);
  const Dataset data = load_dataset(at("raw"));
  EXPECT_EQ(data.spec, "mnist:" + at("raw"));
  EXPECT_EQ(data.train.count, 10);
  EXPECT_EQ(data.test.count, 10);
}

TEST_F(DataTest, ImageLabelCountMismatch) {
  write_idx_set(at("d"), 20, 10, true);
  write_file(at("d/train-labels-idx1-ubyte.gz"), gzip(idx_bytes({19}, Bytes(19, 0))));
  const std::string images = at("d/train-images-idx3-ubyte.gz"), labels = at("d/train-labels-idx1-ubyte.gz");
  EXPECT_DATA_ERROR(load_dataset("mnist:" + at("d")), images, "20 images but " + labels + " has 19 labels");
}

TEST_F(DataTest, ImagesMustHaveThreeDimensions) {
  write_idx_set(at("d"), 10, 10, false);
  write_file(at("d/train-images-idx3-ubyte"), idx_bytes({10, 20}, Bytes(200, 0)));
  EXPECT_DATA_ERROR(load_dataset("mnist:" + at("d")), at("d/train-images-idx3-ubyte"), "found [10, 20]");
}

TEST_F(DataTest, LabelOutOfRangeForKnownClasses) {
  write_idx_set(at("fashion"), 10, 10, true);
  Bytes labels(10, 3);
  labels[6] = 10;
  write_file(at("fashion/t10k-labels-idx1-ubyte.gz"), gzip(idx_bytes({10}, labels)));
  EXPECT_DATA_ERROR(load_dataset("fashion-mnist:" + at("fashion")), at("fashion/t10k-labels-idx1-ubyte.gz"),
                    "label 10 at index 6 is out of range (10 classes)");
  // A generic IDX set may have more classes than ten digits: they get their numbers as names.
  const Dataset wide = load_dataset("mnist:" + at("fashion"));
  EXPECT_EQ(wide.class_names.size(), 11u);
  EXPECT_EQ(wide.class_name(10), "10");
}

TEST_F(DataTest, SplitsMustAgreeOnImageSize) {
  write_idx_set(at("d"), 10, 10, false);
  write_file(at("d/t10k-images-idx3-ubyte"), idx_bytes({10, 5, 5}, Bytes(250, 0)));
  EXPECT_DATA_ERROR(load_dataset("mnist:" + at("d")), at("d/t10k-images-idx3-ubyte"), "images are 5x5 but");
}

TEST_F(DataTest, MissingIdxFiles) {
  fs::create_directories(at("empty"));
  EXPECT_DATA_ERROR(load_dataset("mnist:" + at("empty")), at("empty"), "no train-images-idx3-ubyte");
  EXPECT_DATA_ERROR(load_dataset("mnist:" + at("absent")), at("absent"), "no such file or folder");
  write_idx_set(at("d"), 10, 10, true);
  fs::remove(at("d/train-labels-idx1-ubyte.gz"));
  EXPECT_DATA_ERROR(load_dataset("mnist:" + at("d")), at("d/train-labels-idx1-ubyte.gz"), "no such file");
}

TEST_F(DataTest, DetectSpec) {
  write_idx_set(at("digits"), 10, 10, true);
  write_idx_set(at("My-Fashion-Set"), 10, 10, false);
  write_png(at("pictures/a.png"), 4, 4, {9});
  EXPECT_EQ(detect_spec(at("digits")), "mnist:" + at("digits"));
  EXPECT_EQ(detect_spec(at("My-Fashion-Set")), "fashion-mnist:" + at("My-Fashion-Set"));
  EXPECT_EQ(detect_spec(at("digits/t10k-images-idx3-ubyte.gz")),
            "mnist:" + at("digits/t10k-images-idx3-ubyte.gz"));
  EXPECT_EQ(detect_spec(at("pictures")), "folder:" + at("pictures"));
  // An IDX file is also known by its magic number, gzip or not.
  write_file(at("data.bin"), gzip(idx_bytes({2}, {1, 2})));
  EXPECT_EQ(detect_spec(at("data.bin")), "mnist:" + at("data.bin"));
}

TEST_F(DataTest, DroppedImagesFileLoadsBothSplits) {
  write_idx_set(at("d"), 20, 10, true);
  for (const std::string dropped :
       {"d/train-images-idx3-ubyte.gz", "d/t10k-images-idx3-ubyte.gz", "d/train-labels-idx1-ubyte.gz"}) {
    const Dataset data = load_dataset(at(dropped));
    EXPECT_EQ(data.spec, "mnist:" + at(dropped));
    EXPECT_EQ(data.train.count, 20) << dropped;
    EXPECT_EQ(data.test.count, 10) << dropped;
    EXPECT_EQ(data.train.labels[13], 3) << dropped;
    EXPECT_EQ(data.test.pixels, image_like_bytes(10 * 4 * 5, 10)) << dropped;
  }
}

TEST_F(DataTest, UnknownSpecs) {
  for (const std::string spec : {"xyz", "xyz:/somewhere"}) {
    try {
      load_dataset(spec);
      ADD_FAILURE() << spec << " loaded";
    } catch (const DataError& error) {
      EXPECT_STREQ(error.what(),
                   "unknown data set 'xyz' (use fashion-mnist, mnist:PATH, folder:PATH or a path)");
    }
  }
  EXPECT_DATA_ERROR(load_dataset(at("no/such/path")), at("no/such/path"), "no such file or folder");
}

TEST(ClassName, FallsBackToNumberOrUnlabelled) {
  Dataset data;
  EXPECT_EQ(data.class_name(3), "#3");
  EXPECT_EQ(data.class_name(-1), "unlabelled");
  data.class_names = {"cat", "dog"};
  EXPECT_EQ(data.class_name(1), "dog");
  EXPECT_EQ(data.class_name(-1), "unlabelled");
}

// ---- image folders

TEST_F(DataTest, ClassSubfoldersGiveLabelsAndNames) {
  write_png(at("pets/dog/b.png"), 8, 8, {200});
  write_png(at("pets/cat/x.png"), 8, 8, {10});
  write_png(at("pets/cat/nested/y.jpg.png"), 8, 8, {20});
  write_png(at("pets/dog/a.PNG"), 8, 8, {100});
  fs::create_directories(at("pets/notes"));  // no images: not a class
  const Dataset data = load_dataset("folder:" + at("pets"), {8, 1});
  EXPECT_EQ(data.spec, "folder:" + at("pets"));
  EXPECT_EQ(data.title, "Folder (" + at("pets") + ")");
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(data.train.count, 4);
  EXPECT_EQ(data.test.count, 0);
  // Sorted by path: cat/nested/y, cat/x, dog/a, dog/b.
  EXPECT_EQ(data.train.labels, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(data.image(Split::Train, 0)[0], 20);
  EXPECT_EQ(data.image(Split::Train, 1)[63], 10);
  EXPECT_EQ(data.image(Split::Train, 2)[0], 100);
  EXPECT_EQ(data.image(Split::Train, 3)[0], 200);
  EXPECT_EQ(data.class_name(data.label(Split::Train, 3)), "dog");
}

TEST_F(DataTest, FlatFolderIsUnlabelled) {
  write_png(at("flat/one.png"), 6, 6, {1});
  write_png(at("flat/two.bmp.png"), 6, 6, {2});
  const Dataset data = load_dataset("folder:" + at("flat"), {6, 1});
  EXPECT_TRUE(data.class_names.empty());
  EXPECT_EQ(data.train.labels, (std::vector<int>{-1, -1}));
  EXPECT_EQ(data.class_name(-1), "unlabelled");
}

TEST_F(DataTest, ImagesAreResizedToTheRequestedSize) {
  write_png(at("sizes/wide.png"), 40, 20, {0, 128, 255});
  write_png(at("sizes/tiny.png"), 3, 3, {60, 60, 60});
  const Dataset data = load_dataset("folder:" + at("sizes"), {16, 3});
  EXPECT_EQ(data.height, 16);
  EXPECT_EQ(data.width, 16);
  EXPECT_EQ(data.image_bytes(), 3 * 16 * 16);
  ASSERT_EQ(data.train.pixels.size(), size_t(2 * 3 * 16 * 16));
  const uint8_t* tiny = data.image(Split::Train, 0);
  const uint8_t* wide = data.image(Split::Train, 1);
  for (int i = 0; i < 16 * 16; ++i) {
    EXPECT_NEAR(tiny[i], 60, 1);
    EXPECT_NEAR(wide[i], 0, 1);
    EXPECT_NEAR(wide[256 + i], 128, 1);
    EXPECT_NEAR(wide[512 + i], 255, 1);
  }
}

TEST_F(DataTest, RgbAndGreyscaleChannels) {
  write_png(at("colours/red.png"), 4, 4, {255, 0, 0});
  write_png(at("colours/zgrey.png"), 4, 4, {90});
  const Dataset rgb = load_dataset("folder:" + at("colours"), {4, 3});
  ASSERT_EQ(rgb.channels, 3);
  ASSERT_EQ(rgb.train.count, 2);
  const uint8_t* red = rgb.image(Split::Train, 0);
  const uint8_t* grey = rgb.image(Split::Train, 1);
  for (int i = 0; i < 16; ++i) {  // channels first: a whole plane per channel
    EXPECT_EQ(red[i], 255);
    EXPECT_EQ(red[16 + i], 0);
    EXPECT_EQ(red[32 + i], 0);
    EXPECT_EQ(grey[i], 90);
    EXPECT_EQ(grey[16 + i], 90);
    EXPECT_EQ(grey[32 + i], 90);
  }
  const Dataset mono = load_dataset("folder:" + at("colours"), {4, 1});
  EXPECT_EQ(mono.channels, 1);
  EXPECT_EQ(mono.train.pixels.size(), 2u * 16);
  EXPECT_NEAR(mono.image(Split::Train, 0)[0], 76, 1);  // stb's luma of pure red
  EXPECT_EQ(mono.image(Split::Train, 1)[0], 90);
}

TEST_F(DataTest, TrainAndTestSubfolders) {
  write_png(at("split/train/ant/1.png"), 4, 4, {1});
  write_png(at("split/train/bee/2.png"), 4, 4, {2});
  write_png(at("split/test/ant/3.png"), 4, 4, {3});
  write_png(at("split/test/cow/4.png"), 4, 4, {4});
  const Dataset data = load_dataset("folder:" + at("split"), {4, 1});
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"ant", "bee", "cow"}));
  EXPECT_EQ(data.train.labels, (std::vector<int>{0, 1}));
  EXPECT_EQ(data.test.labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(data.image(Split::Test, 1)[0], 4);
}

TEST_F(DataTest, EveryTenthImageIsHeldOut) {
  for (int i = 0; i < 25; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "many/%02d.png", i);
    write_png(at(name), 2, 2, {uint8_t(i * 10)});
  }
  int64_t calls = 0, last_done = 0, last_total = 0;
  const Dataset data = load_dataset("folder:" + at("many"), {2, 1}, [&](int64_t done, int64_t total) {
    EXPECT_GT(done, last_done);
    ++calls, last_done = done, last_total = total;
  });
  EXPECT_GT(calls, 0);
  EXPECT_EQ(last_done, 25);
  EXPECT_EQ(last_total, 25);
  ASSERT_EQ(data.test.count, 2);
  EXPECT_EQ(data.image(Split::Test, 0)[0], 90);
  EXPECT_EQ(data.image(Split::Test, 1)[0], 190);
  ASSERT_EQ(data.train.count, 23);
  EXPECT_EQ(data.image(Split::Train, 9)[0], 100);
  EXPECT_EQ(data.image(Split::Train, 22)[3], 240);
}

TEST_F(DataTest, ThrowingFromProgressCancelsAFolderLoad) {
  for (int i = 0; i < 40; ++i) write_png(at("cancel/" + std::to_string(100 + i) + ".png"), 8, 8, {7});
  struct Cancelled {};
  EXPECT_THROW(load_dataset("folder:" + at("cancel"), {8, 1}, [](int64_t, int64_t) { throw Cancelled(); }),
               Cancelled);
}

TEST_F(DataTest, JunkFilesAreSkippedAndCounted) {
  write_png(at("mixed/a.png"), 4, 4, {1});
  write_png(at("mixed/b.png"), 4, 4, {2});
  write_png(at("mixed/c.png"), 4, 4, {3});
  write_file(at("mixed/broken.png"), {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  write_file(at("mixed/readme.txt"), {'h', 'i'});        // not an image name: ignored
  write_file(at("mixed/._a.png"), {0, 5, 22, 7, 0, 2});  // hidden macOS litter: ignored
  const Dataset data = load_dataset("folder:" + at("mixed"), {4, 1});
  EXPECT_EQ(data.skipped_files, 1);
  ASSERT_EQ(data.train.count, 3);
  EXPECT_EQ(data.image(Split::Train, 2)[0], 3);
}

TEST_F(DataTest, FolderErrors) {
  fs::create_directories(at("empty"));
  EXPECT_DATA_ERROR(load_dataset("folder:" + at("empty")), at("empty"), "no images found");
  write_file(at("junk/one.jpg"), {1, 2, 3});
  write_file(at("junk/two.png"), {4, 5, 6});
  EXPECT_DATA_ERROR(load_dataset("folder:" + at("junk")), at("junk"), "no readable images (2 files skipped)");
  EXPECT_DATA_ERROR(load_dataset("folder:" + at("missing")), at("missing"), "no such folder");
  EXPECT_DATA_ERROR(load_dataset("folder:" + at("junk/one.jpg")), at("junk/one.jpg"), "not a folder");
  write_png(at("good/a.png"), 4, 4, {1});
  EXPECT_DATA_ERROR(load_dataset("folder:" + at("good"), {28, 2}), at("good"), "channels must be 1 or 3");
}

// ---- what the app does with a broken data set

TEST_F(DataTest, TheAppKeepsItsDataSetWhenABrokenOneFailsToOpen) {
  write_idx_set(at("good"), 10, 10, true);
  write_idx_set(at("magic"), 10, 10, false);
  Bytes wrong = idx_bytes({10, 4, 5}, Bytes(200, 0));
  wrong[2] = 0x07;
  write_file(at("magic/train-images-idx3-ubyte"), wrong);
  write_idx_set(at("cut"), 10, 10, true);
  const Bytes compressed = gzip(idx_bytes({10, 4, 5}, image_like_bytes(200, 5)));
  write_file(at("cut/t10k-images-idx3-ubyte.gz"), Bytes(compressed.begin(), compressed.begin() + 20));
  write_file(at("junk/a.png"), {'n', 'o', 'p', 'e'});
  Session session(1);
  session.open_dataset("mnist:" + at("good"));
  session.worker().wait_idle();
  ASSERT_TRUE(session.dataset().get());
  const struct {
    std::string spec, named, problem;
  } broken[] = {{"mnist:" + at("magic"), at("magic/train-images-idx3-ubyte"), "wrong magic number 0x00000703"},
                {"mnist:" + at("cut"), at("cut/t10k-images-idx3-ubyte.gz"), "truncated"},
                {at("junk"), at("junk"), "no readable images (1 file skipped)"}};
  for (const auto& b : broken) {
    session.open_dataset(b.spec);
    session.worker().wait_idle();
    const std::string error = session.worker().status()->value.error;
    EXPECT_NE(error.find(b.named + ": "), std::string::npos) << error;
    EXPECT_NE(error.find(b.problem), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_EQ(session.dataset().get()->value.data->source, at("good"));
  }
}

// ---- the real thing

TEST(DebianFashionMnist, LoadsBothSplitsWithNames) {
  if (!fs::exists(kDebianFashion)) GTEST_SKIP() << "install the Debian package dataset-fashion-mnist";
  const auto start = std::chrono::steady_clock::now();
  const Dataset data = load_dataset("fashion-mnist");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("load_seconds", std::to_string(seconds));
  std::printf("Fashion-MNIST loaded in %.3f s\n", seconds);
  EXPECT_EQ(data.title, "Fashion-MNIST");
  EXPECT_EQ(data.train.count, 60000);
  EXPECT_EQ(data.test.count, 10000);
  EXPECT_EQ(data.channels, 1);
  EXPECT_EQ(data.height, 28);
  EXPECT_EQ(data.width, 28);
  EXPECT_EQ(data.train.pixels.size(), 60000u * 28 * 28);
  EXPECT_EQ(data.test.labels.size(), 10000u);
  EXPECT_EQ(data.class_names.size(), 10u);
  EXPECT_EQ(data.label(Split::Train, 0), 9);
  EXPECT_EQ(data.class_name(data.label(Split::Train, 0)), "Ankle boot");
  EXPECT_EQ(detect_spec(kDebianFashion), std::string("fashion-mnist:") + kDebianFashion);
}

}  // namespace
}  // namespace genlab

TEST(IdxFiles, ADeviceIsRefusedInsteadOfReadForever) {
  try {
    genlab::read_idx("/dev/zero");
    FAIL() << "read /dev/zero";
  } catch (const genlab::DataError& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/zero: not a regular file");
  }
}
