#include "core/io/npy.h"

#include <cstring>
#include <stdexcept>

#include "core/io/safetensors.h"

namespace genlab {

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values) {
  std::string dims;  // "4, 3"; a 1-D shape needs a trailing comma to be a tuple: "4,"
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic, version, header length, then the header padded with spaces to end on a 64-byte boundary.
  const size_t preamble = 10;
  size_t total = preamble + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const uint8_t magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, uint8_t(header.size() & 255), uint8_t(header.size() >> 8)};
  std::vector<uint8_t> bytes(preamble + header.size() + values.size() * sizeof(float));
  std::memcpy(bytes.data(), magic, preamble);
  std::memcpy(bytes.data() + preamble, header.data(), header.size());
  std::memcpy(bytes.data() + preamble + header.size(), values.data(), values.size() * sizeof(float));
  write_file_atomically(path, bytes);
}

}  // namespace genlab
