#include "core/vae/vae_lab.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/lab/lab_training.h"
#include "core/train/history.h"
#include "core/lab/quality_job.h"
#include "core/metrics/sample_quality.h"
#include "core/io/tensors.h"
#include "core/vae/vae_trainer.h"

namespace genlab {

namespace {

constexpr double kLog2Pi = 1.8378770664093453;
constexpr int kFixedBatch = 16;      // test images shown beside their reconstructions
constexpr int kKlImages = 500;       // test images behind the per-dimension KL bars
constexpr int kTestImages = 2000;    // test images behind the per-epoch test loss

int slot_of(AutoencoderKind kind) { return int(kind); }

using Clock = std::chrono::steady_clock;

}  // namespace

struct VaeLab::State {
  std::unique_ptr<VaeTrainer> trainer[kAutoencoderKinds];
  VaeModelView view[kAutoencoderKinds];
  torch::Tensor fixed_indices;  // test images for the reconstruction panel
  // The newest request of each view, so training can redraw them as the weights change.
  std::function<void()> redraw_decode, redraw_manifold, redraw_interpolation, redraw_prior, redraw_map, redraw_compare;

  VaeLabView lab_view() const {
    VaeLabView out;
    for (int k = 0; k < kAutoencoderKinds; ++k) out.slot[k] = view[k];
    return out;
  }

  // Redraws the given views; one that fails (its request no longer fits the model) is dropped
  // rather than stopping the training that called it.
  void redraw(std::initializer_list<std::function<void()> State::*> views) {
    for (auto view : views) {
      if (!(this->*view)) continue;
      try {
        (this->*view)();
      } catch (const std::exception&) {
        this->*view = nullptr;
      }
    }
  }

