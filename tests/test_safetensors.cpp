// The .safetensors reader and writer: half-float conversion, byte-exact round trips, a hand-built
// file, hostile input, atomic writes, and files exchanged with Python.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "core/io/safetensors.h"

using namespace genlab;
namespace fs = std::filesystem;

namespace {

const char* const kPath = "/x/model.safetensors";
const char* const kPython = "/usr/bin/python3";

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bits_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

void append_le(std::vector<uint8_t>& out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(uint8_t(value >> (8 * i)));
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& values) {
  std::vector<uint8_t> out;
  for (float v : values) append_le(out, float_bits(v), 4);
  return out;
}

std::vector<uint8_t> f16_bytes(const std::vector<float>& values) {
  std::vector<uint8_t> out;
  for (float v : values) append_le(out, float_to_half(v), 2);
  return out;
}

std::vector<uint8_t> i64_bytes(const std::vector<int64_t>& values) {
  std::vector<uint8_t> out;
  for (int64_t v : values) append_le(out, uint64_t(v), 8);
  return out;
}

std::vector<float> f32_values(const std::vector<uint8_t>& bytes) {
  std::vector<float> out;
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    uint32_t bits = 0;
    for (int b = 3; b >= 0; --b) bits = (bits << 8) | bytes[i + size_t(b)];
    out.push_back(bits_float(bits));
  }
  return out;
}

// A file exactly as the spec lays it out, header text taken verbatim (no padding added).
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  append_le(out, header.size(), 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A file of `total` bytes whose length field claims `header_size`, the rest spaces.
std::vector<uint8_t> claimed_header(uint64_t header_size, size_t total) {
  std::vector<uint8_t> out;
  append_le(out, header_size, 8);
  out.resize(total, ' ');
  return out;
}

NamedTensor tensor(const std::string& name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
  NamedTensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes = std::move(bytes);
  return t;
}

SafetensorsFile sample_file() {
  SafetensorsFile file;
  file.tensors.push_back(tensor("enc.w", DType::F32, {2, 3}, f32_bytes({1, -2, 3.5f, 0, 1e-8f, -1e30f})));
  file.tensors.push_back(tensor("enc.b", DType::F16, {3}, f16_bytes({1, -0.5f, 65504})));
  file.tensors.push_back(tensor("step", DType::I64, {}, i64_bytes({-7})));
  file.tensors.push_back(tensor("empty", DType::F32, {0, 4}, {}));
  file.tensors.push_back(tensor("labels", DType::I64, {2}, i64_bytes({3, int64_t(1) << 40})));
  file.tensors.push_back(tensor("scale", DType::F32, {}, f32_bytes({0.25f})));
  file.metadata_json = R"({"kind":"vae","step":7,"note":"naïve \"quoted\""})";
  return file;
}

// Decoding must fail with one line that names the path and contains `problem`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& problem) {
  try {
    decode_safetensors(bytes, kPath);
    ADD_FAILURE() << "decoded without error; expected: " << problem;
  } catch (const CheckpointError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(std::string(kPath) + ": ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message << "\nexpected to contain: " << problem;
  }
}

std::string one_tensor(const std::string& entry) { return R"({"w":)" + entry + "}"; }

class SafetensorsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "genlab_safetensors_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Runs a command and returns its stdout; fails the test when it exits non-zero.
std::string run_python(const std::string& script_path, const std::string& argument) {
  const std::string command = std::string(kPython) + " " + script_path + " " + argument;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << command;
    return "";
  }
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command << " printed:\n" << out;
  return out;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST(Half, KnownValues) {
  EXPECT_EQ(float_to_half(1.0f), 0x3C00);
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFF);
  EXPECT_EQ(float_to_half(65519.99f), 0x7BFF);
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00);
  EXPECT_EQ(float_to_half(-1e10f), 0xFC00);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(float_to_half(std::ldexp(1023.0f, -24)), 0x03FF);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(0.1f), 0x2E66);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::denorm_min()), 0x0000);
  const uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // A NaN whose payload sits only in the low float bits must not turn into infinity.
  EXPECT_NE(float_to_half(bits_float(0x7F800001)) & 0x03FF, 0);

  EXPECT_EQ(half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_to_float(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(half_to_float(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(float_bits(half_to_float(0x8000)), 0x80000000u);
  EXPECT_EQ(half_to_float(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(half_to_float(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7C01)));
  EXPECT_FLOAT_EQ(half_to_float(0x2E66), 0.0999755859375f);
}

TEST(Half, EveryHalfSurvivesARoundTripThroughFloat) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

// Between each pair of neighbouring halves: the exact midpoint goes to the even one, and the
// floats just either side of it go to the nearer one.
TEST(Half, RoundsToNearestEven) {
  for (uint16_t low = 0; low < 0x7BFF; ++low) {
    const uint16_t high = uint16_t(low + 1);
    const float mid = (half_to_float(low) + half_to_float(high)) / 2;  // exact: needs 12 bits
    const uint16_t even = (low & 1) ? high : low;
    ASSERT_EQ(float_to_half(mid), even) << std::hex << low;
    ASSERT_EQ(float_to_half(-mid), even | 0x8000) << std::hex << low;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 0.0f)), low) << std::hex << low;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 1e9f)), high) << std::hex << low;
  }
}

TEST(Half, RandomFloatsKeepElevenBitsOfPrecision) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> exponent(-14, 15.99f), unit(-1, 1);
  for (int i = 0; i < 200000; ++i) {
    const float value = std::copysign(std::exp2(exponent(rng)), unit(rng));
    if (std::fabs(value) >= 65504) continue;
    const float back = half_to_float(float_to_half(value));
    ASSERT_LE(std::fabs(back - value), std::fabs(value) * std::ldexp(1.0f, -11)) << value;
  }
  // Subnormal halves keep absolute precision of half a unit (2^-25).
  for (int i = 0; i < 10000; ++i) {
    const float value = unit(rng) * std::ldexp(1.0f, -14);
    ASSERT_LE(std::fabs(half_to_float(float_to_half(value)) - value), std::ldexp(1.0f, -25)) << value;
  }
}

#ifdef __FLT16_MAX__
// The compiler's own conversion is an independent reference where it has _Float16.
TEST(Half, AgreesWithCompilerFloat16) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<uint32_t> any_bits;
  for (int i = 0; i < 1000000; ++i) {
    const float value = bits_float(any_bits(rng));
    if (std::isnan(value)) continue;
    const _Float16 reference = static_cast<_Float16>(value);
    uint16_t expected;
    std::memcpy(&expected, &reference, sizeof expected);
    ASSERT_EQ(float_to_half(value), expected) << value;
  }
}
#endif

TEST(Safetensors, DtypeNamesAndSizes) {
  EXPECT_STREQ(dtype_name(DType::F32), "F32");
  EXPECT_STREQ(dtype_name(DType::F16), "F16");
  EXPECT_STREQ(dtype_name(DType::I64), "I64");
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
}

TEST(Safetensors, RoundTripIsByteExact) {
  const SafetensorsFile original = sample_file();
  const std::vector<uint8_t> bytes = encode_safetensors(original);
  const SafetensorsFile decoded = decode_safetensors(bytes, kPath);

  EXPECT_EQ(decoded.metadata_json, original.metadata_json);
  ASSERT_EQ(decoded.tensors.size(), original.tensors.size());
  for (size_t i = 0; i < original.tensors.size(); ++i) {
    const NamedTensor& a = original.tensors[i];
    const NamedTensor& b = decoded.tensors[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.dtype, a.dtype) << a.name;
    EXPECT_EQ(b.shape, a.shape) << a.name;
    EXPECT_EQ(b.bytes, a.bytes) << a.name;
  }
  EXPECT_EQ(encode_safetensors(decoded), bytes);

  ASSERT_NE(decoded.find("scale"), nullptr);
  EXPECT_EQ(f32_values(decoded.find("scale")->bytes), std::vector<float>{0.25f});
  EXPECT_TRUE(decoded.find("scale")->shape.empty());
  EXPECT_EQ(decoded.find("missing"), nullptr);
}

