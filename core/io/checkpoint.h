// Model weights <-> .safetensors with genlab's metadata block; optimizer state beside them.
// Torch header: include only from torch translation units.
#pragma once

#include <torch/torch.h>

#include <string>

#include "core/io/safetensors.h"

namespace genlab {

// Every parameter and buffer of `module` by its dotted name, as F32 (or F16 for small shipped files).
SafetensorsFile module_to_safetensors(torch::nn::Module& module, const std::string& metadata_json, bool fp16 = false);

// Copies the file's tensors into `module`. Throws CheckpointError naming `path` for a missing or
// unexpected tensor or a shape that differs (another model's file, or another size).
void load_module(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path);

// Optimizer state in torch's own archive at "<checkpoint>.optim", written atomically.
std::string optimizer_path(const std::string& checkpoint_path);
void save_optimizer(torch::optim::Optimizer& optimizer, const std::string& checkpoint_path);
// Returns false when no optimizer file exists beside the checkpoint.
bool load_optimizer(torch::optim::Optimizer& optimizer, const std::string& checkpoint_path);

}  // namespace genlab
