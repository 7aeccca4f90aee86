#include "core/labs/diffusion_lab.h"

#include <chrono>

#include "core/diffusion/diffusion_trainer.h"
#include "core/diffusion/samplers.h"
#include "core/labs/tensors.h"

namespace genlab {

struct DiffusionLab::State {
  std::unique_ptr<DiffusionTrainer> trainer;
};

DiffusionLab::DiffusionLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
DiffusionLab::~DiffusionLab() = default;

void DiffusionLab::load(const std::string& path) {
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    DiffusionConfig config = read_diffusion_config(path);
    auto open = session_.dataset().get();
    // The net needs the image shape only; class names come from the open data set when it fits.
    auto shape_only = blank_dataset(config.unet.channels, config.unet.image_size, config.unet.image_size,
                                    config.unet.classes);
    if (open && int(open->value.data->class_names.size()) == config.unet.classes)
      shape_only->class_names = open->value.data->class_names;
    auto trainer = std::make_unique<DiffusionTrainer>(config, shape_only);
    trainer->resume(path);
    DiffusionModelView view{true, path, trainer->step(), config.unet.classes, config.T, shape_only->class_names};
    state_->trainer = std::move(trainer);
    model_.publish(std::move(view));
  });
}

void DiffusionLab::sample(const SamplingParams& params) {
  const auto asked = std::chrono::steady_clock::now();
  session_.worker().request("diffusion.sample", [this, params, asked](JobContext& ctx) {
    DiffusionTrainer* trainer = state_->trainer.get();
    if (!trainer) throw std::runtime_error("no diffusion model yet: load one (genlab-cli train --model ddpm)");
    const DiffusionConfig& config = trainer->config();
    const SamplerKind kind = parse_sampler(params.sampler);
    if (params.steps < 1 || params.steps > config.T)
      throw std::invalid_argument("steps " + std::to_string(params.steps) + " is not in 1.." + std::to_string(config.T));
    const int classes = config.unet.classes, n = std::clamp(params.n, 1, 64);
    torch::Tensor labels;
    if (classes > 0)
      labels = params.label >= 0 ? torch::full({n}, std::min(params.label, classes - 1), torch::kLong)
                                 : torch::arange(n, torch::kLong).remainder(classes);
    const int size = config.unet.image_size, c = config.unet.channels;
    auto x_T = seeded_noise(params.seed, n, c * size * size).view({n, c, size, size});
    SamplingView view;
    view.params = params;
    view.total = params.steps;
    const int cols = std::min(n, 10);
    auto seconds = [&asked] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count(); };
    auto display = [cols](const torch::Tensor& x) { return tensor_grid((x.clamp(-1, 1) + 1) * 0.5, cols); };
    genlab::sample(kind, trainer->schedule(), trainer->denoiser(labels, params.cfg), x_T, params.steps, params.eta,
           at::detail::createCPUGenerator(params.seed + 1),
           [&](const SamplerStep& step) {
             if (ctx.cancelled()) return false;  // a newer request: stop within this step
             view.frames.push_back(std::make_shared<const SamplingStepFrame>(
                 SamplingStepFrame{step.t, step.t_next, display(step.x_next), display(step.x0)}));
             if (view.frames.size() == 1) view.seconds_first = seconds();
             view.seconds_last = seconds();
             view.done = int(view.frames.size()) == params.steps;
             sampling_.publish(view);
             return true;
           },
           1.0);
  });
}

void DiffusionLab::forward_process(int64_t index, int t, BetaSchedule schedule, uint64_t seed) {
  session_.worker().request("diffusion.forward", [this, index, t, schedule, seed](JobContext& ctx) {
    auto open = session_.dataset().get();
    if (!open) throw std::runtime_error("open a data set first");
    const Dataset& d = *open->value.data;
    if (index < 0 || index >= d.test.count) throw std::out_of_range("test image " + std::to_string(index) + " does not exist");
    const NoiseSchedule sch = NoiseSchedule::make(schedule);
    if (t < 0 || t > sch.T) throw std::out_of_range("t " + std::to_string(t) + " is not in 0.." + std::to_string(sch.T));
    torch::NoGradGuard no_grad;
    auto bytes = torch::from_blob(const_cast<uint8_t*>(d.image(Split::Test, index)), {d.channels, d.height, d.width},
                                  torch::kUInt8);
    auto x0 = bytes.to(torch::kFloat) / 127.5 - 1;
    auto gen = at::detail::createCPUGenerator(seed);
    auto eps = at::randn(x0.sizes(), gen);
    auto chain = x0.clone();
    for (int u = 1; u <= t; ++u) {
      if (u % 100 == 0 && ctx.cancelled()) return;  // a newer t is waiting
      const double beta = sch.beta[size_t(u - 1)];
      chain = std::sqrt(1 - beta) * chain + std::sqrt(beta) * at::randn(x0.sizes(), gen);
    }
    ForwardProcessView out;
    out.index = index;
    out.t = t;
    out.schedule = schedule;
    out.x0 = tensor_image(x0);
    out.noise = tensor_image(eps);
    out.jump = tensor_image(forward_jump(sch, x0, t, eps));
    out.chain = tensor_image(chain);
    out.alpha_bar = sch.alpha_bar_at(t);
    out.signal = sch.signal(t);
    out.noise_scale = sch.noise(t);
    forward_.publish(std::move(out));
  });
}

}  // namespace genlab
