#include "core/diffusion/distillation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/compute/batch_halves.h"
#include "core/io/checkpoint.h"
#include "core/io/tensors.h"
#include "core/train/weight_average.h"

namespace genlab {

namespace {

// The student takes the teacher's weights by name; its guidance input (absent in the teacher)
// keeps its zero start.
void copy_shared_weights(torch::nn::Module& teacher, torch::nn::Module& student) {
  torch::NoGradGuard no_grad;
  const auto from = teacher.named_parameters();
  for (auto& p : student.named_parameters())
    if (const torch::Tensor* w = from.find(p.key())) p.value().copy_(*w);
}

}  // namespace

DistillTrainer::DistillTrainer(DistillConfig config, DiffusionTrainer& teacher, const std::string& teacher_name,
                               std::string dataset_spec, const std::string& teacher_sampler, int teacher_steps)
    : Trainer(config.seed, "distilled student"),
      config_(std::move(config)),
      teacher_(teacher),
      dataset_spec_(std::move(dataset_spec)) {
  const DiffusionConfig& tc = teacher.config();
  if (tc.unet.classes == 0) throw std::invalid_argument("distillation needs a class-conditional (guided) teacher");
  if (tc.distilled.steps > 0) throw std::invalid_argument(teacher_name + " is a student already: distil its teacher");
  parse_sampler(teacher_sampler);
  if (config_.trajectories < 1) throw std::invalid_argument("--trajectories must be at least 1");
  if (!(config_.w_max > 0 && config_.w_max <= 20)) throw std::invalid_argument("--w-max is not in (0, 20]");
  student_config_ = tc;
  student_config_.unet.guidance_input = true;
  student_config_.learning_rate = config_.learning_rate;
  student_config_.batch_size = config_.batch_size;
  student_config_.ema_decay = config_.ema_decay;
  student_config_.seed = config_.seed;
  student_config_.distilled = {config_.steps, teacher_name, teacher_sampler, teacher_steps, config_.w_max};
  student_config_ = DiffusionConfig::from_json(student_config_.to_json());  // validates steps against the run
  teacher_grid_ = sampling_timesteps(tc.T, teacher_steps);
  student_grid_ = sampling_timesteps(tc.T, config_.steps);
  const int r = teacher_steps / config_.steps;
  for (int j = 0; j < config_.steps; ++j)
    if (student_grid_[size_t(j)] != teacher_grid_[size_t(j * r)])
      throw std::invalid_argument("the student's grid is not every " + std::to_string(r) + "th teacher step");
  {
    RandomStream::Scope scope(rng_);
    net_ = UNet(student_config_.unet);
    ema_ = UNet(student_config_.unet);
  }
  copy_shared_weights(*teacher.ema(), *net_);
  copy_weights(*net_, *ema_);
  remember_weights();
  reset_optimizers();
}

void DistillTrainer::reset_optimizers() {
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(config_.learning_rate));
}

