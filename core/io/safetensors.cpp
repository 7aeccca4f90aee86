#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace genlab {

namespace {

// The reader uses the std::map flavour on purpose: ordered_json copies values recursively when its
// vector grows, which a deeply nested hostile header turns into a stack overflow. Parsing and
// destroying a plain json is iterative, and the reader never copies or dumps a parsed value.
using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;  // the reference reader's limit
constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kGenlabKey = "genlab";

// Names and dtypes come from the file: escape control characters and cap the length so an error
// stays one readable line.
std::string quoted(const std::string& text) {
  constexpr size_t kMaxShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += char(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "'";
}

std::string shape_text(const std::vector<int64_t>& shape) {
  constexpr size_t kMaxShown = 8;
  std::string out = "[";
  for (size_t i = 0; i < shape.size() && i < kMaxShown; ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  if (shape.size() > kMaxShown) out += ",...";
  return out + "]";
}

// Bytes a tensor of this shape needs, or false when a dim is negative or the product overflows.
bool byte_count(const std::vector<int64_t>& shape, DType dtype, uint64_t& bytes) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return false;
    if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / uint64_t(dim)) return false;
    count *= uint64_t(dim);
  }
  if (count > std::numeric_limits<uint64_t>::max() / dtype_size(dtype)) return false;
  bytes = count * dtype_size(dtype);
  return true;
}

bool parse_dtype(const std::string& name, DType& dtype) {
  for (DType candidate : {DType::F32, DType::F16, DType::I64})
    if (name == dtype_name(candidate)) {
      dtype = candidate;
      return true;
    }
  return false;
}

// Accepts only JSON integers >= 0; floats such as 2.0 are rejected like the reference reader does.
bool non_negative_integer(const Json& value, uint64_t& out) {
  if (value.is_number_unsigned()) {
    out = value.get<uint64_t>();
    return true;
  }
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    out = uint64_t(value.get<int64_t>());
    return true;
  }
  return false;
}

struct Placed {
  size_t index;  // into the header's tensor list
  uint64_t begin, end;
};