TEST(Safetensors, HeaderIsSpacePaddedJsonAndDataIsContiguous) {
  const SafetensorsFile file = sample_file();
  const std::vector<uint8_t> bytes = encode_safetensors(file);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[size_t(i)];
  EXPECT_EQ(header_size % 8, 0u);
  ASSERT_LE(8 + header_size, bytes.size());

  const std::string text(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(header_size));
  const size_t json_end = text.find_last_not_of(' ') + 1;
  EXPECT_LT(text.size() - json_end, 8u);
  const auto header = nlohmann::ordered_json::parse(text);
  ASSERT_TRUE(header.is_object());
  EXPECT_EQ(header.begin().key(), "__metadata__");
  EXPECT_EQ(header["__metadata__"]["genlab"], file.metadata_json);

  uint64_t offset = 0;
  size_t index = 0;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const NamedTensor& t = file.tensors[index++];
    EXPECT_EQ(name, t.name);
    EXPECT_EQ(entry["dtype"], dtype_name(t.dtype));
    EXPECT_EQ(entry["shape"].get<std::vector<int64_t>>(), t.shape);
    EXPECT_EQ(entry["data_offsets"].get<std::vector<uint64_t>>(), (std::vector<uint64_t>{offset, offset + t.bytes.size()}));
    offset += t.bytes.size();
  }
  EXPECT_EQ(index, file.tensors.size());
  EXPECT_EQ(bytes.size(), 8 + header_size + offset);
}

TEST(Safetensors, DecodesAHandBuiltFile) {
  // Header keys out of data order, unpadded, metadata last with a foreign key beside ours.
  const std::string header =
      R"({"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]},)"
      R"("a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
      R"("__metadata__":{"format":"pt","genlab":"{\"step\":7}"}})";
  std::vector<uint8_t> bytes(8, 0);
  bytes[0] = uint8_t(header.size());
  bytes.reserve(8 + header.size() + 12);  // no reallocation inside insert: GCC 12 misreads that path
  bytes.insert(bytes.end(), header.begin(), header.end());
  const std::vector<uint8_t> data = {0x00, 0x3C, 0x00, 0xC0,                          // F16 1.0, -2.0
                                     0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};  // I64 -5
  bytes.insert(bytes.end(), data.begin(), data.end());

  const SafetensorsFile file = decode_safetensors(bytes, kPath);
  EXPECT_EQ(file.metadata_json, R"({"step":7})");
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].name, "a");  // file order is data order
  EXPECT_EQ(file.tensors[0].dtype, DType::F16);
  EXPECT_EQ(file.tensors[0].shape, std::vector<int64_t>{2});
  EXPECT_EQ(half_to_float(uint16_t(file.tensors[0].bytes[0] | file.tensors[0].bytes[1] << 8)), 1.0f);
  EXPECT_EQ(half_to_float(uint16_t(file.tensors[0].bytes[2] | file.tensors[0].bytes[3] << 8)), -2.0f);
  EXPECT_EQ(file.tensors[1].name, "b");
  EXPECT_EQ(file.tensors[1].dtype, DType::I64);
  EXPECT_TRUE(file.tensors[1].shape.empty());
  EXPECT_EQ(file.tensors[1].bytes, i64_bytes({-5}));
}

TEST(Safetensors, MetadataIsEmptyObjectWhenAbsent) {
  EXPECT_EQ(decode_safetensors(raw_file("{}", {}), kPath).metadata_json, "{}");
  EXPECT_EQ(decode_safetensors(raw_file(R"({"__metadata__":{"format":"pt"}})", {}), kPath).metadata_json, "{}");
  EXPECT_TRUE(decode_safetensors(raw_file("{}", {}), kPath).tensors.empty());
}

TEST(Safetensors, ZeroByteTensorsMayShareAnOffset) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("c":{"dtype":"I64","shape":[3,0],"data_offsets":[4,4]}})";
  const SafetensorsFile file = decode_safetensors(raw_file(header, f32_bytes({9})), kPath);
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.tensors[0].name, "b");
  EXPECT_EQ(file.tensors[1].name, "a");
  EXPECT_EQ(file.tensors[2].name, "c");
  EXPECT_EQ(file.tensors[2].shape, (std::vector<int64_t>{3, 0}));
}

