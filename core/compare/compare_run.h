// Measuring the Compare table: each checkpoint opened through the family table, sampled at every
// point of its curves, scored in one classifier's feature space and timed; each point's result
// kept in a cache keyed by the checkpoint's bytes and the settings, so a second look costs nothing.
// Torch-free header.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/compare/compare_table.h"
#include "core/train/run_util.h"

namespace genlab {

class SampleQuality;

struct CompareOptions {
  int samples = 500;  // per point, at least 10
  uint64_t seed = 1;
  bool use_cache = true;
  bool cached_only = false;  // rows from the cache only: what the Compare tab shows before Measure
  bool retime = false;       // cached rows keep their scores but are timed again (a quieter machine)
  std::string cache_dir;  // empty: compare_cache_dir()
};

// $GENLAB_CACHE_DIR/compare, else $XDG_CACHE_HOME/genlab/compare, else ~/.cache/genlab/compare.
std::string compare_cache_dir();

// Every shipped model (assets/models, through the family table); those that draw nothing from
// noise come back as skipped, with the reason.
std::vector<std::string> shipped_models();

// Called as samples are drawn: `what` names the point, done/total count the model's samples.
// Return false to stop (a cancelled job): the run throws std::runtime_error("cancelled").
using CompareProgress = std::function<bool(const std::string& what, int64_t done, int64_t total)>;

struct ComparedModel {
  std::vector<CompareRow> rows;
  std::string skipped;  // non-empty: why the checkpoint has no rows
};

// One checkpoint at every point of its curves, scored by `quality` (whose data set is `dataset`),
// `row_done` called after each point. Throws CheckpointError / std::invalid_argument naming the file.
ComparedModel compare_checkpoint(const std::string& path, SampleQuality& quality, const std::string& dataset,
                                 const CompareOptions& options, const CompareProgress& progress,
                                 const std::function<void(const CompareRow&)>& row_done);

// genlab-cli compare: the data set (`dataset`, else the first checkpoint's) and `classifier` loaded
// once, then every checkpoint in turn; a checkpoint trained on another data set is skipped.
CompareTable compare_models(const std::vector<std::string>& checkpoints, const std::string& classifier,
                            const std::string& dataset, const CompareOptions& options, const LogLine& log);

}  // namespace genlab
