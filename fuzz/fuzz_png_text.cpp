// The PNG text-chunk reader on arbitrary bytes, and the parser of the sampling parameters that a
// "genlab" chunk carries (what dropping a PNG on the window runs). Mutations rarely keep a chunk's
// CRC right, so each input is also read with every CRC fixed up: that reaches the chunk contents.
#include <zlib.h>

#include <cstdint>
#include <vector>

#include "core/io/png_text.h"
#include "core/diffusion/sampling_params.h"
#include "fuzz/fuzz_check.h"

namespace {

const std::string kName = "fuzz.png";

void read(const std::vector<uint8_t>& bytes) {
  try {
    auto texts = genlab::parse_png_text(bytes, kName);
    if (texts.count("genlab")) genlab::parse_sampling_record(texts["genlab"], kName);
  } catch (const genlab::DataError& error) {
    genlab::fuzz::check_error(error, kName);
  }
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Rewrites the CRC of every whole chunk after the 8-byte signature.
void fix_crcs(std::vector<uint8_t>& bytes) {
  for (size_t at = 8; at + 12 <= bytes.size();) {
    const uint32_t length = be32(&bytes[at]);
    if (length > bytes.size() - at - 12) return;
    const uint32_t crc = uint32_t(crc32(0, &bytes[at + 4], uInt(length + 4)));
    for (int i = 0; i < 4; ++i) bytes[at + 8 + length + size_t(i)] = uint8_t(crc >> (24 - 8 * i));
    at += 12 + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  read(bytes);
  fix_crcs(bytes);
  read(bytes);
  return 0;
}
