#include "core/vae/vq_lab.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/io/tensors.h"
#include "core/lab/lab_training.h"
#include "core/lab/quality_job.h"
#include "core/train/history.h"
#include "core/vae/vq_trainer.h"

namespace genlab {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFixedBatch = 16;     // test images shown beside their reconstructions
constexpr int kTestImages = 2000;   // test images behind the usage and recon figures

DatasetPtr open_data(Session& session) {
  auto open = session.dataset().get();
  if (!open) throw std::runtime_error("open a data set first");
  return open->value.data;
}

void check_image_size(const VqConfig& c, int channels, int height, int width, const std::string& what) {
  if (channels != c.channels || height != c.height || width != c.width)
    throw std::invalid_argument(what + " is " + std::to_string(channels) + "x" + std::to_string(height) + "x" +
                                std::to_string(width) + ", the VQ-VAE takes " + std::to_string(c.channels) + "x" +
                                std::to_string(c.height) + "x" + std::to_string(c.width));
}

std::vector<int> int_vector(const torch::Tensor& t) {
  auto flat = t.reshape({-1}).to(torch::kLong).contiguous();
  return std::vector<int>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

}  // namespace

struct VqLab::State {
  std::unique_ptr<VqTrainer> vq;
  std::unique_ptr<VqPriorTrainer> prior;
  VqLabView view;
  torch::Tensor fixed_indices;
  // The code map being explored: its source image (1 x C x H x W), the edits (cell -> code) and
  // the newest request's stamp; redrawn as the weights change.
  torch::Tensor map_image;
  int64_t map_index = -1;
  std::map<int, int> edits;
  uint64_t map_request = 0;
  std::vector<float> prior_smooth;  // the prior's loss curve, smoothed

  VqTrainer& trainer() {
    if (!vq) throw std::runtime_error("no VQ-VAE yet: create or load one first");
    return *vq;
  }

  // The map image's codes as the encoder gives them now, and with the edits (each 1 x h x w).
  std::pair<torch::Tensor, torch::Tensor> map_codes() {
    torch::NoGradGuard no_grad;
    vq->model()->eval();
    auto encoded = vq->model()->quantize(vq->model()->encode(map_image)).indices;
    auto edited = encoded.clone();
    auto flat = edited.view({-1});
    for (const auto& [cell, code] : edits) flat[cell] = int64_t(code);
    return {encoded, edited};
  }

