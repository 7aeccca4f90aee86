// Trains a VQ-VAE (codebook by loss or EMA, dead codes restarted) and the prior over its codes.
// Used by the VAE tab's VQ lab and by genlab-cli. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/data/dataset.h"
#include "core/metrics/model_samples.h"
#include "core/train/trainer.h"
#include "core/vae/vq_prior.h"
#include "core/vae/vqvae.h"

namespace genlab {

struct VqStepFigures {
  float recon = 0, commit = 0, total = 0;
  float perplexity = 0;  // of the batch's codes
  int used = 0;          // codes the batch used
  int restarted = 0;     // dead codes moved to encoder outputs at this step
};

struct VqTestFigures {
  double recon_bce = 0;   // nats per image against the gray test images
  double recon_mse = 0;   // per pixel
  double perplexity = 0;  // of the test set's codes
  int used = 0;           // codes the test set uses
  std::vector<float> usage;  // share of the test set's grid cells per code (K)
};

class VqTrainer : public Trainer {
 public:
  VqTrainer(VqConfig config, std::shared_ptr<const Dataset> data);

  VqStepFigures train_step();
  float train_once() override { return train_step().total; }
  const VqStepFigures& last() const { return last_; }
  VqTestFigures test_figures(int64_t max_images = 10000);
  // Share of the grid cells each code took, as a moving average over recent steps (K).
  std::vector<float> recent_usage() const;
  int64_t restarts() const { return restarts_; }  // codes restarted so far in this run

  void set_restarts(bool on) { config_.restarts = on; }
  void set_learning_rate(float lr);

  double epoch() const override { return double(step_) * config_.batch_size / double(data_->train.count); }
  int64_t batch_images() const override { return config_.batch_size; }
  int64_t steps_per_epoch() const { return (data_->train.count + config_.batch_size - 1) / config_.batch_size; }
  const VqConfig& config() const { return config_; }
  const Dataset& data() const { return *data_; }
  const std::shared_ptr<const Dataset>& dataset() const { return data_; }
  VqVae& model() { return model_; }
  torch::Tensor images(Split split, const torch::Tensor& indices) const;  // [0, 1], B x C x H x W

 private:
  std::string kind() const override { return "vqvae"; }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override { return {{"", model_.get()}}; }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {optimizer_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;
  int64_t order_size() const override { return data_->train.count; }
  void update_codebook(const torch::Tensor& z_e, const torch::Tensor& indices, const torch::Tensor& counts);
  int restart_dead_codes(const torch::Tensor& z_e);

  VqConfig config_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor train_bytes_, test_bytes_;
  VqVae model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  VqStepFigures last_;
  int64_t restarts_ = 0;
};

// The prior trainer: the training set's code maps, computed at the first step with the VQ-VAE, teach the
// transformer to predict each code from the ones before (cross-entropy, nats per position).
class VqPriorTrainer : public Trainer {
 public:
  VqPriorTrainer(VqPriorConfig config, VqVae vqvae, std::shared_ptr<const Dataset> data);

  float train_step();  // nats per position
  float train_once() override { return train_step(); }
  float last_loss() const { return last_; }
  double test_loss(int64_t max_images = 2000);  // nats per position on the test set's code maps

  double epoch() const override { return double(step_) * config_.batch_size / double(std::max<int64_t>(1, data_->train.count)); }
  int64_t batch_images() const override { return config_.batch_size; }
  int64_t steps_per_epoch() const { return (data_->train.count + config_.batch_size - 1) / config_.batch_size; }
  const VqPriorConfig& config() const { return config_; }
  void set_vqvae_path(const std::string& path) { config_.vqvae = path; }  // the file its checkpoint names
  CodePrior& prior() { return prior_; }
  VqVae& vqvae() { return vqvae_; }

 private:
  std::string kind() const override { return "vqprior"; }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override { return {{"", prior_.get()}}; }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {optimizer_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;
  int64_t order_size() const override { return data_->train.count; }

  VqPriorConfig config_;
  VqVae vqvae_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor train_codes_, train_labels_, test_codes_, test_labels_;  // N x P, N
  CodePrior prior_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  float last_ = 0;
};

// The code maps of a split (N x P int64), encoded in batches.
torch::Tensor encode_codes(VqVae& model, const Dataset& data, Split split, int64_t max_images = -1);

// Checkpoint configs; throw CheckpointError naming the path when the file holds another model.
VqConfig read_vq_config(const std::string& path);
VqPriorConfig read_prior_config(const std::string& path);
// A VQ-VAE's weights, ready to encode and decode.
VqVae load_vqvae(const std::string& path);
// The VQ-VAE a prior models: `given` when not empty, else the file of that name beside the prior,
// else the path in its config. Throws CheckpointError naming both files when its codebook size or code
// grid differ from the prior's.
std::string prior_vqvae_path(const std::string& prior_path, const VqPriorConfig& prior, const std::string& given = "");
void check_prior_matches(const VqPriorConfig& prior, const std::string& prior_path, const VqConfig& vq,
                         const std::string& vq_path);

// Decoded prior samples, classes in turn when the prior has them (`label` >= 0: that class only).
SampleSource vq_prior_samples(CodePrior& prior, VqVae& vqvae, const PriorSampling& sampling, int label = -1);

}  // namespace genlab
