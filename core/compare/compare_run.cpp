#include "core/compare/compare_run.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "core/compute/timing.h"
#include "core/families.h"
#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/metrics/comparable.h"
#include "core/metrics/quality_run.h"
#include "core/metrics/sample_quality.h"

namespace genlab {

namespace {

// Bump when what a cached row means changes (metrics, sampling, timing).
constexpr const char* kCacheVersion = "compare-1";
constexpr int kRowImages = 10;  // the sample row: one of each class of a 10-class model

std::string hex(uint64_t v) {
  char text[20];
  snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

uint64_t fnv1a(const char* data, size_t size, uint64_t h = 1469598103934665603ull) {
  for (size_t i = 0; i < size; ++i) h = (h ^ uint8_t(data[i])) * 1099511628211ull;
  return h;
}

// The bytes of a file, hashed: a retrained or edited checkpoint gets new cache entries.
std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "missing";
  uint64_t h = 1469598103934665603ull;
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    h = fnv1a(buffer.data(), size_t(in.gcount()), h);
  }
  return hex(h);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Milliseconds per image drawing `batch` at a time: the median of `repeats` draws (already warm).
double ms_per_image(const SampleSource& source, int batch, int repeats, uint64_t seed) {
  return 1e3 * median_seconds(repeats, 1, 0, [&] { source(batch, seed, {}); }) / batch;
}

ImageBuffer sample_row(const torch::Tensor& images) {
  const int n = int(std::min<int64_t>(kRowImages, images.size(0)));
  auto x = images.slice(0, 0, n).contiguous().to(torch::kFloat);
  return make_image_grid(x.data_ptr<float>(), n, int(x.size(1)), int(x.size(2)), int(x.size(3)), n).image;
}

int64_t metadata_step(const std::string& metadata_json) {
  auto meta = nlohmann::json::parse(metadata_json, nullptr, false);
  return meta.is_object() && meta.contains("step") && meta["step"].is_number_integer() ? meta["step"].get<int64_t>() : 0;
}

// A stage's file: the one of its name beside the checkpoint (where the shipped models keep theirs,
// with their provenance), else the path the model names (an ldm names the path its autoencoder had
// when it was trained).
std::string stage_path(const std::string& stage, const std::string& checkpoint) {
  const auto beside = std::filesystem::path(checkpoint).parent_path() / std::filesystem::path(stage).filename();
  return std::filesystem::exists(beside) ? beside.string() : stage;
}

// Timed warm, after the measured draw: one image three times, then a batch of 64.
void time_sampling(const SampleSource& source, uint64_t seed, CompareRow& row) {
  row.ms_batch1 = ms_per_image(source, 1, 3, seed + 1000);
  row.ms_batch64 = ms_per_image(source, 64, 1, seed + 2000);
}

void write_cached(const std::string& dir, const std::string& file, const CompareRow& row) {
  if (file.empty()) return;
  std::filesystem::create_directories(dir);
  const std::string text = compare_row_json(row, true);
  write_file_atomically(file, std::vector<uint8_t>(text.begin(), text.end()));
}

// A cached row, or none when the file is not there or cannot be read as one (it is measured again
// and the file replaced).
std::optional<CompareRow> read_cached(const std::string& file) {
  if (file.empty() || !std::filesystem::exists(file)) return std::nullopt;
  try {
    CompareRow row = parse_compare_row(read_text(file), file);
    row.cached = true;
    return row;
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

}  // namespace

std::string compare_cache_dir() {
  if (const char* dir = std::getenv("GENLAB_CACHE_DIR"); dir && *dir) return std::string(dir) + "/compare";
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir) return std::string(dir) + "/genlab/compare";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/genlab/compare";
  return "";
}

std::vector<std::string> shipped_models() {
  std::vector<std::string> out;
  for (const Family& family : families())
    for (const std::string& name : family.shipped)
      if (std::string path = find_shipped_model(name); !path.empty()) out.push_back(path);
  return out;
}

ComparedModel compare_checkpoint(const std::string& path, SampleQuality& quality, const std::string& dataset,
                                 const CompareOptions& options, const CompareProgress& progress,
                                 const std::function<void(const CompareRow&)>& row_done) {
  if (options.samples < 10) throw std::invalid_argument("--samples " + std::to_string(options.samples) + " is below 10");
  const CheckpointInfo info = read_checkpoint_info(path);
  const Family& family = family_of_kind(info.model, path);
  ComparedModel out;
  if (!family.open_comparable) {
    out.skipped = family.name == "translate" ? "it translates a picture it is given; it draws nothing from noise"
                                             : "it draws nothing from noise (" + family.title + ")";
    return out;
  }
  if (const std::string trained_on = metadata_dataset(info.metadata_json); trained_on != dataset) {
    out.skipped = "trained on " + trained_on + "; this table scores " + dataset;
    return out;
  }
  std::shared_ptr<ComparableModel> model = family.open_comparable(path);
  if (!model->not_a_sampler.empty()) {
    out.skipped = model->not_a_sampler;
    return out;
  }

  CompareRow base;
  base.model = model_name(path);
  base.checkpoint = path;
  base.family = family.name;
  base.kind = model->kind;
  base.step = metadata_step(info.metadata_json);
  base.classes = model->classes;
  const TrainingRecord own = training_record(path);
  base.train_images_per_s = own.images_per_s;
  base.train_seconds = own.seconds;
  std::string model_id = file_hash(path);
  for (const std::string& stage : model->stages) {
    const std::string file = stage_path(stage, path);
    model_id += "+" + file_hash(file);
    if (const TrainingRecord r = training_record(file); r.seconds >= 0 && base.train_seconds >= 0) base.train_seconds += r.seconds;
  }

  const std::string dir = options.cache_dir.empty() ? compare_cache_dir() : options.cache_dir;
  const std::string scoring = file_hash(quality.classifier().path) + "|" + dataset + "|" + std::to_string(options.samples) +
                              "|" + std::to_string(options.seed) + "|threads " + std::to_string(torch::get_num_threads());
  std::map<std::string, CompareRow> measured;  // the default point lies on two curves: measured once
  const int64_t total = int64_t(model->points.size()) * options.samples;
  for (size_t i = 0; i < model->points.size(); ++i) {
    const ComparePoint& point = model->points[i];
    const std::string what = base.model + ": " + point.label();
    const std::string key = point.key() + "|" + model_id + "|" + scoring + "|" + kCacheVersion;
    const std::string file = dir.empty() ? "" : dir + "/" + hex(fnv1a(key.data(), key.size())) + ".json";
    CompareRow row;
    if (auto found = measured.find(key); found != measured.end()) {
      row = found->second;
    } else if (std::optional<CompareRow> hit = options.use_cache ? read_cached(file) : std::nullopt) {
      row = *hit;
      if (options.retime) {
        time_sampling(model->source(point), options.seed, row);
        write_cached(dir, file, row);
      }
    } else if (options.cached_only) {
      continue;
    } else {
      const SampleSource source = model->source(point);
      const int64_t before = int64_t(i) * options.samples;
      Samples s = source(options.samples, options.seed, [&](int64_t done, int64_t) {
        return !progress || progress(what, before + done, total);
      });
      row = base;
      row.quality = quality.evaluate(s.images, s.labels);
      row.sample_row = sample_row(s.images);
      time_sampling(source, options.seed, row);
      write_cached(dir, file, row);
    }
    measured[key] = row;
    // What the file says now: the same bytes may sit at another path, at another point of a curve.
    row.model = base.model;
    row.checkpoint = path;
    row.family = base.family;
    row.kind = base.kind;
    row.step = base.step;
    row.classes = base.classes;
    row.train_images_per_s = base.train_images_per_s;
    row.train_seconds = base.train_seconds;
    row.point = point;
    out.rows.push_back(row);
    if (row_done) row_done(row);
    if (progress && !progress(what, int64_t(i + 1) * options.samples, total)) throw std::runtime_error("cancelled");
  }
  return out;
}

CompareTable compare_models(const std::vector<std::string>& checkpoints, const std::string& classifier,
                            const std::string& dataset, const CompareOptions& options, const LogLine& log) {
  const auto t0 = std::chrono::steady_clock::now();
  if (checkpoints.empty()) throw std::invalid_argument("no checkpoints to compare");
  for (const std::string& path : checkpoints) family_of_checkpoint(path);  // a bad file fails before any work
  CompareTable table;
  table.samples = options.samples;
  table.seed = options.seed;
  table.dataset = dataset.empty() ? checkpoint_dataset(checkpoints.front()) : dataset;
  table.classifier = classifier;
  auto data = std::make_shared<const Dataset>(load_dataset(table.dataset));
  SampleQuality quality(load_classifier(classifier), data);
  table.classifier_accuracy = quality.test_accuracy();
  table.threads = torch::get_num_threads();
  auto last_log = std::chrono::steady_clock::now();
  for (const std::string& path : checkpoints) {
    auto progress = [&](const std::string& what, int64_t done, int64_t total) {
      if (seconds_since(last_log) > 5.0) {
        last_log = std::chrono::steady_clock::now();
        log(what + ": " + std::to_string(done) + "/" + std::to_string(total) + " samples");
      }
      return true;
    };
    auto row_done = [&](const CompareRow& r) {
      log(r.model + ": " + r.point.label() + (r.cached ? " (cached)" : "") + ": FID " + std::to_string(r.quality.fid));
    };
    ComparedModel m = compare_checkpoint(path, quality, table.dataset, options, progress, row_done);
    if (!m.skipped.empty()) {
      log(model_name(path) + ": " + m.skipped);
      table.skipped.push_back({model_name(path), path, m.skipped});
    }
    table.rows.insert(table.rows.end(), m.rows.begin(), m.rows.end());
  }
  table.seconds = seconds_since(t0);
  return table;
}

}  // namespace genlab
