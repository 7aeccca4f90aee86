// The Data tab: browse a data set as a zoomable grid with labels, per-class filters and a pixel
// read-out; a signed "minus the mean image" view through the colormap shader.
#pragma once

#include <imgui.h>

#include <vector>

#include "app/gl_image.h"
#include "core/lab/session.h"

namespace genlab::app {

class DataPanel {
 public:
  void draw(Session& session, ImageRenderer& renderer);

 private:
  void reset_for(std::shared_ptr<const Snapshot<OpenDataset>> open);
  void rebuild_grid(const Dataset& data);
  void draw_sidebar(const Dataset& data);
  void draw_inspector(const Dataset& data, ImageRenderer& renderer);
  void draw_cell_labels(const Dataset& data, ImVec2 origin) const;

  std::shared_ptr<const Snapshot<OpenDataset>> open_;  // the snapshot on screen
  Split split_ = Split::Train;
  std::vector<bool> class_shown_;
  std::vector<int64_t> class_counts_;
  std::vector<int64_t> filtered_;
  int page_ = 0, cols_ = 12, rows_ = 8;
  float zoom_ = 2.f;
  bool fit_width_ = true;
  bool show_labels_ = true;
  bool minus_mean_ = false;
  bool dirty_ = true;
  ImageGrid grid_;
  uint64_t grid_stamp_ = 0;
  DisplayImage grid_image_;
  int64_t selected_ = -1;
  uint64_t selected_stamp_ = 0;
  ImageBuffer selected_buffer_;
  DisplayImage selected_image_;
};

}  // namespace genlab::app
