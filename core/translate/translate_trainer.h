// Trains the image-to-image models, one step at a time, with loss weights that can change mid-run:
//   Pix2Pix:  D on (input, image) pairs, BCE; G: L_GAN + lambda_l1 * |G(x) - y|.
//   CycleGAN: G: A -> B, F: B -> A, D_A and D_B with the LSGAN loss; G and F: L_GAN +
//             lambda_cycle * (|F(G(a)) - a| + |G(F(b)) - b|) + lambda_identity * (|G(b) - b| +
//             |F(a) - a|); D sees generated images from a history pool of past ones.
//   StarGAN:  one G(x, c) for K domains; D with a real/fake patch map (LSGAN) and a domain head;
//             D: L_adv + lambda_cls * CE(D_cls(x), c); G: L_adv + lambda_cls * CE(D_cls(G(x, c')), c')
//             + lambda_rec * |G(G(x, c'), c) - x|.
// Images are [-1, 1] inside, [0, 1] at the interface. Torch header.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/data/dataset.h"
#include "core/train/trainer.h"
#include "core/translate/translate_config.h"
#include "core/translate/translate_nets.h"

namespace genlab {

struct TranslateStepStats {
  int64_t step = 0;
  float loss_d = 0, loss_g = 0;
  float adversarial = 0;            // G's L_GAN term
  float l1 = 0;                     // Pix2Pix: |G(x) - y|
  float cycle = 0, identity = 0;    // CycleGAN: the two L1 terms (both directions summed)
  float cls_real = 0, cls_fake = 0; // StarGAN: D's CE on real images; G's CE on its translations
  float rec = 0;                    // StarGAN: |G(G(x, c'), c) - x|
  float d_real = 0, d_fake = 0;     // D's mean patch verdict on real and generated images (1: real)
};

class TranslateTrainer : public Trainer {
 public:
  // Seeds torch with config.seed; takes the image shape and class count from `data`.
  TranslateTrainer(TranslateConfig config, std::shared_ptr<const Dataset> data);

  TranslateStepStats train_step();  // one D update, then one G update
  float train_once() override { return train_step().loss_g; }
  const TranslateStepStats& last_stats() const { return last_; }
  // The loss weights (lambda_*) of `weights` from the next step on.
  void set_loss_weights(const TranslateConfig& weights);

  // Images in [0, 1] through G, no gradients: Pix2Pix's task inputs; CycleGAN's domain `to` (1: A ->
  // B by G, 0: B -> A by F); StarGAN's target domain `to` (an index into config().domains).
  torch::Tensor translate(const torch::Tensor& inputs, int to = 1);
  // D's verdict per patch (1: real) on `outputs`, [0, 1]: Pix2Pix judges the pair (input, output);
  // CycleGAN D_B (to 1) or D_A (to 0); StarGAN its real/fake map. B x 1 x P x P.
  torch::Tensor patch_verdict(const torch::Tensor& inputs, const torch::Tensor& outputs, int to = 1);
  // Data set images in [0, 1] (a split's rows `indices`).
  torch::Tensor images(Split split, const std::vector<int64_t>& indices) const;
  // The split's rows of domain `domain` (an index into config().domains), in order.
  std::vector<int64_t> domain_rows(Split split, int domain) const;

  double epoch() const override;
  // Training images an epoch walks: every one for Pix2Pix, the domains' for CycleGAN and StarGAN.
  int64_t epoch_images() const;
  int64_t batch_images() const override;
  const TranslateConfig& config() const { return config_; }
  const Dataset& data() const { return *data_; }
  const std::shared_ptr<const Dataset>& dataset() const { return data_; }

 private:
  std::string kind() const override { return translate_kind_name(config_.kind); }
  std::string config_json() const override { return config_.to_json(); }
  std::string dataset_spec() const override { return data_->spec; }
  std::vector<std::pair<std::string, torch::nn::Module*>> checkpointed() override;
  std::vector<torch::optim::Optimizer*> optimizers() override { return {opt_g_.get(), opt_d_.get()}; }
  void reset_optimizers() override;
  void check_same_model(const std::string& path) const override;
  void restore_from_metadata(const std::string& metadata_json) override;
  int64_t order_size() const override;

  torch::Tensor batch_of(const std::vector<int64_t>* rows, bool in_order);  // [-1, 1]
  torch::Tensor from_pool(const torch::Tensor& generated, std::vector<torch::Tensor>& pool);
  TranslateStepStats step_pix2pix();
  TranslateStepStats step_cyclegan();
  TranslateStepStats step_stargan();
  template <class Loss>
  void update(torch::optim::Optimizer& opt, std::vector<torch::Tensor> params, Loss&& loss, float& value,
              const std::string& name, int64_t next_step);

  TranslateConfig config_;
  std::shared_ptr<const Dataset> data_;
  torch::Tensor train_bytes_;
  std::vector<std::vector<int64_t>> domain_train_;  // CycleGAN/StarGAN: training rows per domain
  std::vector<int64_t> pooled_rows_;                // StarGAN: every domain's rows, walked in epochs
  std::vector<int> domain_of_label_;                // class -> domain index (-1: none)
  UNetGenerator g_{nullptr}, f_{nullptr};
  PatchDiscriminator d_{nullptr}, d_a_{nullptr};  // d_: Pix2Pix's, StarGAN's, CycleGAN's D_B
  std::unique_ptr<torch::optim::Optimizer> opt_g_, opt_d_;
  std::vector<torch::Tensor> pool_a_, pool_b_;
  int64_t images_seen_ = 0;
  TranslateStepStats last_;
};

// Reads a translation model's config; throws CheckpointError naming the path for another model's file.
TranslateConfig read_translate_config(const std::string& path);

}  // namespace genlab