  VaeTrainer& trainer_for(AutoencoderKind kind) {
    auto& t = trainer[slot_of(kind)];
    if (!t) throw std::runtime_error(std::string("no ") + kind_name(kind) + " yet: create or load one first");
    return *t;
  }
};

VaeLab::VaeLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
VaeLab::~VaeLab() = default;

std::vector<UnsavedTraining> VaeLab::unsaved_training() const {
  std::vector<UnsavedTraining> out;
  if (auto v = view_.get())
    for (const VaeModelView& m : v->value.slot)
      if (m.exists)
        for (UnsavedTraining& u : m.saved.unsaved(kind_title(m.config.kind), m.step))
          out.push_back(std::move(u));
  return out;
}

std::vector<std::string> VaeLab::open_checkpoints() const {
  std::vector<std::string> out;
  if (auto v = view_.get())
    for (const VaeModelView& m : v->value.slot)
      if (m.exists && !m.saved.checkpoint.empty()) out.push_back(m.saved.checkpoint);
  return out;
}

namespace {

// Fills the slot's derived views: reconstructions of the fixed batch, KL per dimension.
void refresh_model_view(VaeTrainer& t, VaeModelView& v, const torch::Tensor& fixed_indices) {
  torch::NoGradGuard no_grad;
  t.model()->eval();
  auto x = t.images(Split::Test, fixed_indices);
  auto [mu, logvar] = t.model()->encode(x);
  v.originals = tensor_grid(x, 8);
  v.reconstructions = tensor_grid(t.model()->decode(mu), 8);
  const int64_t n = std::min<int64_t>(kKlImages, t.data().test.count);
  auto kl_x = t.images(Split::Test, torch::arange(n));
  auto [kl_mu, kl_logvar] = t.model()->encode(kl_x);
  v.kl_per_dim = variational(t.config().kind) ? to_vector(gaussian_kl(kl_mu, kl_logvar).mean(0))
                                                          : std::vector<float>(size_t(t.config().latent), 0.f);
  v.dims_by_kl.resize(v.kl_per_dim.size());
  std::iota(v.dims_by_kl.begin(), v.dims_by_kl.end(), 0);
  if (variational(t.config().kind))
    std::stable_sort(v.dims_by_kl.begin(), v.dims_by_kl.end(),
                     [&](int a, int b) { return v.kl_per_dim[size_t(a)] > v.kl_per_dim[size_t(b)]; });
  v.exists = true;
  v.config = t.config();
  v.dataset = t.data().spec;
  v.step = t.step();
  v.epoch = t.epoch();
  v.steps_per_epoch = t.steps_per_epoch();
}

}  // namespace

namespace {

// The data set open when the job runs: jobs run in order, so one queued after a load sees it.
DatasetPtr open_data(Session& session) {
  auto open = session.dataset().get();
  if (!open) throw std::runtime_error("open a data set first");
  return open->value.data;
}

}  // namespace

void VaeCurveRecorder::add(const VaeLosses& l) {
  const float a = first_ ? 1.f : 0.05f;
  first_ = false;
  smooth_ = {l.step, smooth_.recon + a * (l.recon - smooth_.recon), smooth_.kl + a * (l.kl - smooth_.kl),
             smooth_.total + a * (l.total - smooth_.total)};
  if (l.step % stride_ == 0) curve_.push_back(smooth_);
  if (thin_history(curve_)) stride_ *= 2;
}

namespace {

const std::vector<std::string> kVaeColumns = {"step", "recon", "kl", "total"};

nlohmann::json vae_curve(const std::vector<VaeLosses>& points) {
  return curve_json(points, kVaeColumns, [](const VaeLosses& l) {
    return std::vector<double>{double(l.step), l.recon, l.kl, l.total};
  });
}

std::vector<VaeLosses> vae_points(const nlohmann::json& curve) {
  return curve_points<VaeLosses>(curve, kVaeColumns.size(), [](const std::vector<double>& r) {
    return VaeLosses{int64_t(r[0]), float(r[1]), float(r[2]), float(r[3])};
  });
}

}  // namespace

std::string vae_curves_json(const std::vector<VaeLosses>& train, const std::vector<VaeLosses>& test) {
  return nlohmann::json{{"train", vae_curve(train)}, {"test", vae_curve(test)}}.dump();
}

void read_vae_curves(const std::string& metadata_json, std::vector<VaeLosses>& train, std::vector<VaeLosses>& test) {
  nlohmann::json history = saved_history(metadata_json);
  if (!history.is_object()) return;
  train = vae_points(history.value("train", nlohmann::json()));
  test = vae_points(history.value("test", nlohmann::json()));
}

namespace {

// The checkpoint with the newest test losses as its metrics (the save button and the autosave).
void save_model(VaeTrainer& t, const VaeModelView& v, const std::string& path) {
  nlohmann::json metrics = nlohmann::json::object();
  if (!v.test.empty()) metrics["test"] = {{"recon", v.test.back().recon}, {"kl", v.test.back().kl}, {"total", v.test.back().total}};
  t.save(path, metrics.dump(), vae_curves_json(v.train, v.test));
}

}  // namespace

void VaeLab::new_model(const VaeConfig& config) {
  session_.worker().submit(std::string("new ") + kind_name(config.kind), [this, config](JobContext&) {
    DatasetPtr data = open_data(session_);
    if (data->test.count == 0) throw std::runtime_error(data->source + ": the VAE lab needs test images");
    State& s = *state_;
    const int slot = slot_of(config.kind);
    s.trainer[slot] = std::make_unique<VaeTrainer>(config, data);
    s.view[slot] = VaeModelView{};
    s.view[slot].id = next_stamp();
    s.fixed_indices = varied_test_indices(*data, kFixedBatch);
    refresh_model_view(*s.trainer[slot], s.view[slot], s.fixed_indices);
    view_.publish(s.lab_view());
  });
}

void VaeLab::train(AutoencoderKind kind, double epochs) {
  session_.worker().submit(std::string("train ") + kind_name(kind), [this, kind, epochs](JobContext& ctx) {
    State& s = *state_;
    VaeTrainer& t = s.trainer_for(kind);
    VaeModelView& v = s.view[slot_of(kind)];
    const int64_t start = t.step();
    const int64_t target = start + std::max<int64_t>(1, int64_t(std::ceil(epochs * double(t.steps_per_epoch()))));
    auto last_publish = Clock::now(), last_redraw = Clock::now(), last_map = Clock::now();
    auto t0 = Clock::now();
    VaeCurveRecorder curve(v.train);
    auto publish = [&] { view_.publish(s.lab_view()); };
    LabTraining run;
    run.file = kind_name(kind);
    run.steps = target - start;
    run.step = [&] {
      float lr = learning_rate_.exchange(-1.f), beta = beta_.exchange(-1.f);
      if (lr > 0) t.set_learning_rate(lr);
      if (beta >= 0) t.set_beta(beta);
      {
        std::lock_guard<std::mutex> lock(gan_weights_mutex_);
        if (!gan_weights_.empty() && kind == AutoencoderKind::VAEGAN)
          t.set_gan_weights(gan_weights_[0], gan_weights_[1], gan_weights_[2]);
        gan_weights_.clear();
      }
      VaeStepLosses l = t.train_step();
      v.last = {t.step(), l.recon, l.kl, l.total};
      v.feature = l.feature, v.adversarial = l.adversarial, v.d_loss = l.d_loss, v.d_real = l.d_real, v.d_fake = l.d_fake;
      curve.add(v.last);
      const bool epoch_end = t.step() % t.steps_per_epoch() == 0 || t.step() == target;
      if (epoch_end) {
        VaeStepLosses test = t.test_losses(kTestImages);
        v.test.push_back({t.step(), test.recon, test.kl, test.total});
      }
      auto now = Clock::now();
      if (epoch_end || now - last_publish > std::chrono::milliseconds(250)) {
        v.images_per_s = double(t.step() - start) * t.config().batch_size /
                         std::chrono::duration<double>(now - t0).count();
        refresh_model_view(t, v, s.fixed_indices);
        publish();
        last_publish = now;
      }
      if (now - last_redraw > std::chrono::milliseconds(400)) {
        s.redraw({&State::redraw_decode, &State::redraw_manifold, &State::redraw_interpolation, &State::redraw_prior,
                  &State::redraw_compare});
        last_redraw = now;
      }
      if (now - last_map > std::chrono::seconds(2)) {
        s.redraw({&State::redraw_map});
        last_map = now;
      }
    };
    run.write = [&](const std::string& path) { save_model(t, v, path); };
    run.saved = &v.saved;
    run.save_later = [this, kind](const std::string& path) { save(kind, path); };
    run.publish = [&] {
      refresh_model_view(t, v, s.fixed_indices);
      publish();
    };
    run_lab_training(ctx, session_, saves_, t, run);
    refresh_model_view(t, v, s.fixed_indices);
    publish();
    s.redraw({&State::redraw_decode, &State::redraw_manifold, &State::redraw_interpolation, &State::redraw_prior,
              &State::redraw_map, &State::redraw_compare});
  });
}

void VaeLab::save(AutoencoderKind kind, const std::string& path) {
  if (saves_.post(kind_name(kind), path)) return;  // its training job writes it at the next step
  session_.worker().submit("save " + path, [this, kind, path](JobContext&) {
    State& s = *state_;
    VaeTrainer& t = s.trainer_for(kind);
    VaeModelView& v = s.view[slot_of(kind)];
    save_as(v.saved, t, [&](const std::string& to) { save_model(t, v, to); }, path);
    view_.publish(s.lab_view());
  });
}

void VaeLab::load(const std::string& path) {
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    DatasetPtr data = open_data(session_);
    VaeConfig config = read_vae_config(path);
    if (config.channels != data->channels || config.height != data->height || config.width != data->width)
      throw CheckpointError(path + ": made for " + std::to_string(config.channels) + "x" + std::to_string(config.height) +
                            "x" + std::to_string(config.width) + " images, the open data set has " +
                            std::to_string(data->channels) + "x" + std::to_string(data->height) + "x" +
                            std::to_string(data->width));
    auto trainer = std::make_unique<VaeTrainer>(config, data);
    const std::string metadata = trainer->resume(path);
    State& s = *state_;
    const int slot = slot_of(config.kind);
    s.trainer[slot] = std::move(trainer);
    s.view[slot] = VaeModelView{};
    s.view[slot].id = next_stamp();
    s.view[slot].saved.saved_at(path, s.trainer[slot]->step());
    s.fixed_indices = varied_test_indices(*data, kFixedBatch);
    // The curves it was trained with, then its test figures now.
    read_vae_curves(metadata, s.view[slot].train, s.view[slot].test);
    VaeStepLosses test = s.trainer[slot]->test_losses(kTestImages);
    if (s.view[slot].test.empty() || s.view[slot].test.back().step != s.trainer[slot]->step())
      s.view[slot].test.push_back({s.trainer[slot]->step(), test.recon, test.kl, test.total});
    s.view[slot].last = s.view[slot].test.back();
    refresh_model_view(*s.trainer[slot], s.view[slot], s.fixed_indices);
    view_.publish(s.lab_view());
  });
}

