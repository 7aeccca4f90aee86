// The labs' Metrics views: a worker job that scores a lab's model with FID-LeNet, precision/recall
// and class accuracy (and, for a guided diffusion model, the CFG trade-off curve), publishing as it
// goes. Torch header: the labs hand it their model as a SampleSource.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/compute/latest.h"
#include "core/compute/worker.h"
#include "core/metrics/model_samples.h"
#include "core/metrics/quality_report.h"
#include "core/lab/session.h"

namespace genlab {

class SampleQuality;
// The evaluator for `classifier` (empty: the shipped one) and the open data set, cached on the
// worker while both stay (worker thread only). Throws without a classifier or data set.
SampleQuality& quality_evaluator(Session& session, const std::string& classifier);

// Runs inside a long job: the evaluator (cached on the worker for the classifier and the open data
// set), the main figure from `main`, then one point per scale from `curve(w)`. Throws on a missing
// classifier or data set; stops quietly when the job is cancelled.
void run_quality_job(JobContext& ctx, Session& session, const QualityOptions& options, const std::string& what,
                     const SampleSource& main, const std::function<SampleSource(double)>& curve, int64_t model_step,
                     Latest<QualityView>& out);

}  // namespace genlab
