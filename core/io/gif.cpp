#include "core/io/gif.h"

#include <gif_lib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/data/dataset.h"
#include "core/io/safetensors.h"

namespace genlab {

namespace {

int write_to_vector(GifFileType* gif, const GifByteType* bytes, int length) {
  auto* out = static_cast<std::vector<uint8_t>*>(gif->UserData);
  out->insert(out->end(), bytes, bytes + length);
  return length;
}

uint8_t level(float v, int levels) { return uint8_t(std::lround(std::clamp(v, 0.f, 1.f) * float(levels - 1))); }

// The palette index of each pixel: gray levels, or the 6x7x6 cube (green gets the most levels).
std::vector<GifByteType> indices(const ImageBuffer& frame) {
  const size_t plane = size_t(frame.height) * size_t(frame.width);
  std::vector<GifByteType> out(plane);
  for (size_t i = 0; i < plane; ++i) {
    if (frame.channels == 1) {
      out[i] = level(frame.pixels[i], 256);
    } else {
      out[i] = GifByteType(level(frame.pixels[i], 6) * 42 + level(frame.pixels[plane + i], 7) * 6 +
                           level(frame.pixels[2 * plane + i], 6));
    }
  }
  return out;
}

std::vector<GifColorType> palette(int channels) {
  std::vector<GifColorType> colors(256);
  for (int i = 0; i < 256; ++i) {
    if (channels == 1) {
      colors[size_t(i)] = {GifByteType(i), GifByteType(i), GifByteType(i)};
    } else if (i < 252) {
      colors[size_t(i)] = {GifByteType(i / 42 * 51), GifByteType(i / 6 % 7 * 255 / 6), GifByteType(i % 6 * 51)};
    } else {
      colors[size_t(i)] = {0, 0, 0};
    }
  }
  return colors;
}

}  // namespace

void write_gif(const std::string& path, const std::vector<ImageBuffer>& frames, int delay_cs, int hold_last_cs) {
  if (frames.empty()) throw DataError(path + ": a GIF needs at least one frame");
  const ImageBuffer& first = frames.front();
  for (const ImageBuffer& f : frames)
    if (f.width != first.width || f.height != first.height || f.channels != first.channels ||
        (f.channels != 1 && f.channels != 3) || f.pixels.size() != size_t(f.channels) * f.width * f.height)
      throw DataError(path + ": GIF frames must share one size and have 1 or 3 channels");
  std::vector<uint8_t> bytes;
  int error = 0;
  auto close = [](GifFileType* g) { int e = 0; EGifCloseFile(g, &e); };
  std::unique_ptr<GifFileType, decltype(close)> gif(EGifOpen(&bytes, write_to_vector, &error), close);
  if (!gif) throw DataError(path + ": cannot start a GIF (" + GifErrorString(error) + ")");
  auto colors = palette(first.channels);
  std::unique_ptr<ColorMapObject, void (*)(ColorMapObject*)> map(GifMakeMapObject(256, colors.data()), GifFreeMapObject);
  EGifSetGifVersion(gif.get(), true);
  auto fail = [&path](GifFileType* g) { throw DataError(path + ": writing the GIF failed (" + GifErrorString(g->Error) + ")"); };
  if (EGifPutScreenDesc(gif.get(), first.width, first.height, 8, 0, map.get()) == GIF_ERROR) fail(gif.get());
  // The NETSCAPE2.0 application block: loop forever.
  const GifByteType netscape[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  const GifByteType loop[] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif.get(), APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif.get(), sizeof netscape, netscape) == GIF_ERROR ||
      EGifPutExtensionBlock(gif.get(), sizeof loop, loop) == GIF_ERROR || EGifPutExtensionTrailer(gif.get()) == GIF_ERROR)
    fail(gif.get());
  for (size_t k = 0; k < frames.size(); ++k) {
    GraphicsControlBlock control{};
    control.DisposalMode = DISPOSE_DO_NOT;
    control.DelayTime = k + 1 == frames.size() ? std::max(delay_cs, hold_last_cs) : delay_cs;
    control.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType extension[4];
    const size_t length = EGifGCBToExtension(&control, extension);
    if (EGifPutExtension(gif.get(), GRAPHICS_EXT_FUNC_CODE, int(length), extension) == GIF_ERROR) fail(gif.get());
    if (EGifPutImageDesc(gif.get(), 0, 0, first.width, first.height, false, nullptr) == GIF_ERROR) fail(gif.get());
    auto pixels = indices(frames[k]);
    for (int y = 0; y < first.height; ++y)
      if (EGifPutLine(gif.get(), pixels.data() + size_t(y) * size_t(first.width), first.width) == GIF_ERROR)
        fail(gif.get());
  }
  GifFileType* raw = gif.release();
  if (EGifCloseFile(raw, &error) == GIF_ERROR) throw DataError(path + ": finishing the GIF failed (" + GifErrorString(error) + ")");
  write_file_atomically(path, bytes);
}

}  // namespace genlab
