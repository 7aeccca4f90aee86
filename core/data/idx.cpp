// IDX reader. Raw and gzip files are streamed straight into the result, so the payload is written
// once and never copied; gzip is inflated with every zlib return code checked. Bytes already in
// memory (what the fuzzer feeds) go through the same parser as files.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "core/data/dataset.h"

namespace genlab {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr int kMaxDims = 4;
constexpr size_t kInputChunk = size_t(1) << 18;
// Deflate expands at most 1032:1, so this bounds what a gzip file can hold; used to size the first
// allocation so a header that lies about its dims cannot make us allocate gigabytes up front.
constexpr uint64_t kMaxDeflateRatio = 1032;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw DataError(path + ": " + problem);
}

std::string hex(uint32_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%0*X", digits, value);
  return text;
}

// The IDX element types other than unsigned byte, named for the error message.
const char* other_idx_type_name(uint8_t type) {
  switch (type) {
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

// The dims count the standard file names promise ("train-images-idx3-ubyte" -> 3), or 0.
int dims_from_file_name(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  const size_t at = name.find("idx");
  if (at == std::string::npos || at + 3 >= name.size()) return 0;
  const int digit = name[at + 3] - '0';
  return digit >= 1 && digit <= kMaxDims ? digit : 0;
}

// The bytes of a file or of a buffer in memory, inflated on the fly when they start with the gzip
// magic. read() returns fewer bytes than asked for only at the end of the data; every problem
// throws DataError.
class ByteStream {
 public:
  explicit ByteStream(const std::string& path) : path_(path), buffer_(kInputChunk) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) fail(path, "is a folder, not an IDX file");
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) {
      const int error = errno;
      fail(path, error == ENOENT ? std::string("no such file")
                                 : std::string("cannot open (") + std::strerror(error) + ")");
    }
    const uintmax_t size = fs::file_size(path, ec);
    total_size_ = ec ? 0 : uint64_t(size);
    refill();
    start();
  }
  // The whole input is one chunk that is never refilled; `name` stands for the path in errors.
  ByteStream(const std::vector<uint8_t>& bytes, const std::string& name)
      : path_(name), input_(bytes.data()), input_end_(bytes.size()), total_size_(bytes.size()) {
    start();
  }
  ~ByteStream() {
    if (inflating_) inflateEnd(&zstream_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // At least as many bytes as the stream can yield, unless the file size is unknown.
  uint64_t size_bound() const { return gzip_ ? total_size_ * kMaxDeflateRatio : total_size_; }

  size_t read(uint8_t* out, size_t count) { return gzip_ ? inflate_into(out, count) : copy_into(out, count); }

 private:
  void start() {
    gzip_ = input_end_ >= 2 && input_[0] == 0x1f && input_[1] == 0x8b;
    if (gzip_) {
      const int rc = inflateInit2(&zstream_, 15 + 32);
      if (rc != Z_OK) fail(path_, "cannot start inflating (zlib error " + std::to_string(rc) + ")");
      inflating_ = true;
    }
  }

  bool refill() {
    input_pos_ = input_end_ = 0;
    if (!file_) return false;
    input_end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_.get());
    if (std::ferror(file_.get())) fail(path_, std::string("read error (") + std::strerror(errno) + ")");
    input_ = buffer_.data();
    return input_end_ > 0;
  }

  size_t copy_into(uint8_t* out, size_t count) {
    const size_t buffered = std::min(count, input_end_ - input_pos_);
    if (buffered > 0) std::memcpy(out, input_ + input_pos_, buffered);  // an empty buffer may have no data()
    input_pos_ += buffered;
    if (buffered == count || !file_) return buffered;
    const size_t direct = std::fread(out + buffered, 1, count - buffered, file_.get());
    if (std::ferror(file_.get())) fail(path_, std::string("read error (") + std::strerror(errno) + ")");
    return buffered + direct;
  }

  size_t inflate_into(uint8_t* out, size_t count) {
    size_t produced = 0;
    while (produced < count && !stream_ended_) {
      if (input_pos_ == input_end_ && !refill()) fail(path_, "gzip stream ends early (truncated file)");
      const uInt space = uInt(std::min<size_t>(count - produced, UINT_MAX));
      zstream_.next_in = const_cast<uint8_t*>(input_ + input_pos_);
      zstream_.avail_in = uInt(input_end_ - input_pos_);
      zstream_.next_out = out + produced;
      zstream_.avail_out = space;
      const int rc = inflate(&zstream_, Z_NO_FLUSH);
      input_pos_ = input_end_ - zstream_.avail_in;
      produced += space - zstream_.avail_out;
      switch (rc) {
        case Z_OK:
          break;
        case Z_STREAM_END:
          // gzip allows concatenated members ("cat a.gz b.gz"): whatever follows is read as another.
          if (input_pos_ == input_end_ && !refill()) {
            stream_ended_ = true;
          } else if (inflateReset(&zstream_) != Z_OK) {
            fail(path_, "cannot restart inflating for the next gzip member");
          }
          break;
        case Z_DATA_ERROR:
          fail(path_, std::string("corrupt gzip data (") + (zstream_.msg ? zstream_.msg : "no detail") + ")");
        case Z_NEED_DICT:
          fail(path_, "corrupt gzip data (asks for a preset dictionary)");
        case Z_MEM_ERROR:
          fail(path_, "out of memory while inflating");
        default:
          fail(path_, "corrupt gzip data (zlib error " + std::to_string(rc) + ")");
      }
    }
    return produced;
  }

  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, std::fclose};  // null for a buffer
  std::vector<uint8_t> buffer_;  // a file's current chunk
  const uint8_t* input_ = nullptr;
  size_t input_pos_ = 0, input_end_ = 0;
  uint64_t total_size_ = 0;
  bool gzip_ = false, inflating_ = false, stream_ended_ = false;
  z_stream zstream_{};
};

