#include "app/data_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "app/image_view.h"

namespace genlab::app {

void DataPanel::reset_for(std::shared_ptr<const Snapshot<OpenDataset>> open) {
  open_ = std::move(open);
  class_shown_.assign(open_->value.data->class_names.size(), true);
  page_ = 0;
  selected_ = -1;
  dirty_ = true;
}

void DataPanel::rebuild_grid(const Dataset& data) {
  filtered_ = filter_by_class(data, split_, class_shown_);
  class_counts_.assign(data.class_names.size(), 0);
  for (int label : data.split(split_).labels)
    if (label >= 0 && label < int(class_counts_.size())) ++class_counts_[size_t(label)];
  const int per_page = cols_ * rows_;
  const int pages = std::max(1, int((filtered_.size() + per_page - 1) / per_page));
  page_ = std::clamp(page_, 0, pages - 1);
  auto first = filtered_.begin() + std::min<size_t>(filtered_.size(), size_t(page_) * per_page);
  auto last = filtered_.begin() + std::min<size_t>(filtered_.size(), size_t(page_ + 1) * per_page);
  grid_ = make_dataset_grid(data, split_, std::vector<int64_t>(first, last), cols_);
  if (minus_mean_) subtract_from_cells(grid_, open_->value.train_mean);
  grid_stamp_ = next_stamp();
  dirty_ = false;
}

void DataPanel::draw_sidebar(const Dataset& data) {
  ImGui::TextWrapped("%s", data.title.c_str());
  ImGui::TextDisabled("%s", data.source.c_str());
  ImGui::Text("train %" PRId64 " · test %" PRId64 " · %dx%dx%d", data.train.count, data.test.count,
              data.channels, data.height, data.width);
  if (data.skipped_files > 0) ImGui::TextColored(ImVec4(1, .7f, .3f, 1), "%d unreadable files skipped", data.skipped_files);
  ImGui::Separator();

  int split = split_ == Split::Train ? 0 : 1;
  bool changed = ImGui::RadioButton("train", &split, 0);
  ImGui::SameLine();
  changed |= ImGui::RadioButton("test", &split, 1);
  if (changed) {
    split_ = split == 0 ? Split::Train : Split::Test;
    selected_ = -1;
    dirty_ = true;
  }
  if (ImGui::Checkbox("minus mean image (signed)", &minus_mean_)) dirty_ = true;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("x - mean(train): blue below the mean, red above; what a model must learn beyond the average");

  if (!data.class_names.empty()) {
    ImGui::Separator();
    ImGui::Text("Classes");
    ImGui::SameLine();
    if (ImGui::SmallButton("all")) std::fill(class_shown_.begin(), class_shown_.end(), true), dirty_ = true;
    ImGui::SameLine();
    if (ImGui::SmallButton("none")) std::fill(class_shown_.begin(), class_shown_.end(), false), dirty_ = true;
    for (size_t c = 0; c < data.class_names.size(); ++c) {
      bool shown = class_shown_[c];
      char label[160];
      snprintf(label, sizeof label, "%zu %s##class%zu", c, data.class_names[c].c_str(), c);
      if (ImGui::Checkbox(label, &shown)) class_shown_[c] = shown, dirty_ = true;
      if (c < class_counts_.size()) {
        ImGui::SameLine(ImGui::GetContentRegionAvail().x - 40);
        ImGui::TextDisabled("%6" PRId64, class_counts_[c]);
      }
    }
  }
  ImGui::Separator();
  ImGui::SetNextItemWidth(120);
  if (ImGui::SliderInt("columns", &cols_, 4, 40)) dirty_ = true;
  ImGui::SetNextItemWidth(120);
  if (ImGui::SliderInt("rows", &rows_, 1, 40)) dirty_ = true;
  ImGui::Checkbox("fit width", &fit_width_);
  if (!fit_width_) {
    ImGui::SetNextItemWidth(120);
    ImGui::SliderFloat("zoom", &zoom_, 0.5f, 12.f, "%.2fx");
  }
  ImGui::Checkbox("labels on cells", &show_labels_);
}

void DataPanel::draw_inspector(const Dataset& data, ImageRenderer& renderer) {
  if (selected_ < 0 || selected_ >= data.split(split_).count) return;
  ImGui::Separator();
  int label = data.label(split_, selected_);
  ImGui::Text("#%" PRId64 " · %s", selected_, data.class_name(label).c_str());
  if (selected_stamp_ == 0) {
    ImageGrid one = make_dataset_grid(data, split_, {selected_}, 1, 0);
    selected_buffer_ = std::move(one.image);
    selected_stamp_ = next_stamp();
  }
  selected_image_.update(renderer, selected_stamp_, selected_buffer_);
  float zoom = std::max(1.f, std::floor((ImGui::GetContentRegionAvail().x - 8) / float(data.width)));
  ImageHover hover = image_view(selected_image_, zoom, zoom, zoom);
  if (hover.hovered) {
    ImGui::BeginTooltip();
    ImGui::Text("pixel (%d, %d)", hover.x, hover.y);
    for (int c = 0; c < selected_buffer_.channels; ++c)
      ImGui::Text("  c%d = %.3f (%d/255)", c, selected_buffer_.at(c, hover.y, hover.x),
                  int(selected_buffer_.at(c, hover.y, hover.x) * 255.f + .5f));
    ImGui::EndTooltip();
  }
}

void DataPanel::draw_cell_labels(const Dataset& data, ImVec2 origin) const {
  if (data.class_names.empty() || grid_.cell_w * zoom_ < 40) return;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float cell_w = grid_.cell_w * zoom_, cell_h = grid_.cell_h * zoom_;
  const float line = ImGui::GetTextLineHeight();
  for (size_t cell = 0; cell < grid_.indices.size(); ++cell) {
    float x = origin.x + (grid_.pad + (cell % grid_.cols) * (grid_.cell_w + grid_.pad)) * zoom_;
    float y = origin.y + (grid_.pad + (cell / grid_.cols) * (grid_.cell_h + grid_.pad)) * zoom_;
    ImVec2 lo(x, y + cell_h - line), hi(x + cell_w, y + cell_h);
    draw->AddRectFilled(lo, hi, IM_COL32(0, 0, 0, 150));
    // Shorten on the CPU rather than clip: a clip rect per cell splits the draw list into
    // hundreds of draw calls, which a software rasteriser pays for every frame.
    std::string name = data.class_name(grid_.labels[cell]);
    while (name.size() > 1 && ImGui::CalcTextSize(name.c_str()).x > cell_w - 4) name.pop_back();
    draw->AddText(ImVec2(x + 2, lo.y), IM_COL32(255, 220, 120, 255), name.c_str());
  }
}

void DataPanel::draw(Session& session, ImageRenderer& renderer) {
  auto snapshot = session.dataset().get();
  if (!snapshot) {
    auto status = session.worker().status();
    if (status->value.job.rfind("load ", 0) == 0)
      ImGui::TextDisabled("Loading %s…", status->value.job.c_str() + 5);
    else
      ImGui::TextDisabled("No data set is open. Use File › Open data set…, or drop an IDX file or an image folder here.");
    return;
  }
  if (snapshot != open_) reset_for(snapshot);
  const Dataset& data = *open_->value.data;
  if (dirty_) rebuild_grid(data);

  ImGui::BeginChild("data-sidebar", ImVec2(270, 0), true);
  draw_sidebar(data);
  draw_inspector(data, renderer);
  ImGui::EndChild();
  ImGui::SameLine();

  ImGui::BeginChild("data-grid", ImVec2(0, 0), false);
  const int per_page = cols_ * rows_;
  const int pages = std::max(1, int((filtered_.size() + per_page - 1) / per_page));
  if (ImGui::ArrowButton("prev", ImGuiDir_Left) && page_ > 0) --page_, dirty_ = true;
  ImGui::SameLine();
  ImGui::SetNextItemWidth(260);
  int page_one_based = page_ + 1;
  if (ImGui::SliderInt("##page", &page_one_based, 1, pages, "page %d")) page_ = page_one_based - 1, dirty_ = true;
  ImGui::SameLine();
  if (ImGui::ArrowButton("next", ImGuiDir_Right) && page_ + 1 < pages) ++page_, dirty_ = true;
  ImGui::SameLine();
  ImGui::TextDisabled("of %d · %zu images shown", pages, filtered_.size());
  if (dirty_) rebuild_grid(data);

  grid_image_.update(renderer, grid_stamp_, grid_.image,
                     minus_mean_ ? ImageStyle::Signed : ImageStyle::Natural, 1.f);
  ImGui::BeginChild("grid-scroll", ImVec2(0, 0), false, ImGuiWindowFlags_HorizontalScrollbar);
  if (fit_width_ && grid_.image.width > 0)
    zoom_ = std::max(0.5f, std::floor(4.f * (ImGui::GetContentRegionAvail().x - 4) / grid_.image.width) / 4.f);
  ImVec2 origin = ImGui::GetCursorScreenPos();
  const float zoom_before = zoom_;
  ImageHover hover = image_view(grid_image_, zoom_);
  if (zoom_ != zoom_before) fit_width_ = false;  // ctrl+wheel takes over from fitting
  if (show_labels_) draw_cell_labels(data, origin);
  if (hover.hovered) {
    int cell = grid_.cell_at(hover.x, hover.y);
    if (cell >= 0) {
      int64_t index = grid_.indices[size_t(cell)];
      int cx = (hover.x - grid_.pad) % (grid_.cell_w + grid_.pad);
      int cy = (hover.y - grid_.pad) % (grid_.cell_h + grid_.pad);
      ImGui::BeginTooltip();
      ImGui::Text("%s #%" PRId64 " · cell %d", split_ == Split::Train ? "train" : "test", index, cell);
      ImGui::Text("label %d: %s", grid_.labels[size_t(cell)], data.class_name(grid_.labels[size_t(cell)]).c_str());
      ImGui::Text("pixel (%d, %d) = %.3f%s", cx, cy, grid_.image.at(0, hover.y, hover.x),
                  minus_mean_ ? " (minus mean)" : "");
      ImGui::TextDisabled("click to inspect · ctrl+wheel to zoom");
      ImGui::EndTooltip();
      if (hover.clicked) {
        selected_ = index;
        selected_stamp_ = 0;
      }
    }
  }
  ImGui::EndChild();
  ImGui::EndChild();
}

}  // namespace genlab::app
