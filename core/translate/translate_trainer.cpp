#include "core/translate/translate_trainer.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/translate/paired_tasks.h"

namespace genlab {

namespace {

torch::Tensor to_signed(const torch::Tensor& x) { return x * 2 - 1; }  // [0, 1] -> [-1, 1]
torch::Tensor to_unit(const torch::Tensor& x) { return (x + 1) * 0.5; }

torch::Tensor bce(const torch::Tensor& logits, float target) {
  return torch::binary_cross_entropy_with_logits(logits, torch::full_like(logits, target));
}
torch::Tensor lsgan(const torch::Tensor& scores, float target) { return (scores - target).pow(2).mean(); }

std::vector<torch::Tensor> params_of(std::initializer_list<torch::nn::Module*> modules) {
  std::vector<torch::Tensor> out;
  for (auto* m : modules)
    if (m) {
      auto p = m->parameters();
      out.insert(out.end(), p.begin(), p.end());
    }
  return out;
}

}  // namespace

TranslateTrainer::TranslateTrainer(TranslateConfig config, std::shared_ptr<const Dataset> data)
    : Trainer(config.seed, "translation model"), config_(std::move(config)), data_(std::move(data)) {
  if (!data_ || data_->train.count == 0) throw std::invalid_argument("the translation models need a data set with training images");
  config_.channels = data_->channels;
  config_.height = data_->height;
  config_.width_px = data_->width;
  config_.classes = int(data_->class_names.size());
  // A blank data set (a checkpoint opened to translate a picture) has no names: keep the saved ones.
  const bool named = std::any_of(data_->class_names.begin(), data_->class_names.end(), [](const std::string& n) { return !n.empty(); });
  if (named || config_.domain_names.size() != config_.domains.size()) {
    config_.domain_names.clear();
    for (int d : config_.domains) config_.domain_names.push_back(data_->class_name(d));
  }
  config_.validate();
  train_bytes_ = torch::from_blob(const_cast<uint8_t*>(data_->train.pixels.data()),
                                  {data_->train.count, data_->channels, data_->height, data_->width}, torch::kUInt8);
  domain_of_label_.assign(size_t(std::max(config_.classes, 1)), -1);
  for (size_t i = 0; i < config_.domains.size(); ++i) domain_of_label_[size_t(config_.domains[i])] = int(i);
  for (int d = 0; d < config_.domain_count(); ++d) {
    domain_train_.push_back(domain_rows(Split::Train, d));
    pooled_rows_.insert(pooled_rows_.end(), domain_train_.back().begin(), domain_train_.back().end());
  }
  std::sort(pooled_rows_.begin(), pooled_rows_.end());

  RandomStream::Scope scope(rng_);
  const int c = config_.channels, size = config_.height, w = config_.width;
  switch (config_.kind) {
    case TranslateKind::Pix2Pix:
      g_ = UNetGenerator(c, c, w, size, config_.skips);
      d_ = PatchDiscriminator(2 * c, w);  // judges (input, image) pairs
      break;
    case TranslateKind::CycleGan:
      g_ = UNetGenerator(c, c, w, size, config_.skips);
      f_ = UNetGenerator(c, c, w, size, config_.skips);
      d_ = PatchDiscriminator(c, w);
      d_a_ = PatchDiscriminator(c, w);
      break;
    case TranslateKind::StarGan:
      g_ = UNetGenerator(c + config_.domain_count(), c, w, size, config_.skips);
      d_ = PatchDiscriminator(c, w, config_.domain_count());
      break;
  }
  reset_optimizers();
  remember_weights();
}

std::vector<std::pair<std::string, torch::nn::Module*>> TranslateTrainer::checkpointed() {
  std::vector<std::pair<std::string, torch::nn::Module*>> out = {{"g", g_.get()}, {"d", d_.get()}};
  if (f_) out.push_back({"f", f_.get()});
  if (d_a_) out.push_back({"d_a", d_a_.get()});
  return out;
}

void TranslateTrainer::reset_optimizers() {
  auto adam = [&](std::vector<torch::Tensor> params) {
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config_.lr).betas({0.5, 0.999}));
  };
  opt_g_ = adam(params_of({g_.get(), f_ ? f_.get() : nullptr}));
  opt_d_ = adam(params_of({d_.get(), d_a_ ? d_a_.get() : nullptr}));
}

