// The VAE lab's model side: an AE slot and a VAE slot, live training, and the exploration views
// (latent sliders, manifold grid, interpolation, prior samples, latent map). Torch-free header: the
// UI calls these methods, which only enqueue work on the worker, and reads the published views.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/compute/worker.h"
#include "core/data/image.h"
#include "core/data/layer_view.h"
#include "core/lab/save_mailbox.h"
#include "core/metrics/quality_report.h"
#include "core/vae/vae_config.h"
#include "core/lab/session.h"

namespace genlab {

struct VaeLosses {
  int64_t step = 0;
  float recon = 0, kl = 0, total = 0;
};

// The smoothed training curve, as the lab and genlab-cli record it: an exponential average of the
// steps' losses, every stride-th step, the stride doubling whenever the curve is thinned.
class VaeCurveRecorder {
 public:
  explicit VaeCurveRecorder(std::vector<VaeLosses>& curve) : curve_(curve) {}
  void add(const VaeLosses& step);

 private:
  std::vector<VaeLosses>& curve_;
  VaeLosses smooth_;
  bool first_ = true;
  int64_t stride_ = 1;
};

// The curves a checkpoint keeps ("train": smoothed, "test": per epoch), and reading them back (none
// when the checkpoint has none).
std::string vae_curves_json(const std::vector<VaeLosses>& train, const std::vector<VaeLosses>& test);
void read_vae_curves(const std::string& metadata_json, std::vector<VaeLosses>& train, std::vector<VaeLosses>& test);

// One model slot as the UI sees it.
struct VaeModelView {
  bool exists = false;
  uint64_t id = 0;                 // new for every created or loaded model
  VaeConfig config;
  std::string dataset;
  int64_t step = 0, steps_per_epoch = 1;
  double epoch = 0;
  std::vector<VaeLosses> train;    // smoothed, decimated to at most ~2000 points
  std::vector<VaeLosses> test;     // per epoch (and at the end of each run)
  VaeLosses last;                  // the newest step, unsmoothed
  std::vector<float> kl_per_dim;   // KL of each latent dim on the fixed test batch
  std::vector<int> dims_by_kl;     // latent dims, most informative first
  ImageGrid originals, reconstructions;  // the fixed test batch and what the model makes of it
  double images_per_s = 0;
  // VAE-GAN: the newest step's reconstruction in D's features, adversarial loss, D's loss and its
  // mean verdict on real and on decoded images
  float feature = 0, adversarial = 0, d_loss = 0, d_real = 0, d_fake = 0;
  SaveState saved;
};

struct VaeLabView {
  VaeModelView slot[kAutoencoderKinds];  // indexed by AutoencoderKind
};

// A decoded code, for the sliders.
struct LatentDecode {
  AutoencoderKind kind = AutoencoderKind::VAE;
  std::vector<float> z;
  ImageBuffer image;
  double neg_log_prior = 0;      // -log N(z; 0, I) in nats
  bool from_encoding = false;    // z is the mu of an encoded image
  std::vector<float> sigma;      // the encoder's sigma when from_encoding (VAE)
  double kl = 0;                 // KL(q(z|x) || p(z)) of that image
  int64_t source_index = -1;     // test image index, -1 for a dropped image
  uint64_t request = 0;          // the stamp of the request this answers
};

struct ManifoldView {
  AutoencoderKind kind = AutoencoderKind::VAE;
  int dim_x = 0, dim_y = 1, n = 0;
  float range = 3.f;
  ImageGrid grid;
};

struct InterpolationView {
  int64_t a = 0, b = 1;
  int steps = 0;
  bool slerp = false;
  ImageGrid strip[kAutoencoderKinds];  // per kind; empty when that slot has no model
};

struct PriorSamplesView {
  uint64_t seed = 0;
  ImageGrid samples[kAutoencoderKinds];  // per kind, decoded from the same N(0, I) draws
};

// The blur the texts describe, measured: the same test images through each slot's model, and
// prior samples of each, with their sharpness relative to real images (1: as sharp).
struct CompareView {
  ImageGrid originals;
  ImageGrid reconstructions[kAutoencoderKinds], samples[kAutoencoderKinds];  // empty: no model in that slot
  double recon_sharpness[kAutoencoderKinds] = {}, sample_sharpness[kAutoencoderKinds] = {};
  double recon_bce[kAutoencoderKinds] = {};  // nats per image against the gray test images
  int images = 0;                            // test images and samples behind the figures
};

struct LatentMapView {
  AutoencoderKind kind = AutoencoderKind::VAE;
  int dim_x = 0, dim_y = 1;    // -1, -1: the first two principal components of mu
  float explained = 0;         // PCA only: share of the variance of mu the two components hold
  std::vector<float> x, y;     // mu of test images in the chosen dims
  std::vector<int> labels;
  std::vector<int64_t> indices;
};

class VaeLab : public Lab {
 public:
  explicit VaeLab(Session& session);
  ~VaeLab();
  std::vector<UnsavedTraining> unsaved_training() const override;
  std::vector<std::string> open_checkpoints() const override;