TEST(Safetensors, RejectsMalformedFiles) {
  const std::vector<uint8_t> w24 = f32_bytes({1, 2, 3, 4, 5, 6});
  const std::string w_ok = R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})";
  ASSERT_NO_THROW(decode_safetensors(raw_file(one_tensor(w_ok), w24), kPath));

  expect_error({}, "empty file");
  expect_error({1, 0, 0, 0, 0, 0, 0}, "truncated: 7 bytes");
  expect_error(claimed_header(4096, 100), "truncated: header says 4096 bytes but the file has 100");
  expect_error(claimed_header(~uint64_t(0), 16), "truncated: header says 18446744073709551615 bytes");
  expect_error(raw_file("not json", {}), "not a safetensors file (header is not JSON");
  expect_error(raw_file("", {}), "header is not JSON");
  expect_error(raw_file(R"({"w":1} trailing)", {}), "header is not JSON");
  expect_error(raw_file(R"({"w":1e400})", {}), "header is not JSON: a number is out of range");
  expect_error(raw_file("[1,2]", {}), "not a safetensors file (header is a JSON array, not an object)");
  expect_error(raw_file("\"text\"", {}), "header is a JSON string");

  expect_error(raw_file(one_tensor("5"), {}), "tensor 'w' is not an object");
  expect_error(raw_file(one_tensor(R"({"dtype":"Q7","shape":[2,3],"data_offsets":[0,24]})"), w24),
               "tensor 'w' has unsupported dtype 'Q7'");
  expect_error(raw_file(one_tensor(R"({"dtype":4,"shape":[2,3],"data_offsets":[0,24]})"), w24),
               "tensor 'w' has no string \"dtype\"");
  expect_error(raw_file(one_tensor(R"({"shape":[2,3],"data_offsets":[0,24]})"), w24), "no string \"dtype\"");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[-2,-3],"data_offsets":[0,24]})"), w24),
               "tensor 'w' has shape entry 0 that is not a non-negative integer");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,"3"],"data_offsets":[0,24]})"), w24),
               "shape entry 1 that is not a non-negative integer");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2.0,3],"data_offsets":[0,24]})"), w24),
               "shape entry 0 that is not a non-negative integer");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,0]})"), {}),
               "shape entry 0 too large");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":6,"data_offsets":[0,24]})"), w24),
               "tensor 'w' has no array \"shape\"");
  // Products that wrap around to a small number (2^64 elements, 2^62 * 4 bytes) must not pass.
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]})"), {}),
               "tensor 'w' has shape [4294967296,4294967296] F32 too large");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]})"), {}),
               "too large");

  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,48]})"), w24),
               "truncated: tensor 'w' has data_offsets [0, 48] past the end of the 24-byte data section");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0.0,24.0]})"), w24),
               "tensor 'w' needs \"data_offsets\" as two non-negative integers");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,24,48]})"), w24),
               "needs \"data_offsets\"");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[-1,23]})"), w24),
               "needs \"data_offsets\"");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":"0,24"})"), w24),
               "needs \"data_offsets\"");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3]})"), w24), "needs \"data_offsets\"");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[24,0]})"), w24),
               "data_offsets [24, 0] that end before they begin");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,12]})"), f32_bytes({1, 2, 3})),
               "tensor 'w' has 12 bytes for shape [2,3] F32 (expected 24)");

  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                        w24),
               "tensor 'b' overlaps tensor 'a' at data byte 8");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}})",
                        w24),
               "data bytes [8, 12) belong to no tensor");
  expect_error(raw_file(one_tensor(w_ok), f32_bytes({1, 2, 3, 4, 5, 6, 7})), "data bytes [24, 28) belong to no tensor");
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}})", w24),
               "data bytes [0, 12) belong to no tensor");
  // JSON objects keep the last duplicate, so the first one's bytes become a hole.
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                        R"("w":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}})",
                        w24),
               "data bytes [0, 12) belong to no tensor");

  expect_error(raw_file(R"({"__metadata__":{"genlab":5}})", {}), "__metadata__ entry 'genlab' is not a string");
  expect_error(raw_file(R"({"__metadata__":{"other":null,"genlab":"{}"}})", {}), "entry 'other' is not a string");
  expect_error(raw_file(R"({"__metadata__":"{}"})", {}), "__metadata__ is not an object of strings");
  // Names from the file are escaped so the message stays on one line.
  expect_error(raw_file(R"({"a\nb":{"dtype":"X","shape":[],"data_offsets":[0,0]}})", {}),
               "tensor 'a\\x0ab' has unsupported dtype 'X'");
}