void TranslateTrainer::set_loss_weights(const TranslateConfig& w) {
  TranslateConfig next = config_;
  copy_loss_weights(next, w);
  next.validate();
  config_ = next;
}

std::vector<int64_t> TranslateTrainer::domain_rows(Split split, int domain) const {
  std::vector<int64_t> rows;
  const std::vector<int>& labels = data_->split(split).labels;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == config_.domains[size_t(domain)]) rows.push_back(int64_t(i));
  return rows;
}

torch::Tensor TranslateTrainer::images(Split split, const std::vector<int64_t>& indices) const {
  const ImageSet& set = data_->split(split);
  auto bytes = torch::from_blob(const_cast<uint8_t*>(set.pixels.data()), {set.count, data_->channels, data_->height, data_->width},
                                torch::kUInt8);
  return bytes.index_select(0, torch::tensor(indices, torch::kLong)).to(torch::kFloat) / 255.0;
}

int64_t TranslateTrainer::order_size() const {
  return config_.kind == TranslateKind::Pix2Pix ? data_->train.count
         : config_.kind == TranslateKind::StarGan ? int64_t(pooled_rows_.size())
                                                  : 0;
}

int64_t TranslateTrainer::epoch_images() const {
  return config_.kind == TranslateKind::Pix2Pix ? data_->train.count : int64_t(pooled_rows_.size());
}

double TranslateTrainer::epoch() const { return double(images_seen_) / double(epoch_images()); }

int64_t TranslateTrainer::batch_images() const {
  return config_.kind == TranslateKind::CycleGan ? 2 * int64_t(config_.batch_size) : config_.batch_size;
}

// The next batch, [-1, 1]: of `rows` (null: every training image) in their epoch order, or drawn
// at random from them.
torch::Tensor TranslateTrainer::batch_of(const std::vector<int64_t>* rows, bool in_order) {
  const int64_t n = config_.batch_size, count = rows ? int64_t(rows->size()) : data_->train.count;
  auto positions = in_order ? next_in_order(count, n, /*keep_short=*/false) : torch::randint(count, {n}, torch::kLong);
  if (rows) positions = torch::from_blob(const_cast<int64_t*>(rows->data()), {count}, torch::kLong).index_select(0, positions);
  images_seen_ += positions.size(0);
  return to_signed(train_bytes_.index_select(0, positions).to(torch::kFloat) / 255.0);
}

// CycleGAN's history (Shrivastava et al.): half the time D sees an older generated image instead of
// the new one, which takes its place in the pool, so D does not only chase G's latest move.
torch::Tensor TranslateTrainer::from_pool(const torch::Tensor& generated, std::vector<torch::Tensor>& pool) {
  if (config_.pool_size == 0) return generated;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < generated.size(0); ++i) {
    torch::Tensor image = generated[i].detach().clone();
    if (int(pool.size()) < config_.pool_size) {
      pool.push_back(image);
      out.push_back(image);
    } else if (torch::rand({1}).item<float>() < 0.5f) {
      const int64_t k = torch::randint(int64_t(pool.size()), {1}).item<int64_t>();
      out.push_back(pool[size_t(k)]);
      pool[size_t(k)] = image;
    } else {
      out.push_back(image);
    }
  }
  return torch::stack(out);
}

template <class Loss>
void TranslateTrainer::update(torch::optim::Optimizer& opt, std::vector<torch::Tensor> params, Loss&& loss, float& value,
                              const std::string& name, int64_t next_step) {
  opt.zero_grad();
  torch::Tensor total = loss();
  total.backward();
  value = total.item<float>();
  guarded_update(params, value, name, next_step, [&] { opt.step(); });
}

