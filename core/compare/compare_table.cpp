#include "core/compare/compare_table.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/metrics/quality_json.h"

namespace genlab {

namespace {

using Json = nlohmann::json;

Json point_json(const ComparePoint& p) {
  Json j = {{"knob", p.knob}, {"value", p.value()}, {"label", p.label()}, {"default", p.is_default}};
  if (!p.sampler.empty()) j["sampler"] = p.sampler, j["steps"] = p.steps, j["cfg"] = p.cfg;
  if (p.knob == "temperature") j["temperature"] = p.temperature;
  if (p.knob == "psi") j["psi"] = p.psi;
  return j;
}

ComparePoint point_from_json(const Json& j) {
  ComparePoint p;
  p.knob = j.at("knob").get<std::string>();
  p.is_default = j.at("default").get<bool>();
  if (j.contains("sampler")) {
    p.sampler = j.at("sampler").get<std::string>();
    p.steps = j.at("steps").get<int>();
    p.cfg = j.at("cfg").get<double>();
  }
  if (j.contains("temperature")) p.temperature = j.at("temperature").get<double>();
  if (j.contains("psi")) p.psi = j.at("psi").get<double>();
  return p;
}

Json row_json(const CompareRow& r, bool with_pixels) {
  Json j = {{"model", r.model},
            {"checkpoint", r.checkpoint},
            {"family", r.family},
            {"kind", r.kind},
            {"step", r.step},
            {"classes", r.classes},
            {"point", point_json(r.point)},
            {"quality", quality_report_json(r.quality)},
            {"ms_per_image", {{"batch_1", r.ms_batch1}, {"batch_64", r.ms_batch64}}},
            {"cached", r.cached}};
  if (r.train_images_per_s >= 0) j["train_images_per_s"] = r.train_images_per_s;
  if (r.train_seconds >= 0) j["train_seconds"] = r.train_seconds;
  if (with_pixels && !r.sample_row.empty()) {
    const ImageBuffer& s = r.sample_row;
    std::vector<int> bytes;
    bytes.reserve(s.pixels.size());
    for (float v : s.pixels) bytes.push_back(int(std::lround(std::min(1.f, std::max(0.f, v)) * 255)));
    j["sample_row"] = {{"channels", s.channels}, {"height", s.height}, {"width", s.width}, {"bytes", bytes}};
  }
  return j;
}

std::string fixed(double v, int digits) {
  if (v < 0) return "-";
  char text[32];
  snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

}  // namespace

std::string compare_row_json(const CompareRow& row, bool with_pixels) { return row_json(row, with_pixels).dump(); }

CompareRow parse_compare_row(const std::string& text, const std::string& source) {
  try {
    const Json j = Json::parse(text);
    CompareRow r;
    r.model = j.at("model").get<std::string>();
    r.checkpoint = j.at("checkpoint").get<std::string>();
    r.family = j.at("family").get<std::string>();
    r.kind = j.at("kind").get<std::string>();
    r.step = j.at("step").get<int64_t>();
    r.classes = j.at("classes").get<int>();
    r.point = point_from_json(j.at("point"));
    r.quality = quality_report_from_json(j.at("quality"));
    r.ms_batch1 = j.at("ms_per_image").at("batch_1").get<double>();
    r.ms_batch64 = j.at("ms_per_image").at("batch_64").get<double>();
    r.train_images_per_s = j.value("train_images_per_s", -1.0);
    r.train_seconds = j.value("train_seconds", -1.0);
    if (j.contains("sample_row")) {
      const Json& s = j.at("sample_row");
      ImageBuffer& image = r.sample_row;
      image.channels = s.at("channels").get<int>();
      image.height = s.at("height").get<int>();
      image.width = s.at("width").get<int>();
      const auto bytes = s.at("bytes").get<std::vector<int>>();
      if (bytes.size() != size_t(image.channels) * image.height * image.width)
        throw std::invalid_argument("its sample row holds " + std::to_string(bytes.size()) + " values, not C x H x W");
      for (int b : bytes) image.pixels.push_back(float(b) / 255.f);
    }
    return r;
  } catch (const std::exception& e) {
    throw std::invalid_argument(source + ": not a Compare result (" + e.what() + ")");
  }
}

std::string compare_table_json(const CompareTable& t) {
  Json rows = Json::array(), skipped = Json::array();
  for (const CompareRow& r : t.rows) rows.push_back(row_json(r, false));
  for (const CompareSkipped& s : t.skipped)
    skipped.push_back({{"model", s.model}, {"checkpoint", s.checkpoint}, {"reason", s.reason}});
  return Json({{"samples", t.samples},
               {"seed", t.seed},
               {"dataset", t.dataset},
               {"classifier", {{"path", t.classifier}, {"test_accuracy", t.classifier_accuracy}}},
               {"threads", t.threads},
               {"rows", rows},
               {"skipped", skipped},
               {"seconds", t.seconds}})
      .dump();
}

std::string compare_table_text(const CompareTable& t) {
  std::ostringstream out;
  char line[512];
  snprintf(line, sizeof line, "%-22s %-40s %7s %7s %6s %6s %6s %6s %9s %9s %9s %8s\n", "model", "point", "FID", "floor",
           "prec", "recall", "acc", "sharp", "ms b1", "ms b64", "train i/s", "train s");
  out << line;
  for (const CompareRow& r : t.rows) {
    const std::string point = r.point.label() + (r.point.is_default ? " *" : "");
    snprintf(line, sizeof line, "%-22s %-40s %7.1f %7.1f %6.3f %6.3f %6s %6.2f %9.2f %9.2f %9s %8s\n", r.model.c_str(),
             point.c_str(), r.quality.fid, r.quality.floor_train_vs_test, r.quality.precision, r.quality.recall,
             fixed(r.quality.accuracy, 3).c_str(), r.quality.sharpness, r.ms_batch1, r.ms_batch64,
             fixed(r.train_images_per_s, 0).c_str(), fixed(r.train_seconds, 0).c_str());
    out << line;
  }
  for (const CompareSkipped& s : t.skipped) out << s.model << ": not compared, " << s.reason << "\n";
  return out.str();
}

std::string model_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind(".safetensors");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

TrainingRecord training_record(const std::string& checkpoint) {
  TrainingRecord record;
  const size_t dot = checkpoint.rfind(".safetensors");
  if (dot == std::string::npos) return record;
  std::ifstream in(checkpoint.substr(0, dot) + ".json");
  if (!in) return record;
  const Json j = Json::parse(in, nullptr, false);
  if (!j.is_object()) return record;
  // The shipped files say it in three ways, as their training runs reported it.
  auto number = [](const Json& o, const char* key) { return o.contains(key) && o[key].is_number() ? o[key].get<double>() : -1.0; };
  const Json result = j.contains("train_result") && j["train_result"].is_object() ? j["train_result"] : Json::object();
  record.images_per_s = number(result, "images_per_s");
  if (record.images_per_s < 0) record.images_per_s = number(result, "samples_per_s");
  if (record.images_per_s < 0) record.images_per_s = number(j, "train_images_per_s");
  record.seconds = number(result, "seconds");
  if (record.seconds < 0) record.seconds = number(j, "wall_time_s");
  if (record.seconds < 0 && number(j, "wall_time_minutes") >= 0) record.seconds = number(j, "wall_time_minutes") * 60;
  return record;
}

}  // namespace genlab
