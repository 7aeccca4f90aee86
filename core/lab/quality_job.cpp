#include "core/lab/quality_job.h"

#include "core/io/shipped.h"
#include "core/metrics/sample_quality.h"

namespace genlab {

namespace {

// The evaluator holds the test set's features: keep it while the classifier and data set stay.
// Touched only on the worker thread.
struct EvaluatorCache {
  std::string classifier;
  uint64_t data_stamp = 0;
  std::unique_ptr<SampleQuality> quality;
};

SampleQuality& evaluator(Session& session, const std::string& classifier) {
  if (classifier.empty())
    throw std::runtime_error("no classifier: train one (genlab-cli train --model classifier) or ship "
                             "assets/models/classifier-fashion.safetensors");
  static EvaluatorCache cache;
  auto open = session.dataset().get();
  if (!open) throw std::runtime_error("open a data set first: samples are scored against its test images");
  if (!cache.quality || cache.classifier != classifier || cache.data_stamp != open->stamp) {
    cache.quality = std::make_unique<SampleQuality>(load_classifier(classifier), open->value.data);
    cache.classifier = classifier;
    cache.data_stamp = open->stamp;
  }
  return *cache.quality;
}

std::string classifier_or_shipped(const std::string& classifier) {
  return classifier.empty() ? find_shipped_model("classifier-fashion.safetensors") : classifier;
}

}  // namespace

SampleQuality& quality_evaluator(Session& session, const std::string& classifier) {
  return evaluator(session, classifier_or_shipped(classifier));
}

void run_quality_job(JobContext& ctx, Session& session, const QualityOptions& options, const std::string& what,
                     const SampleSource& main, const std::function<SampleSource(double)>& curve, int64_t model_step,
                     Latest<QualityView>& out) {
  const std::string classifier = classifier_or_shipped(options.classifier);
  QualityView view;
  view.running = true;
  view.what = what;
  view.model_step = model_step;
  view.classifier = classifier;
  out.publish(view);
  try {
    SampleQuality& quality = evaluator(session, classifier);
    view.classifier_accuracy = quality.test_accuracy();
    const int64_t total = options.samples + int64_t(options.cfg_curve.size()) * options.curve_samples;
    int64_t done_before = 0;
    auto progress = [&](int64_t done, int64_t) {
      ctx.progress(done_before + done, total);
      return ctx.step();
    };
    Samples s = main(options.samples, options.seed, progress);
    view.main = quality.evaluate(s.images, s.labels);
    view.has_main = true;
    out.publish(view);
    done_before = options.samples;
    for (double w : options.cfg_curve) {
      Samples c = curve(w)(options.curve_samples, options.seed, progress);
      view.curve_cfg.push_back(w);
      view.curve.push_back(quality.evaluate(c.images, c.labels));
      out.publish(view);
      done_before += options.curve_samples;
    }
  } catch (const std::exception& e) {
    if (!ctx.cancelled()) view.error = e.what();
  }
  view.running = false;
  out.publish(view);
  if (!view.error.empty()) throw std::runtime_error(view.error);
}

}  // namespace genlab
