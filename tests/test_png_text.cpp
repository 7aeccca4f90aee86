// Parameters carried in a PNG's text chunk, and bad PNGs.
#include <gtest/gtest.h>
#include <stb_image.h>

#include <fstream>
#include <unistd.h>

#include "core/io/png_text.h"

using namespace genlab;

namespace {

std::string temp(const std::string& name) { return ::testing::TempDir() + "genlab_png_" + std::to_string(getpid()) + name; }

ImageBuffer gradient() {
  ImageBuffer img{1, 4, 6, {}};
  for (int i = 0; i < 24; ++i) img.pixels.push_back(float(i) / 23.f);
  return img;
}

}  // namespace

TEST(PngText, ParametersRoundTripAndTheImageStillDecodes) {
  const std::string path = temp("params.png");
  const std::string params = R"({"sampler":"ddim","steps":50,"cfg":3.0,"class":7,"seed":42})";
  write_png_with_text(path, gradient(), "genlab", params);
  auto texts = read_png_text(path);
  ASSERT_EQ(texts.count("genlab"), 1u);
  EXPECT_EQ(texts["genlab"], params);
  int w = 0, h = 0, c = 0;  // an ordinary decoder accepts it (so the chunk and its CRC are valid)
  unsigned char* pixels = stbi_load(path.c_str(), &w, &h, &c, 1);
  ASSERT_NE(pixels, nullptr) << stbi_failure_reason();
  EXPECT_EQ(w, 6);
  EXPECT_EQ(h, 4);
  EXPECT_EQ(pixels[23], 255);
  stbi_image_free(pixels);
}

TEST(PngText, BadFilesGiveOneLineErrorsNamingThePath) {
  const std::string good = temp("good.png");
  write_png_with_text(good, gradient(), "genlab", "{}");
  std::ifstream in(good, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  auto write = [](const std::string& path, const std::vector<char>& data) {
    std::ofstream(path, std::ios::binary).write(data.data(), std::streamsize(data.size()));
  };
  const std::string flipped = temp("flipped.png"), cut = temp("cut.png"), junk = temp("junk.png");
  auto bad = bytes;
  bad[45] ^= 0x20;  // inside the text chunk: its CRC no longer matches
  write(flipped, bad);
  auto huge = bytes;
  huge[33] = char(0x7f);  // the text chunk claims ~2 GB
  write(cut, huge);
  write(junk, std::vector<char>{'n', 'o', 't', ' ', 'p', 'n', 'g', '!', '!'});
  for (const std::string& path : {flipped, cut, junk, temp("missing.png")}) {
    try {
      read_png_text(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const DataError& e) {
      std::string what = e.what();
      EXPECT_EQ(what.rfind(path, 0), 0u) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos);
    }
  }
  EXPECT_THROW(write_png_with_text(temp("x.png"), gradient(), "", "v"), DataError);
}
