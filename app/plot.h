// Toolkit: small line and bar plots drawn with ImGui's draw list (no plotting library in Debian's
// ImGui), with a hover read-out.
#pragma once

#include <imgui.h>

#include <string>
#include <vector>

namespace genlab::app {

struct PlotSeries {
  std::string name;
  ImU32 color;
  std::vector<float> x, y;
  bool markers = false;  // draw points (sparse series such as per-epoch test loss)
};

void line_plot(const char* id, const std::vector<PlotSeries>& series, ImVec2 size, const char* x_label = "step");

// One bar per value, labelled below when the labels fit.
void bar_plot(const char* id, const std::vector<float>& values, const std::vector<std::string>& labels, ImVec2 size,
              ImU32 color);

// Distinct colours for class labels (10 from a qualitative palette, then repeats).
ImU32 class_color(int label, int alpha = 255);

}  // namespace genlab::app