bool DistillTrainer::record_trajectories(const std::function<bool(int, int)>& progress, int chunk) {
  torch::NoGradGuard no_grad;
  const DiffusionConfig& tc = teacher_.config();
  const int n = config_.trajectories, k = config_.steps, c = tc.unet.channels, size = tc.unet.image_size;
  const int r = int(teacher_grid_.size()) / k;
  const SamplerKind sampler = parse_sampler(student_config_.distilled.sampler);
  xs_ = torch::empty({n, k + 1, c, size, size});
  // Their own generator: the runs are the same whatever the training stream has drawn.
  auto gen = at::detail::createCPUGenerator(config_.seed * 1000003ull + 17);
  labels_ = torch::randint(tc.unet.classes, {n}, gen, torch::TensorOptions().dtype(torch::kLong));
  scales_ = torch::rand({n}, gen) * config_.w_max;
  UNet teacher = teacher_.ema();
  teacher->eval();
  recorded_ = 0;
  for (int first = 0; first < n; first += chunk) {
    const int count = std::min(chunk, n - first);
    auto x = on_device(
        seeded_noise(config_.seed * 7919 + uint64_t(first), count, c * size * size).view({count, c, size, size}));
    const torch::Tensor cond = on_device(labels_.narrow(0, first, count));
    const torch::Tensor w = on_device(scales_.narrow(0, first, count).view({count, 1, 1, 1}));
    const auto null_labels = on_device(torch::full({count}, tc.unet.classes, torch::kLong));
    // The teacher's guided prediction with each run's own w: cond and uncond as one batch.
    const Denoiser guided = [&](const torch::Tensor& x_t, int t) {
      auto both_x = torch::cat({x_t, x_t});
      auto steps = on_device(torch::full({2 * count}, t - 1, torch::kLong));
      auto classes = torch::cat({cond, null_labels});
      auto both = run_in_halves(2 * count, [&](int64_t f, int64_t m) {
        return teacher->forward(both_x.narrow(0, f, m), steps.narrow(0, f, m), classes.narrow(0, f, m));
      });
      auto parts = both.chunk(2, 0);
      return parts[1] + w * (parts[0] - parts[1]);
    };
    xs_.select(1, 0).narrow(0, first, count).copy_(x);
    sample_timesteps(sampler, teacher_.schedule(), guided, x, teacher_grid_, 0.0, config_.seed + uint64_t(first),
                     [&](const SamplerStep& step) {
                       if ((step.index + 1) % r == 0)
                         xs_.select(1, (step.index + 1) / r).narrow(0, first, count).copy_(step.x_next);
                       return true;
                     },
                     1.0);
    recorded_ = first + count;
    if (progress && !progress(recorded_, n)) return false;
  }
  return true;
}

float DistillTrainer::train_once() {
  if (recorded_ < config_.trajectories) throw std::logic_error("record the teacher's runs before training the student");
  RandomStream::Scope scope(rng_);
  net_->train();
  const int64_t b = config_.batch_size;
  const int k = config_.steps;
  auto run = own_rows(torch::randint(recorded_, {b}, torch::kLong));
  auto step = own_rows(torch::randint(k, {b}, torch::kLong));
  const int64_t m = run.size(0);
  auto pairs = xs_.index_select(0, run);  // m x (k + 1) x C x H x W
  auto pick = [&](const torch::Tensor& offset) {
    return pairs.gather(1, offset.view({m, 1, 1, 1, 1}).expand({m, 1, pairs.size(2), pairs.size(3), pairs.size(4)}))
        .squeeze(1);
  };
  auto x = pick(step), x_next = pick(step + 1);
  // Each row's target eps: the DDIM step from its t to the next student timestep (0 at the end).
  auto target = torch::empty_like(x);
  auto t = torch::empty({m}, torch::kLong);
  for (int j = 0; j < k; ++j) {
    auto rows = (step == j).nonzero().squeeze(1);
    if (rows.numel() == 0) continue;
    const int from = student_grid_[size_t(j)], to = j + 1 < k ? student_grid_[size_t(j + 1)] : 0;
    target.index_copy_(0, rows, ddim_eps_towards(teacher_.schedule(), x.index_select(0, rows), from, to,
                                                 x_next.index_select(0, rows)));
    t.index_fill_(0, rows, from - 1);
  }
  target = on_device(target);
  auto eps = net_->forward(on_device(x), on_device(t),
                           on_device(labels_.index_select(0, run)), on_device(scales_.index_select(0, run)));
  auto loss = (eps - target).pow(2).mean();
  last_loss_ = update_followed(loss, *optimizer_, *net_, *ema_, config_.ema_decay);
  return last_loss_;
}

double DistillTrainer::epoch() const {
  return double(step_) * config_.batch_size / (double(config_.trajectories) * config_.steps);
}

void DistillTrainer::check_same_model(const std::string& path) const {
  DiffusionConfig saved = read_diffusion_config(path);
  if (saved.unet.to_json() != student_config_.unet.to_json() || saved.distilled.steps != config_.steps)
    throw CheckpointError(path + ": holds another model than a " + std::to_string(config_.steps) + "-step student of this teacher");
}

}  // namespace genlab