TEST(Safetensors, RejectsHeaderLengthOverTheLimit) {
  expect_error(claimed_header(100'000'001, 8 + 100'000'001), "header of 100000001 bytes is over the 100000000-byte limit");
}

TEST(Safetensors, DeeplyNestedHeaderIsAnErrorNotACrash) {
  const int depth = 200000;
  expect_error(raw_file(std::string(depth, '[') + std::string(depth, ']'), {}), "header is a JSON array");
  expect_error(raw_file(one_tensor(R"({"dtype":"F32","shape":)" + std::string(depth, '[') + std::string(depth, ']') +
                                   R"(,"data_offsets":[0,0]})"),
                        {}),
               "shape entry 0 that is not a non-negative integer");
  expect_error(raw_file(std::string(depth, '['), {}), "header is not JSON");
}

TEST(Safetensors, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = encode_safetensors(sample_file());
  for (size_t size = 0; size < bytes.size(); ++size) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + std::ptrdiff_t(size));
    EXPECT_THROW(decode_safetensors(cut, kPath), CheckpointError) << "cut to " << size << " bytes";
  }
}

// Flipping any one bit of the length or the header must either still decode or throw
// CheckpointError with a one-line message: never crash or throw anything else.
TEST(Safetensors, BitFlipsInTheHeaderNeverCrash) {
  const std::vector<uint8_t> bytes = encode_safetensors(sample_file());
  const size_t header_end = 8 + (size_t(bytes[0]) | size_t(bytes[1]) << 8);
  int errors = 0;
  for (size_t at = 0; at < header_end; ++at)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> flipped = bytes;
      flipped[at] ^= uint8_t(1 << bit);
      try {
        decode_safetensors(flipped, kPath);
      } catch (const CheckpointError& e) {
        ++errors;
        const std::string message = e.what();
        ASSERT_EQ(message.rfind(std::string(kPath) + ": ", 0), 0u) << message;
        ASSERT_EQ(message.find('\n'), std::string::npos) << message;
      }
    }
  EXPECT_GT(errors, 0);
  std::vector<uint8_t> no_brace = bytes;
  no_brace[8] ^= 0x01;  // '{' -> 'z'
  expect_error(no_brace, "header is not JSON");
}

TEST(Safetensors, EncodeRejectsInconsistentTensors) {
  SafetensorsFile short_bytes;
  short_bytes.tensors.push_back(tensor("w", DType::F32, {2, 3}, f32_bytes({1, 2})));
  EXPECT_THROW(encode_safetensors(short_bytes), std::invalid_argument);

  SafetensorsFile negative;
  negative.tensors.push_back(tensor("w", DType::F32, {-1}, {}));
  EXPECT_THROW(encode_safetensors(negative), std::invalid_argument);

  SafetensorsFile twice;
  twice.tensors.push_back(tensor("w", DType::F32, {}, f32_bytes({1})));
  twice.tensors.push_back(tensor("w", DType::F32, {}, f32_bytes({2})));
  EXPECT_THROW(encode_safetensors(twice), std::invalid_argument);

  SafetensorsFile reserved;
  reserved.tensors.push_back(tensor("__metadata__", DType::F32, {}, f32_bytes({1})));
  EXPECT_THROW(encode_safetensors(reserved), std::invalid_argument);

  SafetensorsFile bad_utf8;
  bad_utf8.metadata_json = "\xff";
  EXPECT_THROW(encode_safetensors(bad_utf8), std::invalid_argument);
}

