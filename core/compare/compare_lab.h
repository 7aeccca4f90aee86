// The Compare tab's worker side: measures a list of checkpoints into one table (compare_run.h) as a
// long job — cancellable, publishing each row as it lands, cached rows at once — and remembers the
// table, so reopening the tab shows it without measuring again. Torch-free header.
#pragma once

#include <string>
#include <vector>

#include "core/compare/compare_run.h"
#include "core/compare/compare_table.h"
#include "core/compute/latest.h"
#include "core/lab/session.h"

namespace genlab {

struct CompareTableView {
  bool running = false;
  std::string current;   // the point being measured: "ddpm-fashion-cond: DDIM, 20 steps, w = 3"
  int models_done = 0, models = 0;
  CompareTable table;    // the rows so far
  std::string error;     // one line naming the file, when a checkpoint could not be measured
};

class CompareLab : public Lab {
 public:
  explicit CompareLab(Session& session) : session_(session) {}
  std::vector<UnsavedTraining> unsaved_training() const override { return {}; }

  // Measures `checkpoints` against the open data set's test images with `classifier` (empty: the
  // shipped one). A checkpoint that fails is named in the view's error and the others go on.
  void run(const std::vector<std::string>& checkpoints, const std::string& classifier, const CompareOptions& options);
  const Latest<CompareTableView>& view() const { return view_; }

 private:
  Session& session_;
  Latest<CompareTableView> view_;
};

}  // namespace genlab