uint32_t big_endian32(const uint8_t* bytes) {
  return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
}

// `path` names the input in errors (and its file name hints the expected dims).
IdxArray read_idx_stream(ByteStream& in, const std::string& path) {
  uint8_t magic[4];
  const size_t magic_read = in.read(magic, sizeof magic);
  if (magic_read == 0) fail(path, "empty file");
  if (magic_read < sizeof magic) {
    fail(path, "too short for an IDX header (" + std::to_string(magic_read) + " bytes)");
  }
  const uint32_t magic_number = big_endian32(magic);
  const uint8_t type = magic[2], ndims = magic[3];
  if (magic[0] == 0 && magic[1] == 0 && other_idx_type_name(type)) {
    fail(path, "unsupported element type " + hex(type, 2) + " (" + other_idx_type_name(type) +
                   "); only unsigned bytes (0x08) can be read");
  }
  if (magic[0] != 0 || magic[1] != 0 || type != kUnsignedByteType) {
    const int expected_dims = dims_from_file_name(path);
    fail(path, "wrong magic number " + hex(magic_number, 8) + " (expected " +
                   (expected_dims ? hex(0x800u + uint32_t(expected_dims), 8)
                                  : std::string("0x00000801 to 0x00000804")) +
                   ")");
  }
  if (ndims < 1 || ndims > kMaxDims) {
    fail(path, std::to_string(ndims) + " dimensions in magic number " + hex(magic_number, 8) +
                   " (expected 1 to 4)");
  }

  uint8_t dim_bytes[4 * kMaxDims];
  const size_t dims_size = 4 * size_t(ndims);
  const size_t dims_read = in.read(dim_bytes, dims_size);
  if (dims_read < dims_size) {
    fail(path, "truncated header: " + std::to_string(4 + dims_read) + " of " + std::to_string(4 + dims_size) +
                   " bytes");
  }
  IdxArray array;
  uint64_t expected = 1;
  for (int i = 0; i < ndims; ++i) {
    const int32_t dim = int32_t(big_endian32(dim_bytes + 4 * i));
    if (dim <= 0) {
      fail(path, "dimension " + std::to_string(i) + " is " + std::to_string(dim) + " (must be positive)");
    }
    if (expected > uint64_t(INT64_MAX) / uint64_t(dim)) {
      fail(path, "dimensions are too large to hold in memory");
    }
    expected *= uint64_t(dim);
    array.dims.push_back(dim);
  }

  // Grow only as far as the stream really goes, starting from what the file can possibly hold.
  const char* what = ndims == 1 ? " bytes of label data, expected " : " bytes of pixel data, expected ";
  array.data.resize(size_t(std::max<uint64_t>(1, std::min(expected, in.size_bound()))));
  size_t filled = 0;
  for (;;) {
    filled += in.read(array.data.data() + filled, array.data.size() - filled);
    if (filled < array.data.size() || array.data.size() == expected) break;
    array.data.resize(size_t(std::min<uint64_t>(expected, uint64_t(array.data.size()) * 2)));
  }
  if (filled < expected) fail(path, "truncated: " + std::to_string(filled) + what + std::to_string(expected));

  // Read to the end: that counts extra bytes and, for gzip, checks the CRC in the trailer.
  uint64_t extra = 0;
  uint8_t scratch[4096];
  for (size_t got; (got = in.read(scratch, sizeof scratch)) > 0;) extra += got;
  if (extra > 0) {
    fail(path, "too long: " + std::to_string(expected + extra) + what + std::to_string(expected));
  }
  return array;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  // A device or pipe has no end (or blocks on open): only regular files are read.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec) &&
      !std::filesystem::is_directory(path, ec))  // a folder has its own message
    throw DataError(path + ": not a regular file");
  ByteStream in(path);
  return read_idx_stream(in, path);
}

IdxArray read_idx_bytes(const std::vector<uint8_t>& bytes, const std::string& name) {
  ByteStream in(bytes, name);
  return read_idx_stream(in, name);
}

}  // namespace genlab
