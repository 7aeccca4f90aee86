// GL toolkit: a texture that owns its GL name, the shader pass that turns float images into display
// colours, and a display slot that re-uploads only when its snapshot stamp changes.
// UI thread only.
#pragma once

#include <glad/gl.h>

#include <memory>
#include <string>

#include "core/compute/latest.h"
#include "core/data/image.h"

namespace genlab::app {

class GlTexture {
 public:
  GlTexture() = default;
  ~GlTexture();
  GlTexture(GlTexture&& other) noexcept;
  GlTexture& operator=(GlTexture&& other) noexcept;
  GlTexture(const GlTexture&) = delete;
  GlTexture& operator=(const GlTexture&) = delete;

  // (Re)allocates storage when the size or format changes; nearest filtering for crisp zoom.
  void allocate(int width, int height, GLint internal_format, GLenum format, GLenum type);
  GLuint id() const { return id_; }
  int width() const { return width_; }
  int height() const { return height_; }
  static int live_count();  // textures alive now, for leak checks

 private:
  GLuint id_ = 0;
  int width_ = 0, height_ = 0;
  GLint internal_format_ = 0;
};

enum class ImageStyle { Natural, Signed };

// Loads shaders/image.vert + shaders/colormap.frag at run time.
class ImageRenderer {
 public:
  // Throws std::runtime_error with a one-line message naming the missing or broken file.
  explicit ImageRenderer(const std::string& shader_dir);
  ~ImageRenderer();
  ImageRenderer(const ImageRenderer&) = delete;
  ImageRenderer& operator=(const ImageRenderer&) = delete;

  // Uploads `image` into `source` and draws it through the colormap into `target` (RGBA8).
  // Signed images map [-range, range]; natural ones [lo, hi].
  void render(const ImageBuffer& image, ImageStyle style, float lo, float hi, float range,
              GlTexture& source, GlTexture& target);

 private:
  GLuint program_ = 0, vao_ = 0, fbo_ = 0;
  GLint loc_style_ = -1, loc_channels_ = -1, loc_lo_ = -1, loc_hi_ = -1, loc_range_ = -1;
};

// One on-screen image: uploads when the stamp or the style changes, never otherwise.
class DisplayImage {
 public:
  void update(ImageRenderer& renderer, uint64_t stamp, const ImageBuffer& image,
              ImageStyle style = ImageStyle::Natural, float range = 1.f);
  bool ready() const { return target_.id() != 0; }
  void* texture_id() const { return reinterpret_cast<void*>(intptr_t(target_.id())); }
  int width() const { return target_.width(); }
  int height() const { return target_.height(); }
  uint64_t uploads() const { return tracker_.uploads(); }

 private:
  UploadTracker tracker_;
  ImageStyle style_ = ImageStyle::Natural;
  float range_ = 1.f;
  GlTexture source_, target_;
};

}  // namespace genlab::app
