// Toolkit: draws a DisplayImage at a zoom with nearest-neighbour sampling and reports the pixel
// under the mouse. Ctrl + mouse wheel over the image changes the zoom.
#pragma once

#include "app/gl_image.h"

namespace genlab::app {

struct ImageHover {
  bool hovered = false;
  bool clicked = false;
  int x = 0, y = 0;  // image pixel under the mouse
};

ImageHover image_view(const DisplayImage& image, float& zoom, float min_zoom = 0.5f, float max_zoom = 24.f);
// The image at a fixed zoom under a one-line label, as one group (for rows of images side by side).
void labelled_image(const char* label, DisplayImage& image, float zoom);

}  // namespace genlab::app