class Decoder {
 public:
  Decoder(const std::vector<uint8_t>& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  SafetensorsFile decode() {
    const uint64_t header_size = read_header_size();
    const Json header = parse_header(header_size);
    const uint64_t data_begin = 8 + header_size;
    const uint64_t data_size = bytes_.size() - data_begin;

    SafetensorsFile file;
    file.metadata_json = "{}";
    std::vector<NamedTensor> tensors;
    std::vector<Placed> placed;
    for (const auto& [name, entry] : header.items()) {
      if (name == kMetadataKey) {
        read_metadata(entry, file.metadata_json);
        continue;
      }
      NamedTensor tensor;
      tensor.name = name;
      uint64_t begin, end;
      read_entry(name, entry, tensor, begin, end, data_size);
      placed.push_back({tensors.size(), begin, end});
      tensors.push_back(std::move(tensor));
    }

    check_tiling(tensors, placed, data_size);
    for (const Placed& p : placed) {
      NamedTensor& tensor = tensors[p.index];
      tensor.bytes.assign(bytes_.begin() + std::ptrdiff_t(data_begin + p.begin),
                          bytes_.begin() + std::ptrdiff_t(data_begin + p.end));
      file.tensors.push_back(std::move(tensor));
    }
    return file;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw CheckpointError(path_ + ": " + problem); }

  uint64_t read_header_size() const {
    if (bytes_.empty()) fail("empty file, not a safetensors file");
    if (bytes_.size() < 8)
      fail("truncated: " + std::to_string(bytes_.size()) + " bytes, too short for the 8-byte header length");
    uint64_t size = 0;
    for (int i = 7; i >= 0; --i) size = (size << 8) | bytes_[size_t(i)];
    if (size > bytes_.size() - 8)
      fail("truncated: header says " + std::to_string(size) + " bytes but the file has " +
           std::to_string(bytes_.size()));
    if (size > kMaxHeaderBytes)
      fail("header of " + std::to_string(size) + " bytes is over the " + std::to_string(kMaxHeaderBytes) +
           "-byte limit");
    return size;
  }

  Json parse_header(uint64_t header_size) const {
    Json header;
    try {
      header = Json::parse(bytes_.begin() + 8, bytes_.begin() + std::ptrdiff_t(8 + header_size));
    } catch (const Json::parse_error& e) {
      fail("not a safetensors file (header is not JSON: error at byte " + std::to_string(e.byte) + ")");
    } catch (const Json::out_of_range&) {  // a number like 1e400 that no double holds
      fail("not a safetensors file (header is not JSON: a number is out of range)");
    }
    if (!header.is_object())
      fail(std::string("not a safetensors file (header is a JSON ") + header.type_name() + ", not an object)");
    return header;
  }

  void read_metadata(const Json& entry, std::string& metadata_json) const {
    if (!entry.is_object()) fail(std::string(kMetadataKey) + " is not an object of strings");
    for (const auto& [key, value] : entry.items()) {
      if (!value.is_string()) fail(std::string(kMetadataKey) + " entry " + quoted(key) + " is not a string");
      if (key == kGenlabKey) metadata_json = value.get<std::string>();
    }
  }

  void read_entry(const std::string& name, const Json& entry, NamedTensor& tensor, uint64_t& begin,
                  uint64_t& end, uint64_t data_size) const {
    const std::string who = "tensor " + quoted(name);
    if (!entry.is_object()) fail(who + " is not an object");

    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string()) fail(who + " has no string \"dtype\"");
    if (!parse_dtype(dtype->get<std::string>(), tensor.dtype))
      fail(who + " has unsupported dtype " + quoted(dtype->get<std::string>()) + " (genlab reads F32, F16, I64)");

    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) fail(who + " has no array \"shape\"");
    for (size_t i = 0; i < shape->size(); ++i) {
      uint64_t dim;
      if (!non_negative_integer((*shape)[i], dim))
        fail(who + " has shape entry " + std::to_string(i) + " that is not a non-negative integer");
      if (dim > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(who + " has shape entry " + std::to_string(i) + " too large");
      tensor.shape.push_back(int64_t(dim));
    }

    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !non_negative_integer((*offsets)[0], begin) || !non_negative_integer((*offsets)[1], end))
      fail(who + " needs \"data_offsets\" as two non-negative integers");
    const std::string range = "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (end < begin) fail(who + " has data_offsets " + range + " that end before they begin");
    if (end > data_size)  // what a cut-off download or copy looks like: say so first
      fail("truncated: " + who + " has data_offsets " + range + " past the end of the " + std::to_string(data_size) +
           "-byte data section");

    uint64_t expected;
    const std::string described = shape_text(tensor.shape) + " " + dtype_name(tensor.dtype);
    if (!byte_count(tensor.shape, tensor.dtype, expected)) fail(who + " has shape " + described + " too large");
    if (end - begin != expected)
      fail(who + " has " + std::to_string(end - begin) + " bytes for shape " + described + " (expected " +
           std::to_string(expected) + ")");
  }

  // The byte ranges must cover the data section exactly once: no overlaps, holes or trailing bytes.
  void check_tiling(const std::vector<NamedTensor>& tensors, std::vector<Placed>& placed,
                    uint64_t data_size) const {
    // Stable, so zero-byte tensors sharing an offset keep the header's (alphabetical) order.
    std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered = 0;
    const Placed* previous = nullptr;
    for (const Placed& p : placed) {
      if (p.begin < covered)
        fail("tensor " + quoted(tensors[p.index].name) + " overlaps tensor " + quoted(tensors[previous->index].name) +
             " at data byte " + std::to_string(p.begin));
      if (p.begin > covered) fail(hole(covered, p.begin));
      covered = p.end;
      previous = &p;
    }
    if (covered != data_size) fail(hole(covered, data_size));
  }

  static std::string hole(uint64_t from, uint64_t to) {
    return "data bytes [" + std::to_string(from) + ", " + std::to_string(to) + ") belong to no tensor";
  }

  const std::vector<uint8_t>& bytes_;
  const std::string& path_;
};

