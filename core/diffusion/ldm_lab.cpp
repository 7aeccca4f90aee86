#include "core/diffusion/ldm_lab.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>

#include "core/compute/timing.h"
#include "core/diffusion/ldm_trainer.h"
#include "core/diffusion/samplers.h"
#include "core/diffusion/sampling_params.h"
#include "core/io/tensors.h"

namespace genlab {

struct LdmLab::State {
  std::unique_ptr<LdmTrainer> trainer;
};

LdmLab::LdmLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
LdmLab::~LdmLab() = default;

namespace {

using Clock = std::chrono::steady_clock;

LdmTrainer& loaded(const std::unique_ptr<LdmTrainer>& trainer) {
  if (!trainer) throw std::runtime_error("no text-to-image model yet: load one (genlab-cli train --model ldm)");
  return *trainer;
}

PromptModelView model_view(const LdmTrainer& t, const std::string& path) {
  const LdmConfig& c = t.config();
  PromptModelView v;
  v.exists = true;
  v.checkpoint = path;
  v.autoencoder = c.autoencoder;
  v.step = t.step();
  v.T = c.T;
  v.scale_factor = c.scale_factor;
  v.latent_channels = c.unet.latent_channels;
  v.latent_size = c.unet.latent_size;
  v.image_size = c.ae.image_size;
  v.max_tokens = c.text.max_tokens;
  v.vocabulary = t.vocabulary().words();
  for (const Attribute& a : attributes()) v.attributes.push_back({a.name, a.low, a.high, a.measure});
  v.class_names = c.captions.class_names;
  for (const AttributeValues& row : c.captions.thresholds) v.thresholds.emplace_back(row.begin(), row.end());
  for (const HeldOutPair& p : c.captions.held_out) v.held_out.push_back(c.captions.pair_text(p));
  return v;
}

}  // namespace

void LdmLab::load(const std::string& path) {
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    auto trainer = open_ldm(path);  // a klae, or another family's file, is refused naming it
    model_.publish(model_view(*trainer, path));
    state_->trainer = std::move(trainer);
  });
}

void LdmLab::sample(const PromptParams& params) {
  const auto asked = Clock::now();
  session_.worker().request("ldm.sample", [this, params, asked](JobContext& ctx) {
    LdmTrainer& trainer = loaded(state_->trainer);
    const LdmConfig& c = trainer.config();
    const SamplerKind kind = parse_sampler(params.sampler);
    check_sampling_params(SamplingParams{params.sampler, params.steps, params.cfg, 0.0, -1, params.seed, 1}, c.T, 0);
    if (params.n < 1 || params.n > 16) throw std::invalid_argument("n " + std::to_string(params.n) + " is not in 1..16");
    const Tokens tokens = trainer.vocabulary().encode(params.prompt, c.text.max_tokens);
    require_known_words(tokens, params.prompt);
    const Tokens negative = trainer.vocabulary().encode(params.negative, c.text.max_tokens);
    require_known_words(negative, params.negative);
    PromptRunView view;
    view.params = params;
    view.tokens.push_back(trainer.vocabulary().word(Vocabulary::kStart));
    view.tokens.insert(view.tokens.end(), tokens.words.begin(), tokens.words.end());
    view.note = tokens.note(c.text.max_tokens);
    view.negative_note = negative.note(c.text.max_tokens);
    view.total = params.steps;
    const int n = params.n, s = c.unet.latent_size, ch = c.unet.latent_channels, used = int(tokens.ids.size());
    auto z_T = seeded_noise(params.seed, n, ch * s * s).view({n, ch, s, s});
    auto attention = std::make_shared<torch::Tensor>();
    const Denoiser denoise = trainer.denoiser(trainer.prompt_ids(std::vector<std::string>(size_t(n), params.prompt)),
                                              trainer.prompt_ids(std::vector<std::string>(size_t(n), params.negative)),
                                              params.cfg, attention);
    const int cols = std::min(n, 8);
    auto seconds = [&asked] { return std::chrono::duration<double>(Clock::now() - asked).count(); };
    genlab::sample(kind, trainer.schedule(), denoise, z_T, params.steps, 0.0, params.seed + 1,
           [&](const SamplerStep& step) {
             if (ctx.cancelled()) return false;  // a newer prompt or setting: stop within this step
             PromptStepFrame frame;
             frame.t = step.t;
             frame.t_next = step.t_next;
             frame.latent = tensor_grid(((step.x_next.clamp(-3, 3) + 3) / 6).reshape({n * ch, 1, s, s}), ch);
             frame.decoded = tensor_grid(trainer.decode(step.x_next).clamp(0, 1), cols);
             frame.decoded_x0 = tensor_grid(trainer.decode(step.x0).clamp(0, 1), cols);
             auto maps = attention->slice(1, 0, used).contiguous();
             frame.attention.assign(maps.data_ptr<float>(), maps.data_ptr<float>() + maps.numel());
             frame.tokens = used;
             frame.map_size = s;
             view.frames.push_back(std::make_shared<const PromptStepFrame>(std::move(frame)));
             if (view.frames.size() == 1) view.seconds_first = seconds();
             view.seconds_last = seconds();
             view.done = int(view.frames.size()) == view.total;
             run_.publish(view);
             return true;
           },
           0);
  });
}

