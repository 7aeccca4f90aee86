// The sample-quality part of `genlab-cli eval`, shared by the families: the data set and the
// classifier loaded once, then any model's samples scored with FID-LeNet (beside its floors),
// precision/recall, label entropy and class accuracy, as JSON. Torch header.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "core/metrics/model_samples.h"
#include "core/metrics/sample_quality.h"
#include "core/train/run_args.h"
#include "core/train/run_util.h"

namespace genlab {

class QualityRun {
 public:
  // Loads the data set (args.dataset, else the one the checkpoint names) and args.classifier
  // (required). Throws std::invalid_argument for fewer than 10 samples.
  QualityRun(const EvalArgs& args, const LogLine& log);

  // The samples of `source` scored; `what` names them in progress lines.
  nlohmann::json score(const SampleSource& source, int n, const std::string& what);
  // {"checkpoint", "model", "step", "dataset", "classifier"}: the head of the eval's JSON.
  nlohmann::json header(int64_t step) const;
  const std::shared_ptr<const Dataset>& data() const { return data_; }
  SampleQuality& evaluator() { return *quality_; }  // the classifier's feature space, for other figures
  const EvalArgs& args() const { return args_; }
  double seconds() const { return seconds_since(t0_); }

 private:
  EvalArgs args_;
  LogLine log_;
  std::string model_;
  std::shared_ptr<const Dataset> data_;
  std::unique_ptr<SampleQuality> quality_;
  std::chrono::steady_clock::time_point t0_, last_log_;
};

// The data set a checkpoint was trained on, from its metadata (JSON text) or its file; else `fallback`.
std::string metadata_dataset(const std::string& metadata_json, const std::string& fallback = "fashion-mnist");
std::string checkpoint_dataset(const std::string& path, const std::string& fallback = "fashion-mnist");

}  // namespace genlab
