#include "core/io/checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

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
    // The format has no checksum: a damaged file can still parse. NaN or inf weights are the damage
    // that would break a model silently, so they are refused by name.
    if (source.is_floating_point() && !torch::isfinite(source).all().item<bool>())
      throw CheckpointError(path + ": tensor '" + name + "' holds nan or inf (a damaged file, or saved from a run that diverged)");
    target.copy_(source.to(target.scalar_type()));
  }
}

std::string optimizer_path(const std::string& checkpoint_path) { return checkpoint_path + ".optim"; }

void save_training_state(const std::string& checkpoint_path, const std::vector<torch::optim::Optimizer*>& optimizers,
                         const RunState& run) {
  const std::string path = optimizer_path(checkpoint_path);
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive archive;
    for (size_t i = 0; i < optimizers.size(); ++i) {
      torch::serialize::OutputArchive one;
      optimizers[i]->save(one);
      archive.write("optimizer" + std::to_string(i), one);
    }
    archive.write("step", torch::tensor(run.step));
    archive.write("cursor", torch::tensor(run.cursor));
    if (run.rng.defined()) archive.write("rng", run.rng);
    if (run.order.defined()) archive.write("order", run.order);
    archive.save_to(bytes);
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": cannot serialise the optimizer state");
  }
  const std::string text = bytes.str();
  write_file_atomically(path, std::vector<uint8_t>(text.begin(), text.end()), true);
}

bool load_training_state(const std::string& checkpoint_path, const std::vector<torch::optim::Optimizer*>& optimizers,
                         int64_t step, RunState& run) {
  const std::string path = optimizer_path(checkpoint_path);
  if (!std::filesystem::exists(path)) return false;
  try {
    // The moments load onto the device of the weights they belong to (a run saved on CUDA resumes
    // on the CPU and back); the step, stream and order stay on the CPU.
    torch::Device device = torch::kCPU;
    if (!optimizers.empty() && !optimizers[0]->param_groups().empty() && !optimizers[0]->param_groups()[0].params().empty())
      device = optimizers[0]->param_groups()[0].params()[0].device();
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    torch::Tensor saved_step, cursor, rng, order;
    if (!archive.try_read("step", saved_step) || saved_step.item<int64_t>() != step) return false;
    for (size_t i = 0; i < optimizers.size(); ++i) {
      torch::serialize::InputArchive one;
      archive.read("optimizer" + std::to_string(i), one);
      optimizers[i]->load(one);
    }
    archive.read("cursor", cursor);
    run.step = step;
    run.cursor = cursor.item<int64_t>();
    run.rng = archive.try_read("rng", rng) ? rng.cpu() : torch::Tensor();
    run.order = archive.try_read("order", order) ? order.cpu() : torch::Tensor();
  } catch (const c10::Error& e) {
    throw CheckpointError(path + ": unreadable optimizer state (another model's, or damaged)");
  }
  return true;
}

}  // namespace genlab