uint64_t VaeLab::request_live(const char* key, std::function<void()> State::*slot, Redraw draw) {
  return session_.worker().request(key, [this, slot, draw = std::move(draw)](JobContext& ctx) {
    const uint64_t request = ctx.request_stamp();
    state_.get()->*slot = [draw, request] { draw(request); };
    draw(request);
  });
}

namespace {

// The image of one code (1 x latent), with the code's prior density: what the sliders show.
LatentDecode decode_code(VaeTrainer& t, AutoencoderKind kind, const torch::Tensor& code) {
  torch::NoGradGuard no_grad;
  t.model()->eval();
  LatentDecode out;
  out.kind = kind;
  out.z = to_vector(code);
  out.image = tensor_image(t.model()->decode(code)[0]);
  out.neg_log_prior = 0.5 * code.pow(2).sum().item<double>() + 0.5 * double(code.size(1)) * kLog2Pi;
  return out;
}

}  // namespace

namespace {

// The sliders' values as a 1 x latent code: cut to the model's size, or padded with zeros.
torch::Tensor slider_code(const VaeTrainer& t, const std::vector<float>& z) {
  auto code = from_vector(z).slice(1, 0, t.config().latent);
  if (code.size(1) < t.config().latent) code = torch::cat({code, torch::zeros({1, t.config().latent - code.size(1)})}, 1);
  return code;
}

}  // namespace

