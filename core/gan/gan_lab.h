// The GAN lab's model side: live adversarial training with GAN-Lab-style controls (play, step D,
// step G, k D-steps, losses, optimizers and learning rates switched mid-run, slow motion; a NaN
// pauses the run with the last good weights), monitoring, a snapshot timeline, a mode-collapse
// meter, the 2-D toy mode, seed exploration, ProGAN's fade-in, StyleGAN's style space (mixing,
// truncation, noise, z against w with their path lengths) and a layer view of any generator.
// Torch-free header: the UI enqueues, the worker computes, the UI reads the published views.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/data/image.h"
#include "core/data/layer_view.h"
#include "core/lab/save_mailbox.h"
#include "core/metrics/quality_report.h"
#include "core/gan/gan_config.h"
#include "core/lab/session.h"

namespace genlab {

struct GanHistoryPoint {
  int64_t step = 0;
  float loss_d = 0, loss_g = 0, value = 0, d_real = 0, d_fake = 0, grad_d = 0, grad_g = 0;
};

struct GanStepStats;
// Adds a training step's figures to the curves, thinned as they grow (the lab and genlab-cli alike).
void record_step(std::vector<GanHistoryPoint>& history, const GanStepStats& stats);

// The curves a checkpoint keeps, and reading them back (none when it has none).
std::string gan_curves_json(const std::vector<GanHistoryPoint>& history);
std::vector<GanHistoryPoint> read_gan_curves(const std::string& metadata_json);

struct GanTimelineEntry {
  int64_t step = 0;
  // The fixed-noise grid (images) or the toy canvas at that step. Shared and immutable, so each
  // published view copies pointers, not up to 120 grids.
  std::shared_ptr<const ImageGrid> samples;
};

struct GanLabView {
  bool exists = false;
  uint64_t id = 0;
  GanConfig config;
  int64_t step = 0;
  double epoch = 0, steps_per_s = 0;
  std::vector<GanHistoryPoint> history;  // every step, decimated to at most ~2000 points
  ImageGrid samples;                     // fixed noise through G, now (images mode)
  std::vector<GanTimelineEntry> timeline;
  // Toy mode: D's output sigmoid(score) over the plane, and the points.
  ImageBuffer surface;  // 1 x n x n in [0, 1], row 0 at +extent
  float extent = 3.f;
  std::vector<float> real_xy, fake_xy;  // interleaved x, y
  // Mode collapse: images compare the spread of fixed samples with that of real images; the toy
  // ring counts the modes that get at least 2 % of the samples.
  float diversity = 0, real_diversity = 0;
  int modes_covered = -1, modes_total = 0;
  bool collapse_warning = false;
  // ProGAN: the stage now; at a fade, the first 8 fixed-noise samples through the old path
  // (upsampled), the new block, and G's alpha-blend of the two, all at the data's size. Outside a
  // fade, all three are what G draws.
  Growth growth;
  ImageGrid fade_old, fade_new, fade_blended;
  SaveState saved;
};

// StyleGAN's views for one set of controls (newest request wins).
struct StyleRequest {
  std::vector<uint64_t> sources_a = {1, 2, 3, 4};        // rows of the mixing grid: their z's seeds
  std::vector<uint64_t> sources_b = {11, 12, 13, 14, 15};  // its columns
  std::string mix_layers = "coarse";                      // B's styles at coarse, middle or fine layers
  double psi = 1.0;                                       // truncation, in -1..1
  uint64_t noise_seed = 1;   // the image whose noise is studied
  uint64_t noise_draw = 0;   // which noise draw it shows (a new number: resampled)
  std::vector<bool> noise_on = std::vector<bool>(6, true);  // per layer; off: zero noise
  uint64_t path_a = 1, path_b = 2;  // the two seeds of the z and w interpolations
  int path_steps = 8;