TranslateStepStats TranslateTrainer::step_pix2pix() {
  TranslateStepStats s;
  auto target = batch_of(nullptr, true);
  auto input = on_device(to_signed(task_input(config_, to_unit(target))));
  target = on_device(target);
  auto fake = g_->forward(input);
  update(*opt_d_, d_->parameters(), [&] {
    auto real_logits = d_->forward(torch::cat({input, target}, 1)).patches;
    auto fake_logits = d_->forward(torch::cat({input, fake.detach()}, 1)).patches;
    s.d_real = torch::sigmoid(real_logits).mean().item<float>();
    s.d_fake = torch::sigmoid(fake_logits).mean().item<float>();
    return 0.5 * (bce(real_logits, 1) + bce(fake_logits, 0));
  }, s.loss_d, "the discriminator loss", step_);
  update(*opt_g_, g_->parameters(), [&] {
    auto adversarial = bce(d_->forward(torch::cat({input, fake}, 1)).patches, 1);
    auto l1 = (fake - target).abs().mean();
    s.adversarial = adversarial.item<float>();
    s.l1 = l1.item<float>();
    return adversarial + config_.lambda_l1 * l1;
  }, s.loss_g, "the generator loss", step_ + 1);
  return s;
}

TranslateStepStats TranslateTrainer::step_cyclegan() {
  TranslateStepStats s;
  auto a = on_device(batch_of(&domain_train_[0], false)), b = on_device(batch_of(&domain_train_[1], false));
  auto fake_b = g_->forward(a), fake_a = f_->forward(b);
  update(*opt_g_, params_of({g_.get(), f_.get()}), [&] {
    auto adversarial = lsgan(d_->forward(fake_b).patches, 1) + lsgan(d_a_->forward(fake_a).patches, 1);
    auto cycle = (f_->forward(fake_b) - a).abs().mean() + (g_->forward(fake_a) - b).abs().mean();
    torch::Tensor identity = torch::zeros({}, a.options());
    if (config_.lambda_identity > 0) identity = (g_->forward(b) - b).abs().mean() + (f_->forward(a) - a).abs().mean();
    s.adversarial = adversarial.item<float>();
    s.cycle = cycle.item<float>();
    s.identity = identity.item<float>();
    return adversarial + config_.lambda_cycle * cycle + config_.lambda_identity * identity;
  }, s.loss_g, "the generator loss", step_ + 1);
  auto pooled_b = from_pool(fake_b, pool_b_), pooled_a = from_pool(fake_a, pool_a_);
  update(*opt_d_, params_of({d_.get(), d_a_.get()}), [&] {
    auto real_b = d_->forward(b).patches, real_a = d_a_->forward(a).patches;
    auto old_b = d_->forward(pooled_b).patches, old_a = d_a_->forward(pooled_a).patches;
    s.d_real = 0.5f * (real_a.mean().item<float>() + real_b.mean().item<float>());
    s.d_fake = 0.5f * (old_a.mean().item<float>() + old_b.mean().item<float>());
    return 0.5 * (lsgan(real_b, 1) + lsgan(old_b, 0)) + 0.5 * (lsgan(real_a, 1) + lsgan(old_a, 0));
  }, s.loss_d, "the discriminator loss", step_ + 1);
  return s;
}

TranslateStepStats TranslateTrainer::step_stargan() {
  TranslateStepStats s;
  const int k = config_.domain_count();
  // The batch in its epoch order, with each image's domain.
  auto positions = next_in_order(int64_t(pooled_rows_.size()), config_.batch_size, /*keep_short=*/false);
  std::vector<int64_t> rows;
  std::vector<int64_t> domains;
  const auto position = positions.accessor<int64_t, 1>();
  for (int64_t i = 0; i < positions.size(0); ++i) {
    rows.push_back(pooled_rows_[size_t(position[i])]);
    domains.push_back(domain_of_label_[size_t(data_->train.labels[size_t(rows.back())])]);
  }
  images_seen_ += int64_t(rows.size());
  auto x = on_device(to_signed(images(Split::Train, rows)));
  auto source = on_device(torch::tensor(domains, torch::kLong));
  auto target = on_device(torch::randint(k, {x.size(0)}, torch::kLong));
  auto fake = g_->forward(with_domain_planes(x, target, k));
  update(*opt_d_, d_->parameters(), [&] {
    auto real = d_->forward(x);
    auto generated = d_->forward(fake.detach()).patches;
    auto cls = torch::cross_entropy_loss(real.classes, source);
    s.d_real = real.patches.mean().item<float>();
    s.d_fake = generated.mean().item<float>();
    s.cls_real = cls.item<float>();
    return lsgan(real.patches, 1) + lsgan(generated, 0) + config_.lambda_cls * cls;
  }, s.loss_d, "the discriminator loss", step_);
  update(*opt_g_, g_->parameters(), [&] {
    auto judged = d_->forward(fake);
    auto adversarial = lsgan(judged.patches, 1);
    auto cls = torch::cross_entropy_loss(judged.classes, target);
    auto rec = (g_->forward(with_domain_planes(fake, source, k)) - x).abs().mean();
    s.adversarial = adversarial.item<float>();
    s.cls_fake = cls.item<float>();
    s.rec = rec.item<float>();
    return adversarial + config_.lambda_cls * cls + config_.lambda_rec * rec;
  }, s.loss_g, "the generator loss", step_ + 1);
  return s;
}

