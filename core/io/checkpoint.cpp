#include "core/io/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

namespace genlab {

namespace {

std::vector<int64_t> shape_of(const torch::Tensor& t) { return t.sizes().vec(); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

std::map<std::string, torch::Tensor> named_state(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> state;
  for (auto& p : module.named_parameters()) state[p.key()] = p.value();
  for (auto& b : module.named_buffers()) state[b.key()] = b.value();
  return state;
}

}  // namespace

SafetensorsFile module_to_safetensors(torch::nn::Module& module, const std::string& metadata_json, bool fp16) {
  SafetensorsFile file;
  file.metadata_json = metadata_json;
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : named_state(module)) {
    NamedTensor out;
    out.name = name;
    out.shape = shape_of(tensor);
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    if (cpu.scalar_type() == torch::kLong) {
      out.dtype = DType::I64;
    } else {
      out.dtype = fp16 ? DType::F16 : DType::F32;
      cpu = cpu.to(fp16 ? torch::kHalf : torch::kFloat);
    }
    out.bytes.resize(size_t(cpu.numel()) * cpu.element_size());
    std::memcpy(out.bytes.data(), cpu.data_ptr(), out.bytes.size());
    file.tensors.push_back(std::move(out));
  }
  return file;
}

void load_module(torch::nn::Module& module, const SafetensorsFile& file, const std::string& path) {
  auto state = named_state(module);
  for (const NamedTensor& t : file.tensors)
    if (!state.count(t.name)) throw CheckpointError(path + ": unexpected tensor '" + t.name + "' (another model's file?)");
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : state) {
    const NamedTensor* t = file.find(name);
    if (!t) throw CheckpointError(path + ": tensor '" + name + "' is missing (another model's file?)");
    if (t->shape != shape_of(target))
      throw CheckpointError(path + ": tensor '" + name + "' has shape " + shape_text(t->shape) + ", the model needs " +
                            shape_text(shape_of(target)));
    auto dtype = t->dtype == DType::F16 ? torch::kHalf : t->dtype == DType::I64 ? torch::kLong : torch::kFloat;
    auto source = torch::from_blob(const_cast<uint8_t*>(t->bytes.data()), t->shape, torch::TensorOptions().dtype(dtype));
    target.copy_(source.to(target.scalar_type()));
  }
}

std::string optimizer_path(const std::string& checkpoint_path) { return checkpoint_path + ".optim"; }

void save_optimizer(torch::optim::Optimizer& optimizer, const std::string& checkpoint_path) {
  const std::string path = optimizer_path(checkpoint_path), tmp = path + ".tmp";
  try {
    torch::save(optimizer, tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw CheckpointError(path + ": cannot write optimizer state");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw CheckpointError(path + ": cannot rename into place: " + std::strerror(errno));
  }
}

bool load_optimizer(torch::optim::Optimizer& optimizer, const std::string& checkpoint_path) {
  const std::string path = optimizer_path(checkpoint_path);
  if (!std::filesystem::exists(path)) return false;
  try {
    torch::load(optimizer, path);
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": unreadable optimizer state");
  }
  return true;
}

}  // namespace genlab