TEST_F(SafetensorsFiles, WriteThenReadThroughTheFileSystem) {
  const std::string file_path = path("model.safetensors");
  const SafetensorsFile original = sample_file();
  write_safetensors(file_path, original);

  std::ifstream in(file_path, std::ios::binary);
  const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, encode_safetensors(original));

  const SafetensorsFile read = read_safetensors(file_path);
  EXPECT_EQ(read.metadata_json, original.metadata_json);
  EXPECT_EQ(encode_safetensors(read), on_disk);
}

TEST_F(SafetensorsFiles, AtomicWriteOverwritesAndLeavesNoTmp) {
  const std::string file_path = path("state.bin");
  write_file_atomically(file_path, {1, 2, 3, 4, 5});
  write_file_atomically(file_path, {9, 8});
  std::ifstream in(file_path, std::ios::binary);
  const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, (std::vector<uint8_t>{9, 8}));
  EXPECT_FALSE(fs::exists(file_path + ".tmp"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  write_file_atomically(file_path, {});
  EXPECT_EQ(fs::file_size(file_path), 0u);
}

TEST_F(SafetensorsFiles, WriteFailuresNameThePathAndLeaveNoTmp) {
  const std::string in_missing_dir = path("missing/model.safetensors");
  try {
    write_safetensors(in_missing_dir, sample_file());
    FAIL() << "wrote into a missing directory";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(in_missing_dir + ": ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }

  // Renaming a file over a non-empty directory fails after the tmp file was written.
  const std::string over_dir = path("taken");
  fs::create_directories(over_dir + "/inside");
  try {
    write_file_atomically(over_dir, {1, 2, 3});
    FAIL() << "renamed over a directory";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(over_dir + ": cannot rename", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(over_dir + ".tmp"));

  SafetensorsFile inconsistent;
  inconsistent.tensors.push_back(tensor("w", DType::F32, {2}, {}));
  const std::string model = path("bad.safetensors");
  try {
    write_safetensors(model, inconsistent);
    FAIL() << "wrote an inconsistent tensor";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(model + ": cannot write: tensor 'w' has 0 bytes", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(model));
  EXPECT_FALSE(fs::exists(model + ".tmp"));
}

TEST_F(SafetensorsFiles, ReadErrorsNameThePath) {
  const std::string missing = path("nope.safetensors");
  try {
    read_safetensors(missing);
    FAIL() << "read a missing file";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": no such file");
  }
  try {
    read_safetensors(dir_.string());
    FAIL() << "read a directory";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": is a folder, not a checkpoint file");
  }
  // Files without an end (a hostile --ckpt or PNG text could name them): refused, not read forever.
  const std::string fifo = path("pipe.safetensors");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& endless : {std::string("/dev/zero"), fifo}) {
    try {
      read_safetensors(endless);
      FAIL() << "read " << endless;
    } catch (const CheckpointError& e) {
      EXPECT_EQ(std::string(e.what()), endless + ": not a regular file");
    }
  }
  const std::string garbage = path("garbage.safetensors");
  write_text(garbage, "hello");
  try {
    read_safetensors(garbage);
    FAIL() << "read garbage";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(garbage + ": truncated: 5 bytes", 0), 0u) << e.what();
  }
}

// Parses the file by hand with struct and json (no third-party modules) and prints what it holds
// as JSON, so the C++ side checks an independent reader.
const char* const kPythonReader = R"(
import json, struct, sys
data = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack_from('<Q', data, 0)
assert n % 8 == 0, 'header not padded to 8'
header = json.loads(data[8:8 + n].decode('utf-8'))
body = data[8 + n:]
codes = {'F32': ('f', 4), 'F16': ('e', 2), 'I64': ('q', 8)}
out = {'__metadata__': header.pop('__metadata__', {})}
for name, info in header.items():
    code, size = codes[info['dtype']]
    begin, end = info['data_offsets']
    count = 1
    for dim in info['shape']:
        count *= dim
    assert end - begin == count * size, name
    values = list(struct.unpack_from('<%d%s' % (count, code), body, begin))
    out[name] = {'dtype': info['dtype'], 'shape': info['shape'], 'values': values}
print(json.dumps(out))
)";

