// The Compare table: models that draw images from noise, each measured at the points of its own
// trade-off curves with the shared metrics (FID-LeNet beside its floors, precision, recall, class
// accuracy) and timed, as plain data the UI holds and the JSON genlab-cli prints and the cache keeps.
// Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/image.h"
#include "core/metrics/compare_point.h"
#include "core/metrics/quality_report.h"

namespace genlab {

struct CompareRow {
  std::string model;       // the file's stem: "ddpm-fashion-cond"
  std::string checkpoint;  // its path
  std::string family;      // the family table's name: "vae", "gan", "diffusion"
  std::string kind;        // the checkpoint's: "vae", "stylegan", "ldm", ...
  int64_t step = 0;
  int classes = 0;         // conditional: the sample row holds one of each class in turn
  ComparePoint point;
  QualityReport quality;
  double ms_batch1 = 0, ms_batch64 = 0;  // milliseconds per image, drawing 1 and 64 at a time
  // From the provenance file beside the checkpoint (and its stages': a prior's VQ-VAE, an ldm's
  // autoencoder, whose training time is added); < 0 where none is recorded.
  double train_images_per_s = -1, train_seconds = -1;
  ImageBuffer sample_row;  // the first samples of the measured set, side by side
  bool cached = false;     // read from the results cache, not measured in this run
};

struct CompareSkipped {
  std::string model, checkpoint, reason;
};

struct CompareTable {
  int samples = 0;  // per point
  uint64_t seed = 1;
  std::string dataset, classifier;
  double classifier_accuracy = 0;
  int threads = 0;  // torch's intra-op threads while it was timed
  std::vector<CompareRow> rows;
  std::vector<CompareSkipped> skipped;
  double seconds = 0;
};

// One row as a line of JSON (with_pixels: its sample row too, as the cache keeps it), and back.
// parse_compare_row throws std::invalid_argument naming `source` for text that is not such a row.
std::string compare_row_json(const CompareRow& row, bool with_pixels);
CompareRow parse_compare_row(const std::string& text, const std::string& source);
// The table as genlab-cli compare --json prints it (rows without pixels).
std::string compare_table_json(const CompareTable& table);
// The same as a fixed-width text table, one line a row.
std::string compare_table_text(const CompareTable& table);

// A file's stem: "assets/models/ddpm-fashion-cond.safetensors" -> "ddpm-fashion-cond".
std::string model_name(const std::string& path);

// What the provenance file beside a checkpoint (NAME.json next to NAME.safetensors, as the shipped
// models have) records of its training: images per second and seconds (< 0 where it does not say).
struct TrainingRecord {
  double images_per_s = -1, seconds = -1;
};
TrainingRecord training_record(const std::string& checkpoint);

}  // namespace genlab
