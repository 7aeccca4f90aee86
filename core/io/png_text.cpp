#include "core/io/png_text.h"

#include <stb_image_write.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/io/safetensors.h"

namespace genlab {

namespace {

const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t read_be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

}  // namespace

void write_png_with_text(const std::string& path, const ImageBuffer& image, const std::string& key,
                         const std::string& text) {
  if (key.empty() || key.size() > 79 || key.find('\0') != std::string::npos)
    throw DataError(path + ": PNG text key must be 1..79 characters without NUL");
  auto bytes = to_interleaved_bytes(image);
  std::vector<uint8_t> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &png, image.width, image.height, image.channels, bytes.data(),
                              image.width * image.channels) ||
      png.size() < 33)
    throw DataError(path + ": cannot encode PNG");
  // The tEXt chunk goes right after IHDR (8-byte signature + 25-byte IHDR chunk).
  std::vector<uint8_t> chunk = {'t', 'E', 'X', 't'};
  chunk.insert(chunk.end(), key.begin(), key.end());
  chunk.push_back(0);
  chunk.insert(chunk.end(), text.begin(), text.end());
  std::vector<uint8_t> out(png.begin(), png.begin() + 33);
  append_be32(out, uint32_t(chunk.size() - 4));
  out.insert(out.end(), chunk.begin(), chunk.end());
  append_be32(out, uint32_t(crc32(0, chunk.data(), uInt(chunk.size()))));
  out.insert(out.end(), png.begin() + 33, png.end());
  try {
    write_file_atomically(path, out);
  } catch (const CheckpointError& e) {
    throw DataError(e.what());
  }
}

std::map<std::string, std::string> read_png_text(const std::string& path) {
  // A dropped device or pipe has no end (or blocks on open): only regular files are read.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw DataError(path + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": no such file");
  return parse_png_text(std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {}), path);
}

std::map<std::string, std::string> parse_png_text(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) throw DataError(name + ": not a PNG file");
  std::map<std::string, std::string> texts;
  size_t at = 8;
  while (at + 12 <= bytes.size()) {
    const uint32_t length = read_be32(&bytes[at]);
    if (length > bytes.size() - at - 12) throw DataError(name + ": PNG chunk at byte " + std::to_string(at) + " runs past the end");
    const uint8_t* type = &bytes[at + 4];
    const uint32_t crc = read_be32(&bytes[at + 8 + length]);
    if (crc != uint32_t(crc32(0, type, uInt(length + 4))))
      throw DataError(name + ": PNG chunk at byte " + std::to_string(at) + " has a bad CRC");
    if (std::memcmp(type, "tEXt", 4) == 0) {
      const char* data = reinterpret_cast<const char*>(type + 4);
      const size_t key_end = std::find(data, data + length, '\0') - data;
      if (key_end < length) texts[std::string(data, key_end)] = std::string(data + key_end + 1, length - key_end - 1);
    }
    if (std::memcmp(type, "IEND", 4) == 0) break;
    at += 12 + length;
  }
  return texts;
}

}  // namespace genlab
