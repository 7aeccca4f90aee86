// The VQ lab's model side (the VAE tab's "VQ-VAE" mode): a VQ-VAE and the prior over its codes,
// live training of each, and the views: code usage and perplexity, an image's code map with
// discrete editing, every codebook entry decoded alone, and prior sampling that fills the code map
// position by position. Torch-free header: methods enqueue work on the worker; the UI reads the
// published snapshots.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/compute/latest.h"
#include "core/data/image.h"
#include "core/data/layer_view.h"
#include "core/lab/save_mailbox.h"
#include "core/lab/session.h"
#include "core/metrics/quality_report.h"
#include "core/vae/vq_config.h"

namespace genlab {

struct VqModelView {
  bool exists = false;
  uint64_t id = 0;                 // new for every created or loaded VQ-VAE
  VqConfig config;
  std::string dataset;
  int64_t step = 0, steps_per_epoch = 1;
  double epoch = 0;
  std::vector<VqCurvePoint> curve;  // recon, commitment, perplexity, used codes, restarts per step
  std::vector<float> usage;         // share of the grid cells each code took over recent steps (K)
  std::vector<float> test_usage;    // the same over the test set (at creation, load and each epoch)
  double test_perplexity = 0, test_recon_bce = 0, test_recon_mse = 0;
  int test_used = 0;
  ImageGrid originals, reconstructions;  // a fixed test batch and its decodes
  ImageGrid codebook;               // every code decoded alone (the whole grid set to it), K cells
  double images_per_s = 0;
  SaveState saved;
};

struct VqPriorView {
  bool exists = false;
  uint64_t id = 0;
  VqPriorConfig config;
  int64_t step = 0, steps_per_epoch = 1;
  double epoch = 0;
  std::vector<float> loss_steps, loss;  // nats per code (smoothed), by step
  double test_nats = 0;                 // on the test set's code maps (at creation, load, each epoch)
  double images_per_s = 0;
  std::string error;                    // why the prior does not fit the VQ-VAE (then exists is false)
  SaveState saved;
};

struct VqLabView {
  VqModelView vq;
  VqPriorView prior;
};

// An image's code map: the picture, its codes (row-major, grid_h x grid_w) and their decode.
struct CodeMapView {
  uint64_t model_id = 0;
  int64_t source_index = -1;       // test image, -1 for a dropped picture
  ImageBuffer original;            // empty when the map was not encoded from an image
  std::vector<int> codes;          // as encoded, then with the edits
  std::vector<int> encoded;        // as the encoder gave them
  int grid_h = 0, grid_w = 0;
  ImageBuffer decoded;             // the decode of `codes`
  ImageBuffer decoded_unedited;    // the decode of `encoded`
  double recon_bce = 0;            // of the unedited decode against the original, nats
  uint64_t request = 0;            // the stamp of the request this answers
};

// A prior sampling run: the code map after each position, decoded, so the UI can play it back.
struct PriorSampleView {
  uint64_t request = 0;
  uint64_t prior_id = 0;           // the VqPriorView::id of the prior that drew it
  int label = -1;                  // the class asked for, -1 none
  PriorSampling sampling;
  uint64_t seed = 0;
  int grid_h = 0, grid_w = 0;
  int filled = 0;                  // positions drawn so far (grid_h * grid_w when done)
  std::vector<std::vector<int>> frames;  // codes after each position (-1: not drawn yet)
  std::vector<ImageBuffer> decoded;      // the decode of each frame (undrawn cells: the commonest code)
  // The distribution each position was drawn from (K each, after temperature and top-k); the code
  // drawn there is frames[i][i].
  std::vector<std::vector<float>> probabilities;
  ImageGrid batch;                       // a grid of finished samples of the same settings
  double seconds = 0;
};

class VqLab : public Lab {
 public:
  explicit VqLab(Session& session);
  ~VqLab();
  std::vector<UnsavedTraining> unsaved_training() const override;
  std::vector<std::string> open_checkpoints() const override;

  // A new VQ-VAE on the open data set (drops a prior trained on another one's codes).
  void new_model(const VqConfig& config);
  void train(double epochs);
  void set_restarts(bool on) { restarts_ = on ? 1 : 0; }  // live, at the next step
  void set_learning_rate(float lr) { learning_rate_ = lr; }
  // A new prior over the current VQ-VAE's codes (class-conditional when the data has labels).
  void new_prior(const VqPriorConfig& config);
  void train_prior(double epochs);
  void save(const std::string& path);        // the VQ-VAE
  void save_prior(const std::string& path);
  // A VQ-VAE or prior checkpoint (a prior also loads the VQ-VAE it names unless that one is open,
  // and refuses one whose codebook size or grid differ).
  void load(const std::string& path);

  // The code map of a test image, or of a picture; then edits: set cell (row, col) to `code`.
  // Each returns its request's stamp (the CodeMapView that answers it carries it). Every request
  // carries the whole map (source and edits), so a newer one replacing an older loses nothing.
  uint64_t encode_test_image(int64_t index);
  uint64_t encode_image(const ImageBuffer& image);
  uint64_t edit_code(int row, int col, int code);  // the job fails for a code outside 0..K-1
  uint64_t reset_edits();
  // Draws one code map position by position (publishing each), then `batch` more for the grid.
  void sample_prior(int label, const PriorSampling& sampling, uint64_t seed, int batch = 16);
  // The decoder's layer `layer` for the current code map (the layer view).
  void inspect_layers(int layer);
  // FID-LeNet, precision/recall and sharpness of the prior's decoded samples.
  void measure_quality(const PriorSampling& sampling, const QualityOptions& options);

  const Latest<VqLabView>& view() const { return view_; }
  const Latest<CodeMapView>& code_map() const { return code_map_; }
  const Latest<PriorSampleView>& prior_sample() const { return prior_sample_; }
  const Latest<LayerView>& layers() const { return layers_; }
  const Latest<QualityView>& quality() const { return quality_; }

  struct State;  // worker-thread state; defined in vq_lab.cpp

  // The code map the UI asked for last: a test image or a picture, and the edits on it.
  struct MapRequest {
    int64_t index = -1;          // test image, -1: `image`
    ImageBuffer image;
    std::map<std::pair<int, int>, int> edits;  // cell (row, col) -> code
  };

 private:
  void publish();
  uint64_t request_map();  // sends a copy of map_ (under its mutex)

  Session& session_;
  std::atomic<int> restarts_{-1};          // < 0: no change requested
  std::atomic<float> learning_rate_{-1.f};
  std::mutex map_mutex_;
  MapRequest map_;
  SaveMailbox saves_;
  Latest<VqLabView> view_;
  Latest<CodeMapView> code_map_;
  Latest<PriorSampleView> prior_sample_;
  Latest<LayerView> layers_;
  Latest<QualityView> quality_;
  std::unique_ptr<State> state_;
};

}  // namespace genlab
