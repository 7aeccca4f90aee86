// Closing the window while a lab holds training that was not saved asks first. Quitting anyway
// ends the training job, whose autosave then keeps a copy (when autosave is on).
#pragma once

#include <string>

namespace genlab {
class Session;
}

namespace genlab::app {

class QuitDialog {
 public:
  explicit QuitDialog(std::string autosave_dir) : autosave_dir_(std::move(autosave_dir)) {}
  // The window asked to close: true when it may close now, false when the dialog opens instead.
  bool allow_close(const Session& session);
  // Draws the dialog while it is open; returns true when the user chose to quit.
  bool draw(const Session& session);

 private:
  std::string autosave_dir_;
  bool open_ = false, confirmed_ = false;
};

}  // namespace genlab::app
