#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"

namespace genlab {

namespace {

// Hands `use` the checkpointed modules as one: a single module without prefix as it is (its tensors
// keep their plain names), several gathered under their prefixes ("g.", "d.").
template <class Use>
void with_checkpointed(const std::vector<std::pair<std::string, torch::nn::Module*>>& modules, Use&& use) {
  if (modules.size() == 1 && modules[0].first.empty()) return use(*modules[0].second);
  torch::nn::Module all;
  for (const auto& [prefix, module] : modules) all.register_module(prefix, module->shared_from_this());
  use(all);
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
  with_checkpointed(checkpointed(),
                    [&](torch::nn::Module& all) { write_safetensors(path, module_to_safetensors(all, meta.dump())); });
  save_training_state(path, optimizers(), {step_, rng_.state(), order_, cursor_});
}

std::string Trainer::resume(const std::string& path) {
  check_same_model(path);
  SafetensorsFile file = read_safetensors(path);
  with_checkpointed(checkpointed(), [&](torch::nn::Module& all) { load_module(all, file, path); });
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
  return file.metadata_json;
}

}  // namespace genlab