  // The code map view of the map image and its edits, from the newest weights.
  CodeMapView code_map_view() {
    torch::NoGradGuard no_grad;
    const VqConfig& c = vq->config();
    CodeMapView out;
    out.model_id = view.vq.id;
    out.source_index = map_index;
    out.request = map_request;
    out.grid_h = c.grid_h();
    out.grid_w = c.grid_w();
    out.original = tensor_image(map_image[0]);
    const auto [encoded, edited] = map_codes();
    out.encoded = int_vector(encoded);
    out.codes = int_vector(edited);
    auto unedited_logits = vq->model()->decode_logits(vq->model()->lookup(encoded));
    out.decoded_unedited = tensor_image(torch::sigmoid(unedited_logits)[0]);
    out.decoded = tensor_image(vq->model()->decode_codes(edited)[0]);
    out.recon_bce =
        torch::binary_cross_entropy_with_logits(unedited_logits, map_image, {}, {}, torch::Reduction::Sum).item<double>();
    return out;
  }
  VqPriorTrainer& prior_trainer() {
    if (!prior) throw std::runtime_error("no prior yet: create or load one over the VQ-VAE's codes first");
    return *prior;
  }
};

VqLab::VqLab(Session& session) : session_(session), state_(std::make_unique<State>()) {}
VqLab::~VqLab() = default;

std::vector<UnsavedTraining> VqLab::unsaved_training() const {
  std::vector<UnsavedTraining> out;
  if (auto v = view_.get()) {
    if (v->value.vq.exists)
      for (UnsavedTraining& u : v->value.vq.saved.unsaved("VQ-VAE", v->value.vq.step)) out.push_back(std::move(u));
    if (v->value.prior.exists)
      for (UnsavedTraining& u : v->value.prior.saved.unsaved("VQ prior", v->value.prior.step)) out.push_back(std::move(u));
  }
  return out;
}

std::vector<std::string> VqLab::open_checkpoints() const {
  std::vector<std::string> out;
  if (auto v = view_.get())
    for (const std::string& path : {v->value.vq.saved.checkpoint, v->value.prior.saved.checkpoint})
      if (!path.empty()) out.push_back(path);
  return out;
}

void VqLab::publish() { view_.publish(state_->view); }

namespace {

// The slot's derived views: reconstructions, recent usage, every code decoded alone.
void refresh_vq_view(VqTrainer& t, VqModelView& v, const torch::Tensor& fixed_indices) {
  torch::NoGradGuard no_grad;
  t.model()->eval();
  const VqConfig& c = t.config();
  auto x = t.images(Split::Test, fixed_indices);
  v.originals = tensor_grid(x, 8);
  v.reconstructions = tensor_grid(torch::sigmoid(t.model()->forward(x).logits), 8);
  auto every = torch::arange(c.codes, torch::kLong).view({c.codes, 1, 1}).expand({c.codes, c.grid_h(), c.grid_w()});
  v.codebook = tensor_grid(t.model()->decode_codes(every.contiguous()), 16);
  v.usage = t.recent_usage();
  v.exists = true;
  v.config = t.config();
  v.dataset = t.data().spec;
  v.step = t.step();
  v.epoch = t.epoch();
  v.steps_per_epoch = t.steps_per_epoch();
}

void refresh_test_figures(VqTrainer& t, VqModelView& v) {
  VqTestFigures f = t.test_figures(kTestImages);
  v.test_usage = f.usage;
  v.test_perplexity = f.perplexity;
  v.test_recon_bce = f.recon_bce;
  v.test_recon_mse = f.recon_mse;
  v.test_used = f.used;
}

void refresh_prior_view(VqPriorTrainer& t, VqPriorView& v) {
  v.exists = true;
  v.error.clear();
  v.config = t.config();
  v.step = t.step();
  v.epoch = t.epoch();
  v.steps_per_epoch = t.steps_per_epoch();
}

void save_vq(VqTrainer& t, const VqModelView& v, const std::string& path) {
  nlohmann::json metrics = {{"test", {{"recon_bce", v.test_recon_bce}, {"recon_mse", v.test_recon_mse},
                                      {"perplexity", v.test_perplexity}, {"used_codes", v.test_used}}}};
  t.save(path, metrics.dump(), vq_curve_json(v.curve));
}

void save_prior_file(VqPriorTrainer& t, const VqPriorView& v, const std::string& path) {
  t.save(path, nlohmann::json({{"test_nats_per_code", v.test_nats}}).dump());
}

}  // namespace

void VqLab::new_model(const VqConfig& config) {
  session_.worker().submit("new VQ-VAE", [this, config](JobContext&) {
    DatasetPtr data = open_data(session_);
    if (data->test.count == 0) throw std::runtime_error(data->source + ": the VQ lab needs test images");
    State& s = *state_;
    auto trainer = std::make_unique<VqTrainer>(config, data);
    s.vq = std::move(trainer);
    s.prior.reset();  // it modelled another codebook's codes
    s.map_image = torch::Tensor();
    s.view = VqLabView{};
    s.view.vq.id = next_stamp();
    s.fixed_indices = varied_test_indices(*data, kFixedBatch);
    refresh_test_figures(*s.vq, s.view.vq);
    refresh_vq_view(*s.vq, s.view.vq, s.fixed_indices);
    publish();
  });
}

void VqLab::train(double epochs) {
  session_.worker().submit("train VQ-VAE", [this, epochs](JobContext& ctx) {
    State& s = *state_;
    VqTrainer& t = s.trainer();
    VqModelView& v = s.view.vq;
    const int64_t start = t.step();
    const int64_t target = start + std::max<int64_t>(1, int64_t(std::ceil(epochs * double(t.steps_per_epoch()))));
    auto last_publish = Clock::now(), t0 = Clock::now();
    LabTraining run;
    run.file = "vqvae";
    run.steps = target - start;
    run.step = [&] {
      const int restarts = restarts_.exchange(-1);
      if (restarts >= 0) t.set_restarts(restarts == 1);
      const float lr = learning_rate_.exchange(-1.f);
      if (lr > 0) t.set_learning_rate(lr);
      const VqStepFigures f = t.train_step();
      v.curve.push_back({t.step(), f.recon, f.commit, f.perplexity, f.used, t.restarts()});
      thin_history(v.curve);
      const bool epoch_end = t.step() % t.steps_per_epoch() == 0 || t.step() == target;
      if (epoch_end) refresh_test_figures(t, v);
      const auto now = Clock::now();
      if (epoch_end || now - last_publish > std::chrono::milliseconds(300)) {
        v.images_per_s = double(t.step() - start) * t.config().batch_size / std::chrono::duration<double>(now - t0).count();
        refresh_vq_view(t, v, s.fixed_indices);
        publish();
        if (s.map_image.defined()) code_map_.publish(s.code_map_view());
        last_publish = now;
      }
    };
    run.write = [&](const std::string& path) { save_vq(t, v, path); };
    run.saved = &v.saved;
    run.save_later = [this](const std::string& path) { save(path); };
    run.publish = [&] {
      refresh_vq_view(t, v, s.fixed_indices);
      publish();
    };
    run_lab_training(ctx, session_, saves_, t, run);
    refresh_test_figures(t, v);
    refresh_vq_view(t, v, s.fixed_indices);
    publish();
  });
}

void VqLab::new_prior(const VqPriorConfig& config) {
  session_.worker().submit("new VQ prior", [this, config](JobContext&) {
    State& s = *state_;
    VqTrainer& t = s.trainer();
    VqPriorConfig c = config;
    c.classes = int(t.data().class_names.size());
    c.vqvae = s.view.vq.saved.checkpoint;  // set again when the prior is saved
    s.prior = std::make_unique<VqPriorTrainer>(c, t.model(), t.dataset());
    s.view.prior = VqPriorView{};
    s.view.prior.id = next_stamp();
    s.view.prior.test_nats = s.prior->test_loss();
    s.prior_smooth.clear();
    refresh_prior_view(*s.prior, s.view.prior);
    publish();
  });
}

void VqLab::train_prior(double epochs) {
  session_.worker().submit("train VQ prior", [this, epochs](JobContext& ctx) {
    State& s = *state_;
    VqPriorTrainer& t = s.prior_trainer();
    VqPriorView& v = s.view.prior;
    const int64_t start = t.step();
    const int64_t target = start + std::max<int64_t>(1, int64_t(std::ceil(epochs * double(t.steps_per_epoch()))));
    auto last_publish = Clock::now(), t0 = Clock::now();
    double smooth = v.loss.empty() ? 0.0 : v.loss.back();
    LabTraining run;
    run.file = "vqprior";
    run.steps = target - start;
    run.step = [&] {
      const float loss = t.train_step();
      smooth = smooth == 0 ? loss : 0.95 * smooth + 0.05 * loss;
      v.loss_steps.push_back(float(t.step()));
      v.loss.push_back(float(smooth));
      if (v.loss.size() > kMaxHistory) {
        thin_history(v.loss_steps);
        thin_history(v.loss);
      }
      const bool epoch_end = t.step() % t.steps_per_epoch() == 0 || t.step() == target;
      if (epoch_end) v.test_nats = t.test_loss();
      const auto now = Clock::now();
      if (epoch_end || now - last_publish > std::chrono::milliseconds(300)) {
        v.images_per_s = double(t.step() - start) * t.config().batch_size / std::chrono::duration<double>(now - t0).count();
        refresh_prior_view(t, v);
        publish();
        last_publish = now;
      }
    };
    run.write = [&](const std::string& path) { save_prior_file(t, v, path); };
    run.saved = &v.saved;
    run.save_later = [this](const std::string& path) { save_prior(path); };
    run.publish = [&] {
      refresh_prior_view(t, v);
      publish();
    };
    run_lab_training(ctx, session_, saves_, t, run);
    refresh_prior_view(t, v);
    publish();
  });
}

void VqLab::save(const std::string& path) {
  if (saves_.post("vqvae", path)) return;
  session_.worker().submit("save " + path, [this, path](JobContext&) {
    State& s = *state_;
    VqTrainer& t = s.trainer();
    save_as(s.view.vq.saved, t, [&](const std::string& to) { save_vq(t, s.view.vq, to); }, path);
    publish();
  });
}

void VqLab::save_prior(const std::string& path) {
  if (saves_.post("vqprior", path)) return;
  session_.worker().submit("save " + path, [this, path](JobContext&) {
    State& s = *state_;
    VqPriorTrainer& t = s.prior_trainer();
    const SaveState& vq = s.view.vq.saved;
    if (vq.checkpoint.empty() || s.trainer().step() != vq.saved_step)
      throw std::runtime_error("save the VQ-VAE first: the prior's checkpoint names the VQ-VAE file whose codes it models");
    t.set_vqvae_path(vq.checkpoint);
    save_as(s.view.prior.saved, t, [&](const std::string& to) { save_prior_file(t, s.view.prior, to); }, path);
    publish();
  });
}

void VqLab::load(const std::string& path) {
  session_.worker().submit("load " + path, [this, path](JobContext&) {
    DatasetPtr data = open_data(session_);
    State& s = *state_;
    const std::string kind = read_checkpoint_info(path).model;
    auto load_vq = [&](const std::string& vq_path) {
      VqConfig config = read_vq_config(vq_path);
      check_image_size(config, data->channels, data->height, data->width, "the open data set's images");
      auto trainer = std::make_unique<VqTrainer>(config, data);
      const std::string metadata = trainer->resume(vq_path);
      s.vq = std::move(trainer);
      s.prior.reset();
      s.view = VqLabView{};
      s.view.vq.id = next_stamp();
      s.view.vq.saved.saved_at(vq_path, s.vq->step());
      s.view.vq.curve = read_vq_curve(metadata);
      s.fixed_indices = varied_test_indices(*data, kFixedBatch);
      s.map_image = torch::Tensor();
      refresh_test_figures(*s.vq, s.view.vq);
      refresh_vq_view(*s.vq, s.view.vq, s.fixed_indices);
    };
    if (kind == "vqvae") {
      load_vq(path);
      publish();
      return;
    }
    if (kind != "vqprior") throw CheckpointError(path + ": holds a '" + kind + "' model, not a VQ-VAE or its prior");
    VqPriorConfig config = read_prior_config(path);
    const std::string vq_path = prior_vqvae_path(path, config);
    check_prior_matches(config, path, read_vq_config(vq_path), vq_path);
    if (!s.vq || s.view.vq.saved.checkpoint != vq_path) load_vq(vq_path);
    auto prior = std::make_unique<VqPriorTrainer>(config, s.vq->model(), data);
    prior->resume(path);
    s.prior = std::move(prior);
    s.view.prior = VqPriorView{};
    s.view.prior.id = next_stamp();
    s.view.prior.saved.saved_at(path, s.prior->step());
    s.view.prior.test_nats = s.prior->test_loss();
    refresh_prior_view(*s.prior, s.view.prior);
    publish();
  });
}

uint64_t VqLab::encode_test_image(int64_t index) {
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    map_ = MapRequest{index, {}, {}};
  }
  return request_map();
}

