// Distils a guided teacher's sampling run into a few-step student (trajectory distillation, in the
// spirit of Luhman & Luhman 2021 and Salimans & Ho's progressive distillation, with Meng et al.'s
// guidance scale as a student input). The teacher's default run, DPM-Solver++ 20 steps at CFG w,
// costs 40 network calls a picture; the student takes K DDIM steps of one call each, and each of its
// steps learns to land where the teacher's run stands 20 / K steps later. Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/diffusion/diffusion_trainer.h"
#include "core/train/trainer.h"

namespace genlab {

struct DistillConfig {
  int steps = 5;              // the student's DDIM steps
  int trajectories = 16000;   // teacher runs recorded (each gives `steps` training pairs)
  double w_max = 8;           // the guidance scales drawn, uniform in 0..w_max
  int batch_size = 64;
  float learning_rate = 2e-4f;
  float ema_decay = 0.998f;
  uint64_t seed = 1;
};

class DistillTrainer : public Trainer {
 public:
  // The student starts as a copy of the teacher's EMA net with a zero guidance input. `teacher_name`
  // is recorded in the student's config, `dataset_spec` (the teacher's data) in its checkpoint.
  // Throws std::invalid_argument for an unconditional teacher, a student already, or steps that do
  // not divide the teacher's run. The teacher runs on the device the student is moved to.
  DistillTrainer(DistillConfig config, DiffusionTrainer& teacher, const std::string& teacher_name,
                 std::string dataset_spec, const std::string& teacher_sampler = "dpmpp2m", int teacher_steps = 20);

  // Runs the teacher from seeded noise, class and w, `chunk` runs at a time, keeping x at the
  // student's step boundaries; progress(done, total) after each chunk, false to stop (then returns
  // false and the trainer cannot train).
  bool record_trajectories(const std::function<bool(int done, int total)>& progress = {}, int chunk = 200);
  int recorded() const { return recorded_; }
  // N x (steps + 1) x C x H x W: x_T and x after every r-th teacher step; each run's class and w.
  const torch::Tensor& recorded_x() const { return xs_; }
  const torch::Tensor& recorded_labels() const { return labels_; }
  const torch::Tensor& recorded_scales() const { return scales_; }

  // One batch of (run, student step) pairs: the student's eps against the eps whose DDIM step lands
  // on the teacher's x; returns that MSE.
  float train_once() override;
  float last_loss() const { return last_loss_; }
  double epoch() const override;
  int64_t batch_images() const override { return config_.batch_size; }
  const DiffusionConfig& student_config() const { return student_config_; }
  UNet& ema() { return ema_; }

 private:
  std::string kind() const override { return "ddpm"; }
  std::string config_json() const override { return student_config_.to_json(); }
  std::string dataset_spec() const override { return dataset_spec_; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override {
    return {{"net", net_.get()}, {"ema", ema_.get()}};
  }
  std::vector<torch::optim::Optimizer*> optimizers() override { return {optimizer_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;

  DistillConfig config_;
  DiffusionTrainer& teacher_;
  DiffusionConfig student_config_;
  std::string dataset_spec_;
  std::vector<int> teacher_grid_, student_grid_;  // the student's grid is every r-th teacher timestep
  torch::Tensor xs_;                               // N x (steps + 1) x C x H x W: x at the student's boundaries
  torch::Tensor labels_, scales_;                  // N (long), N (float)
  int recorded_ = 0;
  UNet net_{nullptr}, ema_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  float last_loss_ = 0;
};

}  // namespace genlab
