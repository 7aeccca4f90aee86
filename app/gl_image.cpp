#include "app/gl_image.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace genlab::app {

namespace {

int g_live_textures = 0;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": shader file not found (pass --shaders DIR)");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

GLuint compile(GLenum kind, const std::string& path) {
  std::string source = read_text(path);
  const char* text = source.c_str();
  GLuint shader = glCreateShader(kind);
  glShaderSource(shader, 1, &text, nullptr);
  glCompileShader(shader);
  GLint ok = 0;
  glGetShaderiv(shader, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[1024] = {};
    glGetShaderInfoLog(shader, sizeof log, nullptr, log);
    glDeleteShader(shader);
    std::string first_line(log);
    first_line = first_line.substr(0, first_line.find('\n'));
    throw std::runtime_error(path + ": shader does not compile: " + first_line);
  }
  return shader;
}

}  // namespace

GlTexture::~GlTexture() {
  if (id_) {
    glDeleteTextures(1, &id_);
    --g_live_textures;
  }
}

GlTexture::GlTexture(GlTexture&& other) noexcept { *this = std::move(other); }

GlTexture& GlTexture::operator=(GlTexture&& other) noexcept {
  if (this != &other) {
    this->~GlTexture();
    id_ = other.id_;
    width_ = other.width_;
    height_ = other.height_;
    internal_format_ = other.internal_format_;
    other.id_ = 0;
  }
  return *this;
}

void GlTexture::allocate(int width, int height, GLint internal_format, GLenum format, GLenum type) {
  if (!id_) {
    glGenTextures(1, &id_);
    ++g_live_textures;
    glBindTexture(GL_TEXTURE_2D, id_);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  }
  if (width == width_ && height == height_ && internal_format == internal_format_) return;
  glBindTexture(GL_TEXTURE_2D, id_);
  glTexImage2D(GL_TEXTURE_2D, 0, internal_format, width, height, 0, format, type, nullptr);
  width_ = width;
  height_ = height;
  internal_format_ = internal_format;
}

int GlTexture::live_count() { return g_live_textures; }

ImageRenderer::ImageRenderer(const std::string& shader_dir) {
  GLuint vert = compile(GL_VERTEX_SHADER, shader_dir + "/image.vert");
  GLuint frag = 0;
  try {
    frag = compile(GL_FRAGMENT_SHADER, shader_dir + "/colormap.frag");
  } catch (...) {
    glDeleteShader(vert);
    throw;
  }
  program_ = glCreateProgram();
  glAttachShader(program_, vert);
  glAttachShader(program_, frag);
  glLinkProgram(program_);
  glDeleteShader(vert);
  glDeleteShader(frag);
  GLint ok = 0;
  glGetProgramiv(program_, GL_LINK_STATUS, &ok);
  if (!ok) {
    glDeleteProgram(program_);
    throw std::runtime_error(shader_dir + "/colormap.frag: shader program does not link");
  }
  loc_style_ = glGetUniformLocation(program_, "style");
  loc_channels_ = glGetUniformLocation(program_, "channels");
  loc_lo_ = glGetUniformLocation(program_, "lo");
  loc_hi_ = glGetUniformLocation(program_, "hi");
  loc_range_ = glGetUniformLocation(program_, "range");
  glGenVertexArrays(1, &vao_);
  glGenFramebuffers(1, &fbo_);
}

ImageRenderer::~ImageRenderer() {
  glDeleteFramebuffers(1, &fbo_);
  glDeleteVertexArrays(1, &vao_);
  glDeleteProgram(program_);
}

void ImageRenderer::render(const ImageBuffer& image, ImageStyle style, float lo, float hi,
                           float range, GlTexture& source, GlTexture& target) {
  // Planar C x H x W floats: upload plane by plane into the matching texture channels.
  const bool rgb = image.channels >= 3;
  source.allocate(image.width, image.height, rgb ? GL_RGB32F : GL_R32F, rgb ? GL_RGB : GL_RED, GL_FLOAT);
  glBindTexture(GL_TEXTURE_2D, source.id());
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  if (rgb) {
    const size_t plane = size_t(image.width) * image.height;
    std::vector<float> interleaved(plane * 3);
    for (size_t p = 0; p < plane; ++p)
      for (int c = 0; c < 3; ++c) interleaved[p * 3 + c] = image.pixels[c * plane + p];
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, image.width, image.height, GL_RGB, GL_FLOAT, interleaved.data());
  } else {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, image.width, image.height, GL_RED, GL_FLOAT, image.pixels.data());
  }
  target.allocate(image.width, image.height, GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE);

  // Save the state ImGui's backend relies on, draw offscreen, restore.
  GLint last_fbo = 0, last_program = 0, last_vao = 0, last_viewport[4];
  glGetIntegerv(GL_FRAMEBUFFER_BINDING, &last_fbo);
  glGetIntegerv(GL_CURRENT_PROGRAM, &last_program);
  glGetIntegerv(GL_VERTEX_ARRAY_BINDING, &last_vao);
  glGetIntegerv(GL_VIEWPORT, last_viewport);
  GLboolean blend = glIsEnabled(GL_BLEND), scissor = glIsEnabled(GL_SCISSOR_TEST);
  glDisable(GL_BLEND);
  glDisable(GL_SCISSOR_TEST);

  glBindFramebuffer(GL_FRAMEBUFFER, fbo_);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, target.id(), 0);
  glViewport(0, 0, image.width, image.height);
  glUseProgram(program_);
  glUniform1i(loc_style_, style == ImageStyle::Signed ? 1 : 0);
  glUniform1i(loc_channels_, rgb ? 3 : 1);
  glUniform1f(loc_lo_, lo);
  glUniform1f(loc_hi_, hi);
  glUniform1f(loc_range_, range);
  glActiveTexture(GL_TEXTURE0);
  glBindTexture(GL_TEXTURE_2D, source.id());
  glBindVertexArray(vao_);
  glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);

  glBindFramebuffer(GL_FRAMEBUFFER, GLuint(last_fbo));
  glUseProgram(GLuint(last_program));
  glBindVertexArray(GLuint(last_vao));
  glViewport(last_viewport[0], last_viewport[1], last_viewport[2], last_viewport[3]);
  if (blend) glEnable(GL_BLEND);
  if (scissor) glEnable(GL_SCISSOR_TEST);
}

void DisplayImage::update(ImageRenderer& renderer, uint64_t stamp, const ImageBuffer& image,
                          ImageStyle style, float range) {
  if (style != style_ || range != range_) tracker_.reset();
  if (!tracker_.needs_upload(stamp) || image.empty()) return;
  style_ = style;
  range_ = range;
  renderer.render(image, style, 0.f, 1.f, range, source_, target_);
  tracker_.mark_uploaded(stamp);
}

}  // namespace genlab::app