uint64_t VaeLab::decode(AutoencoderKind kind, const std::vector<float>& z) {
  return request_live("vae.decode", &State::redraw_decode, [this, kind, z](uint64_t request) {
    VaeTrainer& t = state_->trainer_for(kind);
    LatentDecode out = decode_code(t, kind, slider_code(t, z));
    out.request = request;
    decoded_.publish(std::move(out));
  });
}

void VaeLab::inspect_layers(AutoencoderKind kind, const std::vector<float>& z, int layer) {
  session_.worker().request("vae.layers", [this, kind, z, layer](JobContext&) {
    VaeTrainer& t = state_->trainer_for(kind);
    const auto t0 = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    t.model()->eval();
    LayerView out = layer_view(t.model()->decoder_activations(slider_code(t, z)), layer);
    out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    layers_.publish(std::move(out));
  });
}

namespace {

// The code of one image (1 x C x H x W): mu fills the sliders; sigma and the KL say how sure it is.
LatentDecode encode_one(VaeTrainer& t, AutoencoderKind kind, const torch::Tensor& x, int64_t source_index) {
  torch::NoGradGuard no_grad;
  t.model()->eval();
  auto [mu, logvar] = t.model()->encode(x);
  LatentDecode out = decode_code(t, kind, mu);
  out.from_encoding = true;
  out.source_index = source_index;
  if (variational(kind)) {
    out.sigma = to_vector(torch::exp(0.5 * logvar));
    out.kl = gaussian_kl(mu, logvar).sum().item<double>();
  }
  return out;
}

}  // namespace

void VaeLab::encode_test_image(AutoencoderKind kind, int64_t index) {
  session_.worker().request("vae.decode", [this, kind, index](JobContext&) {
    VaeTrainer& t = state_->trainer_for(kind);
    if (index < 0 || index >= t.data().test.count)
      throw std::out_of_range("test image " + std::to_string(index) + " does not exist");
    decoded_.publish(encode_one(t, kind, t.images(Split::Test, torch::tensor({index})), index));
    state_->redraw_decode = nullptr;  // the sliders now hold this code; they ask again when moved
  });
}

