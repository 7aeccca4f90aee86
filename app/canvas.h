// Toolkit: a canvas to draw on with the mouse (the Translate tab's input, the Diffusion tab's
// sketch and inpainting mask). An image, C x H x W in [0, 1], and over it an optional mask,
// 1 x H x W in [0, 1], painted in mask mode; each stroke, new image and clear can be undone.
// UI thread only.
#pragma once

#include <cstdint>
#include <deque>

#include "app/gl_image.h"

namespace genlab::app {

class Canvas {
 public:
  float brush = 1.f;  // radius, image pixels
  float ink = 1.f;    // the grey level the left button paints on the image

  // An undoable step, except that a new size drops the history (its states would no longer fit).
  // The mask keeps its pixels while the size holds (one mask over successive images), else is blank.
  void set_image(ImageBuffer image);
  const ImageBuffer& image() const { return image_; }
  const ImageBuffer& mask() const { return mask_; }
  // A new stamp with each change (stroke, set_image, clear, undo), for textures and redraws.
  uint64_t stamp() const { return stamp_; }
  // The stamp of the set_image or clear the image descends from: strokes keep it, undo may bring an
  // older one back. What a caller keeps beside the image it set (a ground truth) holds while it does.
  uint64_t origin() const { return origin_; }

  // Mask mode: strokes paint the mask (left 1, right 0) instead of the image.
  void set_mask_mode(bool on) { mask_mode_ = on; }
  bool has_mask() const;  // any mask pixel over 0.5
  void clear_mask();      // undoable
  void set_mask(ImageBuffer mask);  // 1 x H x W of the image's size, undoable (a scripted or boxed hole)

  // The image at `side` x `side` screen pixels, the mask over it in red. The left button paints
  // towards `ink` (1 on the mask), the right one towards 0; Ctrl+Z over it undoes. True when the
  // image or the mask changed this frame.
  bool draw(ImageRenderer& renderer, float side, const char* id);
  // One row: the brush and ink sliders, Undo and Clear.
  void controls();

  // Paints the segment from (x0, y0) to (x1, y1), image pixels, towards `value` on the image (the
  // mask in mask mode): a scripted stroke, its own undo step. True when a pixel changed.
  bool paint(float x0, float y0, float x1, float y1, float value);
  void clear();  // the image and the mask to 0, undoable
  void undo();
  bool can_undo() const { return !undo_.empty(); }

 private:
  struct State {
    ImageBuffer image, mask;
    uint64_t origin = 0;
  };
  State state() const { return {image_, mask_, origin_}; }
  void push_undo(State before);
  // paint(), saving the state before it as an undo step only when `new_step`.
  bool stroke(float x0, float y0, float x1, float y1, float value, bool new_step);

  ImageBuffer image_, mask_;
  uint64_t stamp_ = 0, origin_ = 0;
  bool mask_mode_ = false;
  std::deque<State> undo_;         // the newest last
  bool stroke_saved_ = false;      // the mouse stroke under way has pushed the state before it
  float last_x_ = 0, last_y_ = 0;  // the stroke's previous mouse position, image pixels
  DisplayImage display_;
};

}  // namespace genlab::app
