// A QualityReport as JSON — the shape genlab-cli eval prints — and back (the Compare cache).
// Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include "core/metrics/quality_report.h"

namespace genlab {

nlohmann::json quality_report_json(const QualityReport& report);
// Throws nlohmann::json's exceptions for a missing key or a wrong type.
QualityReport quality_report_from_json(const nlohmann::json& j);

}  // namespace genlab
