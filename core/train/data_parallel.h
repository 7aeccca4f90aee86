// Data-parallel training on torch.distributed's c10d, as PyTorch's DistributedDataParallel does it:
// the ranks meet at a TCPStore, check that they were started alike, and form a process group (Gloo;
// NCCL where the LibTorch build has it). Each rank takes its rows of every batch; every update sums
// the ranks' share-weighted gradients in flattened buckets of about 1 MB. Only data_parallel.cpp
// sees c10d's headers. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/train/run_args.h"

namespace genlab {

// Another rank is gone, or did not answer within the timeout.
struct RankError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DataParallel {
 public:
  // Meets the other ranks. `setup_json` is what they must agree on (model, config, data set, step,
  // a checksum of the weights): throws std::invalid_argument when this rank's differs from rank 0's
  // (naming the first field that differs) or the options make no sense, RankError when the ranks do
  // not all arrive within the timeout.
  DataParallel(const ParallelOptions& options, const std::string& setup_json);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // The rows [begin, end) of a batch of n that this rank takes: n split as evenly as can be, in
  // rank order, so the ranks' rows together are the whole batch.
  std::pair<int64_t, int64_t> rows(int64_t n) const;

  // Sums `tensors` (in place) and `figures` over the ranks. Throws RankError naming `step` when
  // another rank is gone or the timeout passes.
  void sum(const std::vector<torch::Tensor>& tensors, std::vector<float>& figures, int64_t step);

  // Posts the step this rank has finished, so a launcher can say where a lost rank stopped.
  void finished_step(int64_t step);

  struct Traffic {
    int64_t calls = 0;    // sum() calls
    int64_t buckets = 0;  // all-reduce calls
    double bytes = 0;     // this rank's payload (a ring all-reduce sends about that much per rank)
    double seconds = 0;   // spent in sum()
  };
  Traffic traffic() const { return traffic_; }

 private:
  struct Group;
  ParallelOptions options_;
  std::unique_ptr<Group> group_;
  Traffic traffic_;
};

}  // namespace genlab