torch::Tensor TranslateTrainer::translate(const torch::Tensor& inputs, int to) {
  torch::NoGradGuard no_grad;
  auto x = on_device(to_signed(inputs));
  UNetGenerator& g = config_.kind == TranslateKind::CycleGan && to == 0 ? f_ : g_;  // F: B -> A
  g->eval();
  if (config_.kind == TranslateKind::StarGan) {
    auto target = torch::full({x.size(0)}, int64_t(std::clamp(to, 0, config_.domain_count() - 1)), torch::kLong);
    x = with_domain_planes(x, on_device(target), config_.domain_count());
  }
  return to_unit(g->forward(x)).cpu();
}

torch::Tensor TranslateTrainer::patch_verdict(const torch::Tensor& inputs, const torch::Tensor& outputs, int to) {
  torch::NoGradGuard no_grad;
  auto y = on_device(to_signed(outputs));
  PatchDiscriminator& d = config_.kind == TranslateKind::CycleGan && to == 0 ? d_a_ : d_;  // D_A judges F's images
  d->eval();
  if (config_.kind == TranslateKind::Pix2Pix)
    return torch::sigmoid(d->forward(torch::cat({on_device(to_signed(inputs)), y}, 1)).patches).cpu();
  return d->forward(y).patches.clamp(0, 1).cpu();  // LSGAN: D regresses real -> 1, fake -> 0
}

TranslateStepStats TranslateTrainer::train_step() {
  for (int d = 0; d < config_.domain_count(); ++d)
    if (domain_train_[size_t(d)].empty())
      throw std::invalid_argument("domain '" + config_.domain_names[size_t(d)] + "' has no training images in " + data_->spec);
  RandomStream::Scope scope(rng_);
  for (const auto& entry : checkpointed()) entry.second->train();
  TranslateStepStats s = config_.kind == TranslateKind::Pix2Pix    ? step_pix2pix()
                         : config_.kind == TranslateKind::CycleGan ? step_cyclegan()
                                                                   : step_stargan();
  ++step_;
  s.step = step_;
  last_ = s;
  return s;
}

void TranslateTrainer::check_same_model(const std::string& path) const {
  TranslateConfig saved = read_translate_config(path);
  if (saved.kind != config_.kind || saved.skips != config_.skips || saved.width != config_.width ||
      saved.domains.size() != config_.domains.size() || saved.channels != config_.channels || saved.height != config_.height)
    throw CheckpointError(path + ": holds another translation model (" + saved.title() + ", width " +
                          std::to_string(saved.width) + ", " + (saved.skips ? "with" : "without") + " skips)");
}

void TranslateTrainer::restore_from_metadata(const std::string& metadata_json) {
  auto meta = nlohmann::json::parse(metadata_json);
  images_seen_ = int64_t(std::llround(meta.value("epoch", 0.0) * double(epoch_images())));
  set_loss_weights(TranslateConfig::from_json(meta["config"].dump()));
}

TranslateConfig read_translate_config(const std::string& path) {
  CheckpointInfo info = read_checkpoint_info(path);
  if (info.model != "pix2pix" && info.model != "cyclegan" && info.model != "stargan")
    throw CheckpointError(path + ": holds a '" + info.model + "' model, not an image-to-image one");
  try {
    return TranslateConfig::from_json(info.config_json);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
}

}  // namespace genlab
