#include "core/diffusion/edit_settings.h"

#include <cstdio>
#include <stdexcept>

namespace genlab {

namespace {

std::string text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace

const char* edit_mode_name(EditMode mode) {
  switch (mode) {
    case EditMode::SDEdit: return "sdedit";
    case EditMode::Denoise: return "denoise";
    case EditMode::Inpaint: return "inpaint";
    case EditMode::SuperRes: return "superres";
  }
  return "sdedit";
}

EditMode parse_edit_mode(const std::string& name) {
  for (EditMode m : {EditMode::SDEdit, EditMode::Denoise, EditMode::Inpaint, EditMode::SuperRes})
    if (name == edit_mode_name(m)) return m;
  throw std::invalid_argument("edit '" + name + "' is not sdedit, denoise, inpaint or superres");
}

void check_edit_settings(const EditSettings& s, int size, const std::string& prefix) {
  // Written so that NaN fails too.
  if (!(s.strength >= 0 && s.strength <= 1))
    throw std::invalid_argument(prefix + "strength " + text(s.strength) + " is not in 0..1");
  if (s.mode == EditMode::Denoise && !(s.sigma > 0 && s.sigma <= 10))
    throw std::invalid_argument(prefix + "denoise " + text(s.sigma) + " is not a noise level in (0, 10]");
  if (s.resample < 1 || s.resample > 20)
    throw std::invalid_argument(prefix + "resample " + std::to_string(s.resample) + " is not in 1..20");
  if (s.mode == EditMode::SuperRes && (s.factor < 2 || size % s.factor != 0))
    throw std::invalid_argument(prefix + "superres " + std::to_string(s.factor) + " does not divide the image size " +
                                std::to_string(size) + " (2 or more)");
}

}  // namespace genlab
