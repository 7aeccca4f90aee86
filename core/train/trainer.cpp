#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"

namespace genlab {

namespace {

// The checkpointed modules under their prefixes, as one module to write or load.
torch::nn::Module gathered(const std::vector<std::pair<std::string, torch::nn::Module*>>& modules) {
  torch::nn::Module all;
  for (const auto& [prefix, module] : modules) all.register_module(prefix, module->shared_from_this());
  return all;
}

}  // namespace

Modules Trainer::guarded() {
  Modules out;
  for (const auto& entry : checkpointed()) out.push_back(entry.second);
  return out;
}

void Trainer::save(const std::string& path, const std::string& metrics_json, const std::string& history_json) {
  nlohmann::json meta = {
      {"format", "genlab-checkpoint-1"},
      {"model", kind()},
      {"config", nlohmann::json::parse(config_json())},
      {"dataset", dataset_spec()},
      {"step", step_},
      {"epoch", epoch()},
      {"metrics", nlohmann::json::parse(metrics_json)},
  };
  if (!history_json.empty()) meta["history"] = nlohmann::json::parse(history_json);
  auto modules = checkpointed();
  SafetensorsFile file = modules.size() == 1 && modules[0].first.empty()
                             ? module_to_safetensors(*modules[0].second, meta.dump())
                             : [&] {
                                 torch::nn::Module all = gathered(modules);
                                 return module_to_safetensors(all, meta.dump());
                               }();
  write_safetensors(path, file);
  save_training_state(path, optimizers(), {step_, rng_.state(), order_, cursor_});
}

void Trainer::resume(const std::string& path) {
  check_same_model(path);
  SafetensorsFile file = read_safetensors(path);
  auto modules = checkpointed();
  if (modules.size() == 1 && modules[0].first.empty()) {
    load_module(*modules[0].second, file, path);
  } else {
    torch::nn::Module all = gathered(modules);
    load_module(all, file, path);
  }
  step_ = nlohmann::json::parse(file.metadata_json).value("step", int64_t(0));
  restore_from_metadata(file.metadata_json);
  RunState run;
  if (load_training_state(path, optimizers(), step_, run)) {
    if (run.rng.defined()) rng_.set_state(run.rng);
    if (run.order.defined() && order_size() > 0 && run.order.numel() == order_size()) {  // the same data set
      order_ = run.order;
      cursor_ = run.cursor;
    }
  }
  remember_weights();
}

}  // namespace genlab