namespace {

// Bytes malloc holds now: what a forward pass adds is what autograd keeps for backward.
double heap_mb() {
  const struct mallinfo2 m = mallinfo2();
  return double(m.uordblks + m.hblkhd) / (1024.0 * 1024.0);
}

double median_ms(int repeats, const std::function<void()>& work) { return 1e3 * median_seconds(repeats, 1, 1, work); }

// Training (forward, backward, Adam at batch 64) and guided sampling steps of one denoiser. `eps`
// runs the net on a batch of b inputs.
DiffusionCost measure(const std::string& name, torch::nn::Module& net, int64_t values,
                      const std::function<torch::Tensor(int64_t b)>& eps, const std::function<torch::Tensor(int64_t b)>& noise) {
  DiffusionCost row;
  row.name = name;
  row.values_per_image = values;
  for (const auto& p : net.parameters()) row.parameters += p.numel();
  torch::optim::Adam adam(net.parameters(), torch::optim::AdamOptions(1e-4));
  net.train();
  row.train_images_per_s = 64e3 / median_ms(5, [&] {
    auto loss = (eps(64) - noise(64)).pow(2).mean();
    adam.zero_grad();
    loss.backward();
    adam.step();
  });
  {
    const double before = heap_mb();
    auto out = eps(64);
    row.activation_mb_batch64 = std::max(0.0, heap_mb() - before);
  }
  net.eval();
  torch::NoGradGuard no_grad;
  row.step_ms_batch1 = median_ms(9, [&] { eps(2); });  // guided: the prompt and the negative as one batch
  row.step_ms_batch64 = median_ms(5, [&] { eps(128); });
  return row;
}

}  // namespace

void LdmLab::measure_cost() {
  session_.worker().submit("measure pixel vs latent cost", [this](JobContext& ctx) {
    LdmTrainer& trainer = loaded(state_->trainer);
    const LdmConfig& c = trainer.config();
    CostView view;
    // Fresh nets of the shipped shapes: timing and memory do not depend on the weights.
    UNet pixel(UNetConfig{});
    const int size = c.ae.image_size, s = c.unet.latent_size, lc = c.unet.latent_channels;
    view.rows.push_back(measure("pixel U-Net (class-guided)", *pixel, int64_t(c.ae.channels) * size * size,
                                [&](int64_t b) {
                                  return pixel->forward(torch::randn({b, c.ae.channels, size, size}),
                                                        torch::randint(0, 1000, {b}, torch::kLong),
                                                        torch::randint(0, 11, {b}, torch::kLong));
                                },
                                [&](int64_t b) { return torch::randn({b, c.ae.channels, size, size}); }));
    cost_.publish(view);
    if (ctx.cancelled()) return;
    LdmNet latent(c.text, c.unet, trainer.schedule());
    auto ids = trainer.prompt_ids({"a dark wide pullover"});
    view.rows.push_back(measure("latent U-Net + text encoder", *latent, int64_t(lc) * s * s,
                                [&](int64_t b) {
                                  return latent->forward(torch::randn({b, lc, s, s}), torch::randint(0, 1000, {b}, torch::kLong),
                                                         ids.expand({b, ids.size(1)}));
                                },
                                [&](int64_t b) { return torch::randn({b, lc, s, s}); }));
    auto z = torch::randn({64, lc, s, s});
    view.decode_ms_batch64 = median_ms(5, [&] { trainer.decode(z); });
    view.done = true;
    cost_.publish(view);
  });
}

}  // namespace genlab