uint64_t VqLab::encode_image(const ImageBuffer& image) {
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    map_ = MapRequest{-1, image, {}};
  }
  return request_map();
}

uint64_t VqLab::edit_code(int row, int col, int code) {
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    // Cells and codes are checked on the worker, which knows the model's grid and codebook.
    map_.edits[{row, col}] = code;
  }
  return request_map();
}

uint64_t VqLab::reset_edits() {
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    map_.edits.clear();
  }
  return request_map();
}

uint64_t VqLab::request_map() {
  MapRequest asked;
  {
    std::lock_guard<std::mutex> lock(map_mutex_);
    asked = map_;
  }
  return session_.worker().request("vq.map", [this, asked](JobContext& ctx) {
    State& s = *state_;
    VqTrainer& t = s.trainer();
    const VqConfig& c = t.config();
    torch::Tensor image;
    if (asked.index >= 0) {
      if (asked.index >= t.data().test.count)
        throw std::out_of_range("test image " + std::to_string(asked.index) + " is not in 0.." +
                                std::to_string(t.data().test.count - 1));
      image = t.images(Split::Test, torch::tensor({asked.index}));
    } else {
      check_image_size(c, asked.image.channels, asked.image.height, asked.image.width, "the picture");
      image = image_tensor(asked.image);
    }
    std::map<int, int> edits;
    for (const auto& [cell, code] : asked.edits) {
      const auto [row, col] = cell;
      if (code < 0 || code >= c.codes)
        throw std::out_of_range("code " + std::to_string(code) + " is not in the codebook (0.." +
                                std::to_string(c.codes - 1) + ")");
      if (row < 0 || col < 0 || row >= c.grid_h() || col >= c.grid_w())
        throw std::out_of_range("cell (" + std::to_string(row) + ", " + std::to_string(col) + ") is not on the " +
                                std::to_string(c.grid_h()) + "x" + std::to_string(c.grid_w()) + " code grid");
      edits[row * c.grid_w() + col] = code;
    }
    s.map_image = image;
    s.map_index = asked.index;
    s.edits = edits;
    s.map_request = ctx.request_stamp();
    code_map_.publish(s.code_map_view());
  });
}

