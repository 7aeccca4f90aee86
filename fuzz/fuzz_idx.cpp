// The IDX reader on arbitrary bytes, raw or gzip (the seeds hold both). A file it accepts holds
// exactly the bytes its dims promise.
#include <cstdint>
#include <vector>

#include "core/data/dataset.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz-idx3-ubyte";
  try {
    const genlab::IdxArray array = genlab::read_idx_bytes(std::vector<uint8_t>(data, data + size), name);
    uint64_t count = 1;
    for (int64_t dim : array.dims) count *= uint64_t(dim);
    if (array.dims.empty() || count != array.data.size()) genlab::fuzz::broken("data size disagrees with the dims");
  } catch (const genlab::DataError& error) {
    genlab::fuzz::check_error(error, name);
  }
  return 0;
}
