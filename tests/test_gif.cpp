// Animated GIF export: read back with giflib's decoder, frame count, size, loop block, delays and
// gray levels survive; bad frame lists are refused with the path in the message.
#include <gif_lib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "core/data/dataset.h"
#include "core/io/gif.h"

using namespace genlab;

namespace {

ImageBuffer gray(int h, int w, float base) {
  ImageBuffer image{1, h, w, {}};
  for (int i = 0; i < h * w; ++i) image.pixels.push_back(std::fmod(base + float(i) / float(h * w), 1.f));
  return image;
}

}  // namespace

TEST(Gif, FramesReadBackWithTheirSizeDelaysAndGrayLevels) {
  const std::string path = ::testing::TempDir() + "genlab_" + std::to_string(getpid()) + ".gif";
  std::vector<ImageBuffer> frames{gray(7, 11, 0.f), gray(7, 11, 0.3f), gray(7, 11, 0.6f)};
  write_gif(path, frames, 5, 120);
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  ASSERT_NE(gif, nullptr);
  ASSERT_EQ(DGifSlurp(gif), GIF_OK);
  EXPECT_EQ(gif->SWidth, 11);
  EXPECT_EQ(gif->SHeight, 7);
  ASSERT_EQ(gif->ImageCount, 3);
  bool loops = false;  // giflib files the blocks before an image with that image
  const SavedImage& first = gif->SavedImages[0];
  for (int e = 0; e < first.ExtensionBlockCount; ++e)
    loops |= first.ExtensionBlocks[e].ByteCount == 11 &&
             std::string(reinterpret_cast<char*>(first.ExtensionBlocks[e].Bytes), 11) == "NETSCAPE2.0";
  EXPECT_TRUE(loops);
  for (int k = 0; k < 3; ++k) {
    GraphicsControlBlock control;
    ASSERT_EQ(DGifSavedExtensionToGCB(gif, k, &control), GIF_OK);
    EXPECT_EQ(control.DelayTime, k == 2 ? 120 : 5);
    const SavedImage& image = gif->SavedImages[k];
    const ColorMapObject* map = image.ImageDesc.ColorMap ? image.ImageDesc.ColorMap : gif->SColorMap;
    for (int i = 0; i < 7 * 11; i += 5) {
      const GifColorType c = map->Colors[image.RasterBits[i]];
      EXPECT_EQ(c.Red, c.Blue);
      EXPECT_NEAR(c.Red / 255.0, frames[size_t(k)].pixels[size_t(i)], 0.5 / 255 + 1e-6);
    }
  }
  DGifCloseFile(gif, &error);
  std::remove(path.c_str());
}

TEST(Gif, RefusesNoFramesAndMixedSizes) {
  try {
    write_gif("/tmp/nothing.gif", {});
    FAIL() << "an empty GIF was written";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp/nothing.gif"), std::string::npos);
  }
  EXPECT_THROW(write_gif("/tmp/mixed.gif", {gray(4, 4, 0), gray(4, 5, 0)}), DataError);
  EXPECT_THROW(write_gif("/nonexistent-dir/run.gif", {gray(4, 4, 0)}), std::exception);
}