// Writes a file the way the reference writer lays it out: data order differs from key order.
const char* const kPythonWriter = R"(
import json, struct, sys
tensors = [('z.bias', 'F16', [3], struct.pack('<3e', 0.5, -1.0, 2048.0)),
           ('a.weight', 'F32', [2, 2], struct.pack('<4f', 1.5, -2.25, 1e-3, 3e38)),
           ('count', 'I64', [], struct.pack('<q', -123456789012))]
header = {'__metadata__': {'format': 'pt', 'genlab': json.dumps({'kind': 'vae', 'step': 3})}}
offset = 0
for name, dtype, shape, raw in tensors:
    header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(raw)]}
    offset += len(raw)
header = dict(sorted(header.items()))
text = json.dumps(header).encode('utf-8')
text += b' ' * (-len(text) % 8)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<Q', len(text)) + text + b''.join(t[3] for t in tensors))
)";

TEST_F(SafetensorsFiles, PythonReadsWhatCppWrites) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " not available";
  const std::string script = path("reader.py"), model = path("from_cpp.safetensors");
  write_text(script, kPythonReader);
  write_safetensors(model, sample_file());

  const auto seen = nlohmann::json::parse(run_python(script, model));
  EXPECT_EQ(seen["__metadata__"]["genlab"], sample_file().metadata_json);
  EXPECT_EQ(seen["enc.w"]["dtype"], "F32");
  EXPECT_EQ(seen["enc.w"]["shape"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(seen["enc.w"]["values"].get<std::vector<float>>(), (std::vector<float>{1, -2, 3.5f, 0, 1e-8f, -1e30f}));
  EXPECT_EQ(seen["enc.b"]["dtype"], "F16");
  EXPECT_EQ(seen["enc.b"]["values"].get<std::vector<float>>(), (std::vector<float>{1, -0.5f, 65504}));
  EXPECT_EQ(seen["step"]["shape"], nlohmann::json::array());
  EXPECT_EQ(seen["step"]["values"], nlohmann::json::array({-7}));
  EXPECT_EQ(seen["labels"]["values"], nlohmann::json::array({3, int64_t(1) << 40}));
  EXPECT_EQ(seen["empty"]["shape"], nlohmann::json::array({0, 4}));
  EXPECT_EQ(seen["empty"]["values"], nlohmann::json::array());
  EXPECT_EQ(seen["scale"]["values"].get<std::vector<float>>(), std::vector<float>{0.25f});
}

TEST_F(SafetensorsFiles, CppReadsWhatPythonWrites) {
  if (access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " not available";
  const std::string script = path("writer.py"), model = path("from_python.safetensors");
  write_text(script, kPythonWriter);
  run_python(script, model);

  const SafetensorsFile file = read_safetensors(model);
  EXPECT_EQ(nlohmann::json::parse(file.metadata_json), (nlohmann::json{{"kind", "vae"}, {"step", 3}}));
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.tensors[0].name, "z.bias");
  EXPECT_EQ(file.tensors[0].dtype, DType::F16);
  EXPECT_EQ(file.tensors[0].bytes, f16_bytes({0.5f, -1, 2048}));
  EXPECT_EQ(file.tensors[1].name, "a.weight");
  EXPECT_EQ(file.tensors[1].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(f32_values(file.tensors[1].bytes), (std::vector<float>{1.5f, -2.25f, 1e-3f, 3e38f}));
  EXPECT_EQ(file.tensors[2].name, "count");
  EXPECT_TRUE(file.tensors[2].shape.empty());
  EXPECT_EQ(file.tensors[2].bytes, i64_bytes({-123456789012}));
}

TEST(Half, APackedFileKeepsItsMetadataAndIntegersAndHalvesItsFloats) {
  SafetensorsFile file;
  file.metadata_json = R"({"genlab":"{}"})";
  NamedTensor w{"w", DType::F32, {3}, std::vector<uint8_t>(12)};
  const float values[] = {1.0f, -0.333333f, 65504.0f};
  std::memcpy(w.bytes.data(), values, sizeof values);
  NamedTensor steps{"steps", DType::I64, {1}, std::vector<uint8_t>(8, 7)};
  file.tensors.push_back(w);
  file.tensors.push_back(steps);
  SafetensorsFile packed = with_half_precision(file);
  EXPECT_EQ(packed.metadata_json, file.metadata_json);
  ASSERT_EQ(packed.tensors.size(), 2u);
  EXPECT_EQ(packed.tensors[0].dtype, DType::F16);
  ASSERT_EQ(packed.tensors[0].bytes.size(), 6u);
  uint16_t h[3];
  std::memcpy(h, packed.tensors[0].bytes.data(), 6);
  EXPECT_EQ(half_to_float(h[0]), 1.0f);
  EXPECT_NEAR(half_to_float(h[1]), -0.333333f, 2e-4);
  EXPECT_EQ(half_to_float(h[2]), 65504.0f);
  EXPECT_EQ(packed.tensors[1].dtype, DType::I64);  // integers are left alone
  EXPECT_EQ(packed.tensors[1].bytes, steps.bytes);
}

namespace {

// A checkpoint of `megabytes` MB whose every float is `value`.
SafetensorsFile filled(float value, int megabytes) {
  SafetensorsFile file;
  file.metadata_json = R"({"genlab":"{}"})";
  NamedTensor t{"w", DType::F32, {int64_t(megabytes) << 18}, {}};
  t.bytes.resize(size_t(megabytes) << 20);
  for (size_t i = 0; i < t.bytes.size(); i += 4) std::memcpy(t.bytes.data() + i, &value, 4);
  file.tensors.push_back(std::move(t));
  return file;
}

float first_float(const SafetensorsFile& file) {
  float v;
  std::memcpy(&v, file.tensors.at(0).bytes.data(), 4);
  return v;
}

}  // namespace

TEST(SafetensorsFile, KillingTheWriterMidSaveLeavesTheLastCheckpointLoadable) {
  const std::string path = ::testing::TempDir() + "genlab_kill_" + std::to_string(getpid()) + ".safetensors";
  write_safetensors(path, filled(1.f, 64));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // save new versions over it until killed
    for (float v = 2.f;; v += 1.f) write_safetensors(path, filled(v, 64));
  }
  usleep(300 * 1000);  // long enough to be inside a save: each writes and syncs 64 MB
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  // Whatever the kill interrupted, the path holds a whole checkpoint (the first or a later one),
  // and the one before it is kept beside it.
  const SafetensorsFile last = read_safetensors(path);
  EXPECT_GE(first_float(last), 1.f);
  EXPECT_EQ(last.tensors.at(0).bytes.size(), size_t(64) << 20);
  if (std::filesystem::exists(path + ".prev"))
    EXPECT_LT(first_float(read_safetensors(path + ".prev")), first_float(last));
  for (const char* suffix : {"", ".prev", ".tmp"}) std::remove((path + suffix).c_str());
}

TEST(SafetensorsFile, ASaveKeepsThePreviousCheckpoint) {
  const std::string path = ::testing::TempDir() + "genlab_prev_" + std::to_string(getpid()) + ".safetensors";
  write_safetensors(path, filled(1.f, 1));
  EXPECT_FALSE(std::filesystem::exists(path + ".prev"));  // nothing was replaced yet
  write_safetensors(path, filled(2.f, 1));
  EXPECT_EQ(first_float(read_safetensors(path)), 2.f);
  EXPECT_EQ(first_float(read_safetensors(path + ".prev")), 1.f);
  for (const char* suffix : {"", ".prev"}) std::remove((path + suffix).c_str());
}

TEST(Safetensors, DeeplyNestedGenlabMetadataIsAnErrorNotACrash) {
  // Found by reading the checkpoint-info path after fuzzing: dumping a 100 000-deep config recursed
  // until the stack ran out.
  const std::string path = ::testing::TempDir() + "genlab_deep_meta_" + std::to_string(getpid()) + ".safetensors";
  SafetensorsFile file;
  const int depth = 100000;
  file.metadata_json = R"({"model":"vae","config":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  write_safetensors(path, file);
  try {
    read_checkpoint_info(path);
    FAIL() << "no error";
  } catch (const CheckpointError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": genlab metadata nested deeper than 64 levels");
  }
  std::filesystem::remove(path);
}
