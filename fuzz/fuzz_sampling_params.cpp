// The parser of the sampling parameters in a sample PNG's "genlab" text, on arbitrary text (the PNG
// target reaches it only through a valid chunk). Parameters it accepts survive being written and
// read again.
#include <cstdint>
#include <string>

#include "core/data/dataset.h"
#include "core/diffusion/sampling_params.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = "fuzz.png";
  genlab::SamplingRecord record;
  try {
    record = genlab::parse_sampling_record(std::string(reinterpret_cast<const char*>(data), size), name);
  } catch (const genlab::DataError& error) {
    genlab::fuzz::check_error(error, name);
    return 0;
  }
  const genlab::SamplingRecord again = genlab::parse_sampling_record(genlab::sampling_record_json(record), "again");
  const genlab::SamplingParams &a = record.params, &b = again.params;
  if (again.checkpoint != record.checkpoint || a.sampler != b.sampler || a.steps != b.steps || a.cfg != b.cfg ||
      a.eta != b.eta || a.label != b.label || a.seed != b.seed || a.n != b.n)
    genlab::fuzz::broken("parameters change when written and read again");
  return 0;
}