  // Model slots.
  void new_model(const VaeConfig& config);  // uses the open data set; replaces that kind's slot
  void train(AutoencoderKind kind, double epochs);
  void set_learning_rate(float lr) { learning_rate_ = lr; }
  void set_beta(float beta) { beta_ = beta; }
  // VAE-GAN's loss weights, live (pixel BCE, reconstruction in D's features, adversarial).
  void set_gan_weights(float pixel, float feature, float adversarial);
  void save(AutoencoderKind kind, const std::string& path);  // written at the next step while it trains
  void load(const std::string& path);  // the slot follows the checkpoint's kind

  // Views of the active slot (prior samples and interpolation show both slots).
  // Returns the request's stamp; the LatentDecode that answers it carries the same stamp.
  uint64_t decode(AutoencoderKind kind, const std::vector<float>& z);
  // The decoder's layer `layer` (-1: the last) for the code z (newest request wins).
  void inspect_layers(AutoencoderKind kind, const std::vector<float>& z, int layer);
  const Latest<LayerView>& layers() const { return layers_; }
  void encode_test_image(AutoencoderKind kind, int64_t index);
  void encode_image(AutoencoderKind kind, const ImageBuffer& image);  // e.g. a dropped PNG
  void manifold(AutoencoderKind kind, int dim_x, int dim_y, float range, int n, const std::vector<float>& base);
  void interpolate(int64_t a, int64_t b, int steps, bool slerp);
  void prior_samples(uint64_t seed, int n);
  // VAE vs VAE-GAN (and the AE) on the same test images and prior draws (newest request wins).
  void compare(uint64_t seed, int images);
  // dim_x = dim_y = -1 projects onto the first two principal components instead.
  void latent_map(AutoencoderKind kind, int dim_x, int dim_y, int points);

  // Scores decoded prior samples z ~ N(0, I) of `kind` with FID-LeNet and precision/recall.
  void measure_quality(AutoencoderKind kind, const QualityOptions& options);
  const Latest<QualityView>& quality() const { return quality_; }
  const Latest<VaeLabView>& view() const { return view_; }
  const Latest<LatentDecode>& decoded() const { return decoded_; }
  const Latest<ManifoldView>& manifold_view() const { return manifold_; }
  const Latest<InterpolationView>& interpolation() const { return interpolation_; }
  const Latest<PriorSamplesView>& prior() const { return prior_; }
  const Latest<LatentMapView>& latent_map_view() const { return latent_map_; }
  const Latest<CompareView>& comparison() const { return compare_; }

  struct State;  // worker-thread state (models, requests); defined in vae_lab.cpp

 private:
  using Redraw = std::function<void(uint64_t request)>;
  // Runs `draw` as a newest-wins preview and keeps it in `slot`, so training redraws it as the
  // weights change. Returns the request's stamp.
  uint64_t request_live(const char* key, std::function<void()> State::*slot, Redraw draw);

  Session& session_;
  std::atomic<float> learning_rate_{-1.f}, beta_{-1.f};  // < 0: no change requested
  std::mutex gan_weights_mutex_;
  std::vector<float> gan_weights_;  // pixel, feature, adversarial; empty: no change requested
  SaveMailbox saves_;
  Latest<VaeLabView> view_;
  Latest<LatentDecode> decoded_;
  Latest<ManifoldView> manifold_;
  Latest<InterpolationView> interpolation_;
  Latest<PriorSamplesView> prior_;
  Latest<LatentMapView> latent_map_;
  Latest<CompareView> compare_;
  Latest<QualityView> quality_;
  Latest<LayerView> layers_;
  std::unique_ptr<State> state_;  // touched only on the worker thread
};

}  // namespace genlab
