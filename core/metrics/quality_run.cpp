#include "core/metrics/quality_run.h"

#include "core/metrics/classifier.h"
#include "core/metrics/quality_json.h"
#include "core/io/safetensors.h"

namespace genlab {

std::string metadata_dataset(const std::string& metadata_json, const std::string& fallback) {
  auto meta = nlohmann::json::parse(metadata_json, nullptr, false);
  return meta.is_object() && meta.contains("dataset") && meta["dataset"].is_string() ? meta["dataset"].get<std::string>()
                                                                                     : fallback;
}

std::string checkpoint_dataset(const std::string& path, const std::string& fallback) {
  return metadata_dataset(read_checkpoint_info(path).metadata_json, fallback);
}

QualityRun::QualityRun(const EvalArgs& args, const LogLine& log)
    : args_(args), log_(log), t0_(std::chrono::steady_clock::now()), last_log_(t0_) {
  if (args.samples < 10 || args.curve_samples < 10) throw std::invalid_argument("--samples must be at least 10");
  const CheckpointInfo info = read_checkpoint_info(args.checkpoint);
  model_ = info.model;
  if (args_.dataset.empty()) args_.dataset = metadata_dataset(info.metadata_json);
  data_ = std::make_shared<const Dataset>(load_dataset(args_.dataset));
  quality_ = std::make_unique<SampleQuality>(load_classifier(args.classifier), data_);
}

nlohmann::json QualityRun::score(const SampleSource& source, int n, const std::string& what) {
  auto progress = [&](int64_t done, int64_t total) {
    if (seconds_since(last_log_) > 5.0) {
      last_log_ = std::chrono::steady_clock::now();
      log_(what + ": " + std::to_string(done) + "/" + std::to_string(total) + " samples");
    }
    return true;
  };
  Samples s = source(n, args_.seed, progress);
  return quality_report_json(quality_->evaluate(s.images, s.labels));
}

nlohmann::json QualityRun::header(int64_t step) const {
  return {{"checkpoint", args_.checkpoint},
          {"model", model_},
          {"step", step},
          {"dataset", args_.dataset},
          {"classifier", {{"path", args_.classifier}, {"test_accuracy", quality_->test_accuracy()}}}};
}

}  // namespace genlab
