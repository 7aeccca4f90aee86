#include "core/metrics/quality_json.h"

namespace genlab {

nlohmann::json quality_report_json(const QualityReport& r) {
  nlohmann::json j = {{"samples", r.samples}, {"fid", r.fid}, {"precision", r.precision}, {"recall", r.recall},
                      {"label_entropy", r.label_entropy}, {"sharpness", r.sharpness},
                      {"fid_floors", {{"train_vs_test", r.floor_train_vs_test}, {"test_vs_test", r.floor_test_vs_test}}}};
  if (r.accuracy >= 0) j["accuracy"] = r.accuracy, j["class_accuracy"] = r.class_accuracy;
  return j;
}

QualityReport quality_report_from_json(const nlohmann::json& j) {
  QualityReport r;
  r.samples = j.at("samples").get<int>();
  r.fid = j.at("fid").get<double>();
  r.precision = j.at("precision").get<double>();
  r.recall = j.at("recall").get<double>();
  r.label_entropy = j.at("label_entropy").get<double>();
  r.sharpness = j.at("sharpness").get<double>();
  r.floor_train_vs_test = j.at("fid_floors").at("train_vs_test").get<double>();
  r.floor_test_vs_test = j.at("fid_floors").at("test_vs_test").get<double>();
  if (j.contains("accuracy")) {
    r.accuracy = j.at("accuracy").get<double>();
    r.class_accuracy = j.at("class_accuracy").get<std::vector<double>>();
  }
  return r;
}

}  // namespace genlab
