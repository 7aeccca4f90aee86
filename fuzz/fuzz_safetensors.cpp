// The .safetensors decoder on arbitrary bytes. A file it accepts encodes again and decodes to the
// same tensors and metadata.
#include <cstdint>
#include <vector>

#include "core/io/safetensors.h"
#include "fuzz/fuzz_check.h"

namespace {

bool same(const genlab::SafetensorsFile& a, const genlab::SafetensorsFile& b) {
  if (a.metadata_json != b.metadata_json || a.tensors.size() != b.tensors.size()) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const genlab::NamedTensor &x = a.tensors[i], &y = b.tensors[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.bytes != y.bytes) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.safetensors";
  genlab::SafetensorsFile file;
  try {
    file = genlab::decode_safetensors(std::vector<uint8_t>(data, data + size), name);
  } catch (const genlab::CheckpointError& error) {
    genlab::fuzz::check_error(error, name);
    return 0;
  }
  if (!same(genlab::decode_safetensors(genlab::encode_safetensors(file), "again"), file))
    genlab::fuzz::broken("decode(encode(file)) differs from file");
  return 0;
}
