// One family's tab in the app. Each family's panel (app/<family>/) implements it; app/panels.cpp
// lists them beside core/families.cpp's table, so the shell draws the tabs and routes dropped
// pictures without knowing the families.
#pragma once

#include <string>

#include "app/gl_image.h"
#include "core/lab/session.h"

namespace genlab::app {

class Panel {
 public:
  virtual ~Panel() = default;
  virtual void draw(Session& session, ImageRenderer& renderer) = 0;
  // A picture dropped on the window while this tab is open: true when the panel took it (the VAE
  // encodes it, the Diffusion tab restores the sampling parameters a PNG carries).
  virtual bool take_picture(Session& session, const std::string& path) {
    (void)session, (void)path;
    return false;
  }
};

}  // namespace genlab::app
