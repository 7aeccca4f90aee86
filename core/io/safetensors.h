// The .safetensors format (what the PyTorch ecosystem uses, readable by Python's safetensors and
// torch): an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype,
// shape and byte range, then the raw little-endian data. genlab keeps its metadata (model kind,
// hyper-parameters, data set, step, metrics) as one JSON string under "__metadata__"."genlab".
// Torch-free, so the reader can be fuzzed and tested on its own.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace genlab {

// Bad or unreadable checkpoint files. what() is one line: "<path>: <problem>".
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class DType { F32, F16, I64 };
const char* dtype_name(DType dtype);  // "F32", "F16", "I64" as the format spells them
size_t dtype_size(DType dtype);

struct NamedTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little-endian, row-major; size = product(shape) * dtype_size
};

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  // in file order
  std::string metadata_json;         // the "genlab" metadata entry; "{}" when absent

  const NamedTensor* find(const std::string& name) const;
};

// Serialises to bytes (header padded with spaces to a multiple of 8, as the reference writer does).
std::vector<uint8_t> encode_safetensors(const SafetensorsFile& file);
// Parses bytes; `path` only names the source in errors. Rejects: fewer than 8 bytes, a header
// length beyond the file, JSON that does not parse or is not an object, unknown dtypes, shapes
// whose byte count disagrees with the data offsets, offsets outside the data or overlapping or
// leaving holes, duplicate names, and metadata that is not a string map.
SafetensorsFile decode_safetensors(const std::vector<uint8_t>& bytes, const std::string& path);

// Writes atomically: to "<path>.tmp", fsync, rename over path (a crash leaves the old file whole);
// the checkpoint it replaces is kept as "<path>.prev".
void write_safetensors(const std::string& path, const SafetensorsFile& file);
// Refuses a folder, device or pipe (CheckpointError naming the path): only a regular file has an end.
SafetensorsFile read_safetensors(const std::string& path);

// What a genlab checkpoint says of itself: the model name ("vae", "gan", "ddpm", ...), its config
// as JSON text, and the whole metadata block. Throws CheckpointError naming the path for a file
// without genlab model metadata.
struct CheckpointInfo {
  std::string model, config_json, metadata_json;
};
CheckpointInfo read_checkpoint_info(const std::string& path);

// Writes any bytes atomically the same way (used for optimizer state beside a checkpoint). With
// keep_previous, the file it replaces stays as `path`.prev (a hard link made before the rename, so
// at every instant `path` names a complete file).
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes, bool keep_previous = false);

// float <-> IEEE half, round to nearest even (for fp16 storage of shipped models).
uint16_t float_to_half(float value);
float half_to_float(uint16_t value);

// The same file with every F32 tensor stored as F16 (half the size; loading converts back).
SafetensorsFile with_half_precision(const SafetensorsFile& file);

}  // namespace genlab