std::string system_error(const std::string& path, const std::string& what, int error) {
  return path + ": " + what + ": " + std::strerror(error);
}

// Returns 0 or the errno of the failed write; write(2) may take only part of the buffer.
int write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += written;
    size -= size_t(written);
  }
  return 0;
}

}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::I64: return "I64";
  }
  throw std::invalid_argument("dtype_name: invalid DType");
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::I64: return 8;
  }
  throw std::invalid_argument("dtype_size: invalid DType");
}

const NamedTensor* SafetensorsFile::find(const std::string& name) const {
  for (const NamedTensor& tensor : tensors)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

std::vector<uint8_t> encode_safetensors(const SafetensorsFile& file) {
  // Bad input here is a caller's bug, not a bad file, hence invalid_argument; write_safetensors
  // turns it into a CheckpointError naming the path.
  // Ordered so the metadata comes first and tensors keep the caller's order, as the reference does.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header[kMetadataKey] = {{kGenlabKey, file.metadata_json}};
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const NamedTensor& tensor : file.tensors) {
    const std::string who = "tensor " + quoted(tensor.name);
    if (tensor.name == kMetadataKey) throw std::invalid_argument(who + " uses the reserved name");
    if (!names.insert(tensor.name).second) throw std::invalid_argument(who + " appears twice");
    uint64_t expected;
    const std::string described = shape_text(tensor.shape) + " " + dtype_name(tensor.dtype);
    if (!byte_count(tensor.shape, tensor.dtype, expected))
      throw std::invalid_argument(who + " has invalid shape " + described);
    if (tensor.bytes.size() != expected)
      throw std::invalid_argument(who + " has " + std::to_string(tensor.bytes.size()) + " bytes for shape " +
                                  described + " (expected " + std::to_string(expected) + ")");
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + expected}}};
    offset += expected;
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error& e) {  // names or metadata that are not valid UTF-8
    throw std::invalid_argument(std::string("cannot encode header: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(uint64_t(text.size()) >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const NamedTensor& tensor : file.tensors) out.insert(out.end(), tensor.bytes.begin(), tensor.bytes.end());
  return out;
}

SafetensorsFile decode_safetensors(const std::vector<uint8_t>& bytes, const std::string& path) {
  return Decoder(bytes, path).decode();
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode_safetensors(file);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": cannot write: " + e.what());
  }
  write_file_atomically(path, bytes, /*keep_previous=*/true);
}

SafetensorsFile read_safetensors(const std::string& path) {
  // O_NONBLOCK: a FIFO named as a checkpoint must not hang the open; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) throw CheckpointError(path + ": no such file");
    throw CheckpointError(system_error(path, "cannot open", errno));
  }
  std::vector<uint8_t> bytes;
  struct stat info {};
  // Only a regular file has an end: /dev/zero or a pipe would be read until memory runs out.
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    const bool folder = S_ISDIR(info.st_mode);
    ::close(fd);
    throw CheckpointError(path + (folder ? ": is a folder, not a checkpoint file" : ": not a regular file"));
  }
  if (info.st_size > 0) bytes.reserve(size_t(info.st_size));
  uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      throw CheckpointError(system_error(path, "cannot read", error));
    }
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  ::close(fd);
  return decode_safetensors(bytes, path);
}

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes, bool keep_previous) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError(system_error(path, "cannot create " + tmp, errno));
  auto give_up = [&](const std::string& what, int error) {
    ::unlink(tmp.c_str());
    throw CheckpointError(system_error(path, what, error));
  };
  if (const int error = write_all(fd, bytes.data(), bytes.size())) {
    ::close(fd);
    give_up("cannot write " + tmp, error);
  }
  // fsync before rename, or a crash could leave the new name pointing at unwritten blocks.
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    give_up("cannot sync " + tmp, error);
  }
  if (::close(fd) != 0) give_up("cannot close " + tmp, errno);
  if (keep_previous && ::access(path.c_str(), F_OK) == 0) {
    const std::string previous = path + ".prev";
    ::unlink(previous.c_str());
    if (::link(path.c_str(), previous.c_str()) != 0) {  // no hard links here: copy instead
      std::error_code ec;
      std::filesystem::copy_file(path, previous, std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) give_up("cannot keep the previous checkpoint as " + previous, ec.value());
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) give_up("cannot rename " + tmp + " over it", errno);

  // The rename itself is durable only once the directory entry is synced.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) throw CheckpointError(system_error(path, "written, but cannot open its directory to sync", errno));
  const int synced = ::fsync(dir_fd);
  const int error = errno;
  ::close(dir_fd);
  if (synced != 0) throw CheckpointError(system_error(path, "written, but cannot sync its directory", error));
}

uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7FFFFFFF;

  if (magnitude >= 0x7F800000) {
    if (magnitude == 0x7F800000) return sign | 0x7C00;
    // Keep the top payload bits and force the quiet bit so the result stays a NaN.
    return uint16_t(sign | 0x7E00 | ((magnitude >> 13) & 0x3FF));
  }
  // 65520 is halfway between the largest half (65504, odd mantissa) and 2^16: ties go to infinity.
  if (magnitude >= 0x477FF000) return sign | 0x7C00;

  if (magnitude < 0x38800000) {  // below 2^-14: a half subnormal or zero
    // Up to 2^-25 (half the smallest subnormal, a tie that goes to the even zero) rounds to zero.
    if (magnitude <= 0x33000000) return sign;
    const uint32_t exponent = magnitude >> 23;
    const uint32_t mantissa = (magnitude & 0x7FFFFF) | 0x800000;
    const uint32_t shift = 126 - exponent;  // mantissa * 2^(exponent-150) in units of 2^-24
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1))) ++half;  // may carry into the smallest normal
    return uint16_t(sign | half);
  }

  // Rebias the exponent (127 -> 15) and drop 13 mantissa bits; a carry may bump the exponent.
  uint32_t half = (magnitude - 0x38000000) >> 13;
  const uint32_t rest = magnitude & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;
  return uint16_t(sign | half);
}

float half_to_float(uint16_t value) {
  const uint32_t sign = uint32_t(value & 0x8000) << 16;
  uint32_t exponent = (value >> 10) & 0x1F;
  uint32_t mantissa = value & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: normalise so the leading 1 becomes implicit.
    exponent = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  // Writing the config back out (dump) recurses: refuse metadata nested deeper than any genlab writes.
  constexpr int kMaxMetadataDepth = 64;
  bool too_deep = false;
  auto meta = nlohmann::json::parse(
      file.metadata_json,
      [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        too_deep |= depth > kMaxMetadataDepth;
        return !too_deep;
      },
      false);
  if (too_deep) throw CheckpointError(path + ": genlab metadata nested deeper than " + std::to_string(kMaxMetadataDepth) + " levels");
  if (!meta.is_object() || !meta.contains("model") || !meta["model"].is_string() || !meta.contains("config"))
    throw CheckpointError(path + ": not a genlab checkpoint (no model metadata)");
  return {meta["model"].get<std::string>(), meta["config"].dump(), file.metadata_json};
}

SafetensorsFile with_half_precision(const SafetensorsFile& file) {
  SafetensorsFile out = file;
  for (NamedTensor& t : out.tensors) {
    if (t.dtype != DType::F32) continue;
    std::vector<uint8_t> half(t.bytes.size() / 2);
    for (size_t i = 0; i < t.bytes.size() / 4; ++i) {
      float value;
      std::memcpy(&value, t.bytes.data() + 4 * i, 4);
      const uint16_t h = float_to_half(value);
      std::memcpy(half.data() + 2 * i, &h, 2);
    }
    t.bytes = std::move(half);
    t.dtype = DType::F16;
  }
  return out;
}

}  // namespace genlab