void VaeLab::encode_image(AutoencoderKind kind, const ImageBuffer& image) {
  session_.worker().request("vae.decode", [this, kind, image](JobContext&) {
    VaeTrainer& t = state_->trainer_for(kind);
    const VaeConfig& c = t.config();
    if (image.channels != c.channels || image.height != c.height || image.width != c.width)
      throw std::invalid_argument("the image is " + std::to_string(image.channels) + "x" + std::to_string(image.height) +
                                  "x" + std::to_string(image.width) + ", the model takes " + std::to_string(c.channels) +
                                  "x" + std::to_string(c.height) + "x" + std::to_string(c.width));
    decoded_.publish(encode_one(t, kind, image_tensor(image), -1));
    state_->redraw_decode = nullptr;
  });
}

void VaeLab::manifold(AutoencoderKind kind, int dim_x, int dim_y, float range, int n, const std::vector<float>& base) {
  request_live("vae.manifold", &State::redraw_manifold, [this, kind, dim_x, dim_y, range, n, base](uint64_t) {
    VaeTrainer& t = state_->trainer_for(kind);
    const int latent = t.config().latent;
    if (dim_x < 0 || dim_y < 0 || dim_x >= latent || dim_y >= latent || n < 2 || n > 32)
      throw std::invalid_argument("manifold dims or size out of range");
    torch::NoGradGuard no_grad;
    t.model()->eval();
    auto z = torch::zeros({int64_t(n) * n, latent});
    for (int d = 0; d < latent && d < int(base.size()); ++d) z.select(1, d).fill_(base[size_t(d)]);
    auto values = torch::linspace(-range, range, n);
    for (int row = 0; row < n; ++row)
      for (int col = 0; col < n; ++col) {
        z[row * n + col][dim_x] = values[col];
        z[row * n + col][dim_y] = values[n - 1 - row];  // up is positive
      }
    ManifoldView out{kind, dim_x, dim_y, n, range, tensor_grid(t.model()->decode(z), n, 0)};
    manifold_.publish(std::move(out));
  });
}

void VaeLab::interpolate(int64_t a, int64_t b, int steps, bool slerp_mode) {
  request_live("vae.interpolate", &State::redraw_interpolation, [this, a, b, steps, slerp_mode](uint64_t) {
    InterpolationView out{a, b, steps, slerp_mode, {}};
    for (int slot = 0; slot < kAutoencoderKinds; ++slot) {
      auto& t = state_->trainer[slot];
      if (!t) continue;
      if (a < 0 || b < 0 || a >= t->data().test.count || b >= t->data().test.count)
        throw std::out_of_range("interpolation images out of range");
      torch::NoGradGuard no_grad;
      t->model()->eval();
      auto x = t->images(Split::Test, torch::tensor({a, b}));
      auto mu = t->model()->encode(x).first;
      std::vector<torch::Tensor> codes;
      for (int i = 0; i < steps; ++i) {
        double f = steps == 1 ? 0.5 : double(i) / double(steps - 1);
        codes.push_back(slerp_mode ? slerp(mu[0], mu[1], f) : mu[0] * (1 - f) + mu[1] * f);
      }
      auto decoded = t->model()->decode(torch::stack(codes));
      out.strip[slot] = tensor_grid(torch::cat({x.slice(0, 0, 1), decoded, x.slice(0, 1, 2)}), steps + 2);
    }
    interpolation_.publish(std::move(out));
  });
}

void VaeLab::measure_quality(AutoencoderKind kind, const QualityOptions& options) {
  session_.worker().submit("measure VAE", [this, kind, options](JobContext& ctx) {
    VaeTrainer& t = state_->trainer_for(kind);
    run_quality_job(ctx, session_, options, std::string(kind_name(kind)) + " prior samples, z ~ N(0, I)",
                    vae_prior_samples(t), {}, t.step(), quality_);
  });
}

