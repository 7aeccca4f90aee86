// The Compare tab: every shipped model and every model open in a lab on one table — FID-LeNet
// against sampling time and precision against recall, each model a curve along its own knob
// (temperature, truncation psi, steps per sampler, CFG scale), one colour per family — with a
// sample row per model and the table itself. Measuring runs on the worker (core/compare/); rows
// the cache already holds show as soon as the tab opens.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "app/gl_image.h"
#include "core/compare/compare_table.h"
#include "core/lab/session.h"

namespace genlab::app {

class ComparePanel {
 public:
  void draw(Session& session, ImageRenderer& renderer);
  // The scripted --compare option: "run" (measure on first show), "samples=N", "models=A;B" (these
  // checkpoints instead of the shipped ones), "view=samples|table". Throws std::invalid_argument
  // naming a bad key or value.
  void apply_settings(const std::string& settings);

 private:
  struct Entry {
    std::string path;
    bool selected = true;
    bool from_lab = false;
  };
  void refresh_models(Session& session);
  void measure(Session& session, bool cached_only);
  void draw_controls(Session& session);
  void draw_charts(const CompareTable& table, ImageRenderer& renderer);
  void draw_sample_rows(const CompareTable& table, ImageRenderer& renderer);
  void draw_table(const CompareTable& table);
  // The sample row of table.rows[i] as a texture, uploaded once per measured table.
  DisplayImage& row_image(const CompareTable& table, size_t i, ImageRenderer& renderer);

  std::vector<Entry> models_;
  std::set<std::string> lab_paths_seen_;  // the labs' files already matched against models_
  bool listed_shipped_ = false, shown_ = false, run_at_start_ = false;
  int samples_ = 500;
  std::string view_ = "samples";
  bool defaults_only_ = false;
  int hovered_row_ = -1;
  std::map<std::string, std::string> chosen_point_;  // model -> the point key its sample row shows
  std::map<std::string, DisplayImage> images_;       // model|point key -> its sample row
  uint64_t run_stamp_ = 0;                           // each run's textures upload once
  bool view_selected_ = false;                       // the scripted view, selected on the first frame
};

}  // namespace genlab::app