void VqLab::inspect_layers(int layer) {
  session_.worker().request("vq.layers", [this, layer](JobContext&) {
    State& s = *state_;
    VqTrainer& t = s.trainer();
    if (!s.map_image.defined()) throw std::runtime_error("encode an image first: the layer view shows its code map's decode");
    const auto t0 = Clock::now();
    torch::NoGradGuard no_grad;
    LayerView out = layer_view(t.model()->decoder_activations(s.map_codes().second), layer);
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    layers_.publish(std::move(out));
  });
}

void VqLab::sample_prior(int label, const PriorSampling& sampling, uint64_t seed, int batch) {
  session_.worker().request("vq.sample", [this, label, sampling, seed, batch](JobContext& ctx) {
    State& s = *state_;
    VqPriorTrainer& p = s.prior_trainer();
    VqTrainer& t = s.trainer();
    const VqPriorConfig& pc = p.config();
    sampling.validate(pc.codes);
    if (label >= pc.classes || label < -1)
      throw std::out_of_range("class " + std::to_string(label) + " is not one the prior knows (" +
                              std::to_string(pc.classes) + " classes)");
    torch::NoGradGuard no_grad;
    p.prior()->eval();
    t.model()->eval();
    const auto t0 = Clock::now();
    PriorSampleView out;
    out.request = ctx.request_stamp();
    out.prior_id = s.view.prior.id;
    out.label = label;
    out.sampling = sampling;
    out.seed = seed;
    out.grid_h = pc.grid_h;
    out.grid_w = pc.grid_w;
    // Cells not drawn yet decode as the commonest code (mostly background), so the picture grows.
    const auto usage = s.view.vq.test_usage;
    const int64_t filler =
        usage.empty() ? 0 : int64_t(std::max_element(usage.begin(), usage.end()) - usage.begin());
    auto labels = torch::full({1}, int64_t(label), torch::kLong);
    auto generator = at::detail::createCPUGenerator(seed);
    auto last_publish = Clock::now();
    p.prior()->sample(labels, sampling, generator, [&](int position, const torch::Tensor& codes, const torch::Tensor& probs) {
      const torch::Tensor drawn_from = probs[0].contiguous();
      out.probabilities.emplace_back(drawn_from.data_ptr<float>(), drawn_from.data_ptr<float>() + drawn_from.numel());
      out.frames.push_back(int_vector(codes[0]));
      auto filled = torch::where(codes < 0, torch::full_like(codes, filler), codes).view({1, pc.grid_h, pc.grid_w});
      out.decoded.push_back(tensor_image(t.model()->decode_codes(filled)[0]));
      out.filled = position + 1;
      out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      if (Clock::now() - last_publish > std::chrono::milliseconds(30) || position + 1 == pc.positions()) {
        prior_sample_.publish(out);
        last_publish = Clock::now();
      }
      return !ctx.cancelled();
    });
    if (ctx.cancelled() || batch <= 0) return;
    Samples more = vq_prior_samples(p.prior(), t.model(), sampling, label)(batch, seed + 1, {});
    out.batch = tensor_grid(more.images, 8);
    out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    prior_sample_.publish(std::move(out));
  });
}

void VqLab::measure_quality(const PriorSampling& sampling, const QualityOptions& options) {
  session_.worker().submit("measure VQ prior", [this, sampling, options](JobContext& ctx) {
    State& s = *state_;
    VqPriorTrainer& p = s.prior_trainer();
    sampling.validate(p.config().codes);
    char what[96];
    snprintf(what, sizeof what, "VQ-VAE prior samples, temperature %.2f, top-k %d", sampling.temperature, sampling.top_k);
    run_quality_job(ctx, session_, options, what, vq_prior_samples(p.prior(), s.trainer().model(), sampling), {},
                    p.step(), quality_);
  });
}

}  // namespace genlab