void VaeLab::prior_samples(uint64_t seed, int n) {
  request_live("vae.prior", &State::redraw_prior, [this, seed, n](uint64_t) {
    PriorSamplesView out;
    out.seed = seed;
    for (int slot = 0; slot < kAutoencoderKinds; ++slot) {
      auto& t = state_->trainer[slot];
      if (!t) continue;
      torch::NoGradGuard no_grad;
      t->model()->eval();
      auto gen = at::detail::createCPUGenerator(seed);
      auto z = at::randn({n, t->config().latent}, gen);
      out.samples[slot] = tensor_grid(t->model()->decode(z), 8);
    }
    prior_.publish(std::move(out));
  });
}

void VaeLab::set_gan_weights(float pixel, float feature, float adversarial) {
  std::lock_guard<std::mutex> lock(gan_weights_mutex_);
  gan_weights_ = {pixel, feature, adversarial};
}

void VaeLab::compare(uint64_t seed, int images) {
  request_live("vae.compare", &State::redraw_compare, [this, seed, images](uint64_t) {
    if (images < 16 || images > 5000) throw std::invalid_argument("compare: images " + std::to_string(images) + " is not in 16..5000");
    CompareView out;
    double real_sharpness = 0;  // of the test images, the same for every slot
    for (int slot = 0; slot < kAutoencoderKinds; ++slot) {
      auto& t = state_->trainer[slot];
      if (!t) continue;
      torch::NoGradGuard no_grad;
      t->model()->eval();
      const int64_t n = std::min<int64_t>(images, t->data().test.count);
      auto x = t->images(Split::Test, torch::arange(n));
      if (out.images == 0) {
        out.images = int(n);
        out.originals = tensor_grid(x.slice(0, 0, 16), 4);
        real_sharpness = std::max(1e-12, laplacian_variance(x));
      }
      auto logits = t->model()->decode_logits(t->model()->encode(x).first).view_as(x);
      auto recon = torch::sigmoid(logits);
      auto gen = at::detail::createCPUGenerator(seed);
      auto samples = t->model()->decode(at::randn({n, t->config().latent}, gen)).view_as(x);
      out.reconstructions[slot] = tensor_grid(recon.slice(0, 0, 16), 4);
      out.samples[slot] = tensor_grid(samples.slice(0, 0, 16), 4);
      out.recon_sharpness[slot] = laplacian_variance(recon) / real_sharpness;
      out.sample_sharpness[slot] = laplacian_variance(samples) / real_sharpness;
      out.recon_bce[slot] =
          torch::binary_cross_entropy_with_logits(logits, x, {}, {}, torch::Reduction::Sum).item<double>() / double(n);
    }
    compare_.publish(std::move(out));
  });
}

void VaeLab::latent_map(AutoencoderKind kind, int dim_x, int dim_y, int points) {
  request_live("vae.map", &State::redraw_map, [this, kind, dim_x, dim_y, points](uint64_t) {
    VaeTrainer& t = state_->trainer_for(kind);
    const bool pca = dim_x < 0 && dim_y < 0;
    if (!pca && (dim_x < 0 || dim_y < 0 || dim_x >= t.config().latent || dim_y >= t.config().latent))
      throw std::invalid_argument("latent map dims out of range");
    torch::NoGradGuard no_grad;
    t.model()->eval();
    const int64_t n = std::min<int64_t>(points, t.data().test.count);
    auto mu = t.model()->encode(t.images(Split::Test, torch::arange(n))).first;
    LatentMapView out{kind, dim_x, dim_y, 0.f, {}, {}, {}, {}};
    if (pca) {
      auto centred = mu - mu.mean(0, true);
      auto [u, singular, v] = torch::linalg::svd(centred, /*full_matrices=*/false, c10::nullopt);
      auto projected = centred.matmul(v.slice(0, 0, 2).t());
      out.x = to_vector(projected.select(1, 0));
      out.y = to_vector(projected.select(1, 1));
      auto variance = singular.pow(2);
      out.explained = (variance.slice(0, 0, 2).sum() / variance.sum()).item<float>();
    } else {
      out.x = to_vector(mu.select(1, dim_x));
      out.y = to_vector(mu.select(1, dim_y));
    }
    for (int64_t i = 0; i < n; ++i) {
      out.labels.push_back(t.data().test.labels[size_t(i)]);
      out.indices.push_back(i);
    }
    latent_map_.publish(std::move(out));
  });
}

}  // namespace genlab
