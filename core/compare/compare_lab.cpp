#include "core/compare/compare_lab.h"

#include <torch/torch.h>

#include <chrono>

#include "core/lab/quality_job.h"
#include "core/metrics/sample_quality.h"
#include "core/train/run_util.h"

namespace genlab {

void CompareLab::run(const std::vector<std::string>& checkpoints, const std::string& classifier,
                     const CompareOptions& options) {
  session_.worker().submit("compare models", [this, checkpoints, classifier, options](JobContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    CompareTableView v;
    v.running = true;
    v.models = int(checkpoints.size());
    v.table.samples = options.samples;
    v.table.seed = options.seed;
    v.table.threads = torch::get_num_threads();
    v.current = "the test set's features";
    view_.publish(v);
    ctx.progress(0, int64_t(v.models) * 1000);
    SampleQuality* evaluator = nullptr;
    try {
      evaluator = &quality_evaluator(session_, classifier);
      v.table.dataset = session_.dataset().get()->value.data->spec;
      v.table.classifier = evaluator->classifier().path;
      v.table.classifier_accuracy = evaluator->test_accuracy();
    } catch (const std::exception& e) {
      v.running = false;
      v.error = e.what();
      view_.publish(v);
      return;
    }
    view_.publish(v);
    SampleQuality& quality = *evaluator;
    for (const std::string& path : checkpoints) {
      auto progress = [&](const std::string& what, int64_t done, int64_t total) {
        ctx.progress(int64_t(v.models_done) * 1000 + (total > 0 ? done * 1000 / total : 0), int64_t(v.models) * 1000);
        if (what != v.current) {
          v.current = what;
          view_.publish(v);
        }
        return ctx.step();
      };
      auto row_done = [&](const CompareRow& row) {
        v.table.rows.push_back(row);
        view_.publish(v);
      };
      v.current = model_name(path) + (options.cached_only ? ": reading the cache" : ": opening");
      view_.publish(v);
      ctx.progress(int64_t(v.models_done) * 1000, int64_t(v.models) * 1000);
      if (!ctx.step()) break;
      try {
        ComparedModel m = compare_checkpoint(path, quality, v.table.dataset, options, progress, row_done);
        if (!m.skipped.empty()) v.table.skipped.push_back({model_name(path), path, m.skipped});
      } catch (const std::runtime_error& e) {
        if (ctx.cancelled()) break;
        v.error = e.what();
      } catch (const std::exception& e) {
        v.error = e.what();
      }
      ++v.models_done;
      view_.publish(v);
      if (ctx.cancelled()) break;
    }
    v.running = false;
    v.current.clear();
    v.table.seconds = seconds_since(t0);
    view_.publish(v);
  });
}

}  // namespace genlab
