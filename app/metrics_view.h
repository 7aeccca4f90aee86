// The labs' Metrics views, drawn one way for the three labs: the sample counts and the Measure
// button, then a measurement (core/metrics/quality_report.h) as a table (FID-LeNet beside its two
// floors, precision, recall, label entropy, class accuracy), the per-class accuracy and, for a guided
// diffusion model, the CFG trade-off curve as it grows.
#pragma once

#include <string>
#include <vector>

#include "core/compute/worker.h"
#include "core/metrics/quality_report.h"

namespace genlab::app {

// What the user set for the next measurement.
struct QualityControls {
  int samples = 1000;
  int curve_samples = 300;  // per guidance scale (diffusion only)

  QualityOptions options(std::vector<double> cfg_curve = {}) const;
};

// The sample counts (and the per-scale count where `curve`), the Measure button and, while a
// measurement runs, Stop. `unavailable`: non-null greys Measure out and says why. Returns true on
// the frame Measure is pressed: the caller hands options() to its lab.
bool draw_quality_controls(QualityControls& controls, Worker& worker, bool curve, const char* unavailable = nullptr);

// A measurement as published by a lab (null: none yet). `class_names` label the per-class bars and
// give the uniform-entropy reference; empty is fine.
void draw_quality(const QualityView* view, const std::vector<std::string>& class_names);

}  // namespace genlab::app
