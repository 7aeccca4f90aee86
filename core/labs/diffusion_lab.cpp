#include "core/labs/diffusion_lab.h"

#include "core/diffusion/samplers.h"
#include "core/labs/tensors.h"

namespace genlab {

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
