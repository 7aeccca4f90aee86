// The bottom bar: worker state and progress with ETA, device and threads, BLAS warning, FPS, and the
// newest error until the user dismisses it.
#pragma once

#include <cstdint>

#include "core/lab/session.h"

namespace genlab::app {

class StatusBar {
 public:
  static float height();
  void draw(Session& session, float fps);

 private:
  uint64_t dismissed_error_ = 0;
};

}  // namespace genlab::app
