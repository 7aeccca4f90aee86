// Model weights <-> .safetensors with genlab's metadata block; optimizer state beside them.
// Torch header: include only from torch translation units.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/io/safetensors.h"

namespace genlab {

// Every parameter and buffer of `module` by its dotted name, as F32 (or F16 for small shipped files).
SafetensorsFile module_to_safetensors(torch::nn::Module& module, const std::string& metadata_json, bool fp16 = false);

// Copies the file's tensors into `module`. Throws CheckpointError naming `path` for a missing or
// unexpected tensor or a shape that differs (another model's file, or another size).
void load_module(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path);

// What a run needs beside its weights to go on exactly where it stopped: its step, the trainer's
// random stream and its place in the shuffled epoch. The optimizers' state travels with it.
struct RunState {
  int64_t step = 0;
  torch::Tensor rng;    // RandomStream::state()
  torch::Tensor order;  // the epoch's permutation; undefined before the first batch or without one
  int64_t cursor = 0;   // the next position in `order`
};

// Optimizer state and run state in torch's own archive at "<checkpoint>.optim", written like the
// checkpoint (temp file, fsync, rename; the previous one kept as .prev).
std::string optimizer_path(const std::string& checkpoint_path);
void save_training_state(const std::string& checkpoint_path, const std::vector<torch::optim::Optimizer*>& optimizers,
                         const RunState& run);
// Fills the optimizers and `run`. Returns false, changing nothing, when no state file exists beside the
// checkpoint or it was written at another step than `step` (a save cut off between the two files):
// the run then goes on from the weights with fresh optimizer moments. Throws CheckpointError naming
// the file when it is unreadable or holds other optimizers.
bool load_training_state(const std::string& checkpoint_path, const std::vector<torch::optim::Optimizer*>& optimizers,
                         int64_t step, RunState& run);

}  // namespace genlab
