// What an edit does beside its sampling settings, and the checks of those values. Torch-free: the
// CLI and the PNG text parser read it.
#pragma once

#include <string>

namespace genlab {

enum class EditMode { SDEdit, Denoise, Inpaint, SuperRes };
const char* edit_mode_name(EditMode mode);  // "sdedit", "denoise", "inpaint", "superres"
EditMode parse_edit_mode(const std::string& name);  // throws std::invalid_argument

struct EditSettings {
  EditMode mode = EditMode::SDEdit;
  double strength = 0.6;  // SDEdit: start at t = strength T (0: the input back, 1: pure noise)
  double sigma = 0.3;     // Denoise: the noise level already in the image ([-1, 1] units)
  int resample = 1;       // Inpaint: RePaint's r, each step done r times (1: none)
  int factor = 4;         // SuperRes: the low-res image is H/factor x W/factor
};

// An edit's result (or a baseline) against the original, images in [0, 1].
struct EditScore {
  std::string name;  // "nearest", "bicubic", "superres", "input", "inpaint", ...
  double psnr = 0, ssim = 0;
};

// Throws std::invalid_argument naming the value ("--strength 1.5 is not in 0..1") when the settings
// do not fit images of side `size`: strength 0..1, sigma 0..10 (above 0), resample 1..20, a factor of
// 2 or more that divides the size. The CLI passes "--" as prefix.
void check_edit_settings(const EditSettings& settings, int size, const std::string& prefix = "");

}  // namespace genlab
