#include "core/train/trainer.h"

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/train/data_parallel.h"
#include "core/train/run_util.h"
#include "core/train/weight_average.h"

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
  if (ranks_ && ranks_->rank() != 0) return;  // rank 0 holds the same weights and writes them
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

void Trainer::move_to(torch::Device device) {
  for (const auto& entry : checkpointed()) entry.second->to(device);
  device_ = device;
  reset_optimizers();
  remember_weights();
}

std::string Trainer::setup_json() {
  torch::NoGradGuard no_grad;
  double weights = 0;
  int64_t index = 0;
  for (const auto& entry : checkpointed())
    for (const auto& p : entry.second->parameters()) weights += double(++index) * p.to(torch::kDouble).sum().item<double>();
  const torch::Tensor stream = rng_.state().to(torch::kDouble);
  char checksums[96];
  snprintf(checksums, sizeof checksums, "%.17g %.17g", weights,
           (stream * torch::arange(1, stream.numel() + 1, torch::kDouble)).sum().item<double>());
  return nlohmann::json{{"model", kind()},         {"config", nlohmann::json::parse(config_json())},
                        {"dataset", dataset_spec()}, {"step", step_},
                        {"epoch_position", cursor_}, {"checksums", checksums}}
      .dump();
}

float Trainer::update_followed(const torch::Tensor& loss, torch::optim::Optimizer& optimizer, torch::nn::Module& net,
                               torch::nn::Module& average, double decay) {
  optimizer.zero_grad();
  loss.backward();
  float value = loss.item<float>();
  guarded_update(net.parameters(), value, "the loss", step_ + 1, [&] { optimizer.step(); });
  update_average(net, average, decay);
  ++step_;
  return value;
}

torch::Tensor Trainer::own_rows(const torch::Tensor& whole) {
  if (!ranks_ || !whole.defined()) return whole;
  const auto [begin, end] = ranks_->rows(whole.size(0));
  share_ = whole.size(0) > 0 ? double(end - begin) / double(whole.size(0)) : 0.0;
  return whole.slice(0, begin, end);
}

torch::Tensor Trainer::next_in_order(int64_t count, int64_t batch, bool keep_short) {
  const int64_t needed = keep_short ? 1 : batch;
  if (!order_.defined() || order_.numel() != count || cursor_ + needed > count) {
    order_ = torch::randperm(count, torch::kLong);
    cursor_ = 0;
  }
  const int64_t end = std::min(cursor_ + batch, count);
  torch::Tensor positions = order_.slice(0, cursor_, end);
  cursor_ = end;
  return positions;
}

void Trainer::average_with_ranks(const std::vector<torch::Tensor>& updated, float& loss,
                                 const std::vector<float*>& averaged, int64_t step) {
  // Each rank's loss is a mean over its rows; weighted by its share of the batch and summed, the
  // gradients and figures are those of the mean over the whole batch.
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : updated) {
    torch::Tensor& grad = p.mutable_grad();
    if (!grad.defined()) grad = torch::zeros_like(p);
    share_ > 0 ? grad.mul_(share_) : grad.zero_();  // a rank with no rows adds nothing
    grads.push_back(grad);
  }
  auto weighted = [&](float figure) { return share_ > 0 ? float(figure * share_) : 0.f; };
  std::vector<float> figures{weighted(loss)};
  for (float* figure : averaged) figures.push_back(weighted(*figure));
  figures.push_back(stop_requested() ? 1.f : 0.f);
  ranks_->sum(grads, figures, step);
  loss = figures[0];
  for (size_t i = 0; i < averaged.size(); ++i) *averaged[i] = figures[i + 1];
  stop_agreed_ = stop_agreed_ || figures.back() > 0;
}

}  // namespace genlab