  bool operator==(const StyleRequest& o) const {
    return sources_a == o.sources_a && sources_b == o.sources_b && mix_layers == o.mix_layers && psi == o.psi &&
           noise_seed == o.noise_seed && noise_draw == o.noise_draw && noise_on == o.noise_on && path_a == o.path_a &&
           path_b == o.path_b && path_steps == o.path_steps;
  }
  bool operator!=(const StyleRequest& o) const { return !(*this == o); }
};

struct StyleView {
  StyleRequest request;  // what it shows
  ImageGrid mixing;      // (1 + rows) x (1 + cols): B across the top, A down the side, A with B's styles inside
  ImageGrid truncation;  // the first source at each of truncation_psi
  std::vector<double> truncation_psi;
  ImageBuffer mean_image;  // w̄ through G
  ImageGrid noise_draws;   // noise_seed's image under 8 noise draws (from noise_draw on), layers off as asked
  ImageBuffer noise_std;   // 1 x H x W: per-pixel standard deviation over 32 draws
  float noise_std_max = 0;
  std::vector<float> noise_strengths;  // learned, per layer
  ImageGrid z_path, w_path;  // path_a -> path_b, slerp in z and lerp in w
  double ms = 0;             // worker time for all of it
};

// The perceptual path length (StyleGAN, section 3): 1/eps^2 times the squared distance, in the
// FID-LeNet classifier's feature space, between G's images at t and t + eps along random paths;
// slerp in z, lerp in w (StyleGAN only); the 1 % tails dropped; the mean.
struct PathLengthView {
  int64_t step = 0;
  int paths = 0;
  double z = -1, w = -1;  // -1: not measured
};

struct LayerRequest {
  uint64_t seed = 1;  // the z
  int layer = -1;     // -1: the last
  int label = 0;      // a cGAN's class
  double psi = 1.0;   // StyleGAN's truncation

  bool operator==(const LayerRequest& o) const { return seed == o.seed && layer == o.layer && label == o.label && psi == o.psi; }
  bool operator!=(const LayerRequest& o) const { return !(*this == o); }
};

struct GanExploreView {
  ImageGrid strip;      // interpolation between two seeds (images)
  ImageGrid seed_grid;  // bilinear blend of four seeds
};

class GanLab : public Lab {
 public:
  explicit GanLab(Session& session);
  ~GanLab();
  std::vector<UnsavedTraining> unsaved_training() const override;
  std::vector<std::string> open_checkpoints() const override;

  void new_model(const GanConfig& config);  // image mode uses the open data set
  // Trains `steps` generator steps (0: until stopped). Pause and single-step are the worker's.
  void train(int64_t steps);
  enum class Single { D, G, Both };
  void single_step(Single which);
  void set_loss(GanLoss loss) { loss_ = int(loss); }
  void set_optimizer(GanOptimizer optimizer) { optimizer_ = int(optimizer); }
  void set_learning_rates(float lr_g, float lr_d) { lr_g_ = lr_g, lr_d_ = lr_d; }
  void set_d_steps(int k) { d_steps_ = k; }
  void set_slow_motion_ms(int ms) { slow_ms_ = ms; }
  void save(const std::string& path);  // written at the next step while it trains
  void load(const std::string& path);

  // Exploration (images): lerp/slerp between two seeds; a grid blending four seeds; for `label`
  // (cGAN; -1: the first class).
  void explore(uint64_t seed_a, uint64_t seed_b, uint64_t seed_c, uint64_t seed_d, int steps, bool slerp, int label);

  // Scores G's images (one of each class for a cGAN) with FID-LeNet, precision/recall and accuracy.
  void measure_quality(const QualityOptions& options);
  const Latest<QualityView>& quality() const { return quality_; }
  const Latest<GanLabView>& view() const { return view_; }
  const Latest<GanExploreView>& exploration() const { return explore_; }

  // StyleGAN only (else the request is ignored).
  void explore_style(const StyleRequest& request);
  const Latest<StyleView>& style() const { return style_; }
  // Path lengths over `paths` random paths, with the classifier at `classifier` (a long job).
  void measure_path_length(const std::string& classifier, int paths);
  const Latest<PathLengthView>& path_length() const { return path_length_; }
  // One layer of G for one z, newest request wins.
  void inspect_layers(const LayerRequest& request);
  const Latest<LayerView>& layers() const { return layers_; }

  struct State;

 private:
  Session& session_;
  std::atomic<int> loss_{-1}, optimizer_{-1}, d_steps_{-1}, slow_ms_{0};
  std::atomic<float> lr_g_{-1.f}, lr_d_{-1.f};
  SaveMailbox saves_;
  Latest<GanLabView> view_;
  Latest<GanExploreView> explore_;
  Latest<QualityView> quality_;
  Latest<StyleView> style_;
  Latest<PathLengthView> path_length_;
  Latest<LayerView> layers_;
  std::unique_ptr<State> state_;
};

}  // namespace genlab
