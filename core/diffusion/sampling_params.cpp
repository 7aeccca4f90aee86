#include "core/diffusion/sampling_params.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "core/data/dataset.h"
#include "core/diffusion/guidance_schedule.h"

namespace genlab {

namespace {

using Json = nlohmann::json;


// The text comes from a file: escaped as JSON escapes it (the parser let only valid UTF-8 through)
// and capped, so an error stays one readable line.
std::string shown(const std::string& text) {
  constexpr size_t kMaxShown = 64;
  const std::string escaped = Json(text).dump();
  const std::string inner = escaped.substr(1, escaped.size() - 2);
  return "'" + (inner.size() > kMaxShown ? inner.substr(0, kMaxShown) + "..." : inner) + "'";
}

// JSON integers that fit Int only: a float such as 1e10 would overflow the cast (undefined
// behaviour) and a larger integer would wrap.
template <typename Int>
bool integer_value(const Json& value, Int& out) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<Int>::max())) return false;
    out = Int(v);
    return true;
  }
  if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (v < int64_t(std::numeric_limits<Int>::min()) ||
        (v > 0 && uint64_t(v) > uint64_t(std::numeric_limits<Int>::max())))
      return false;
    out = Int(v);
    return true;
  }
  return false;
}

class Reader {
 public:
  Reader(const Json& params, const std::string& source) : params_(params), source_(source) {}

  template <typename Int>
  void integer(const char* key, Int& out) const {
    const auto it = params_.find(key);
    if (it != params_.end() && !integer_value(*it, out))
      fail(key, "is not an integer from " + std::to_string(std::numeric_limits<Int>::min()) + " to " +
                    std::to_string(std::numeric_limits<Int>::max()));
  }
  void number(const char* key, double& out) const {
    const auto it = params_.find(key);
    if (it == params_.end()) return;
    if (!it->is_number()) fail(key, "is not a number");
    out = it->get<double>();
  }
  void text(const char* key, std::string& out) const {
    const auto it = params_.find(key);
    if (it == params_.end()) return;
    if (!it->is_string()) fail(key, "is not a string");
    out = it->get<std::string>();
  }
  [[noreturn]] void fail(const char* key, const std::string& problem) const {
    throw DataError(source_ + ": sampling parameter \"" + key + "\" " + problem);
  }

 private:
  const Json& params_;
  const std::string& source_;
};

}  // namespace

const std::vector<SamplerName>& sampler_names() {
  static const std::vector<SamplerName> names = {
      {"ddpm", "DDPM (ancestral)", "DDPM"}, {"ddim", "DDIM", "DDIM"}, {"dpmpp2m", "DPM-Solver++(2M)", "DPM++ 2M"}};
  return names;
}

const SamplerName* find_sampler_name(const std::string& name) {
  for (const SamplerName& s : sampler_names())
    if (name == s.name) return &s;
  return nullptr;
}

std::string sampling_record_json(const SamplingRecord& record) {
  const SamplingParams& p = record.params;
  Json out{{"checkpoint", record.checkpoint}, {"sampler", p.sampler}, {"steps", p.steps}, {"cfg", p.cfg},
           {"cfg_schedule", p.cfg_schedule}, {"eta", p.eta}, {"class", p.label}, {"seed", p.seed}, {"n", p.n}};
  if (record.edited) {
    const EditSettings& e = record.edit;
    out["edit"] = Json{{"mode", edit_mode_name(e.mode)}, {"strength", e.strength}, {"sigma", e.sigma},
                       {"resample", e.resample}, {"factor", e.factor}};
  }
  return out.dump();
}

void check_sampling_params(const SamplingParams& params, int T, int classes, const std::string& prefix) {
  if (params.steps < 1 || params.steps > T)
    throw std::invalid_argument(prefix + "steps " + std::to_string(params.steps) + " is not in 1.." + std::to_string(T));
  // Written so that NaN fails too.
  if (!(params.cfg >= 0 && params.cfg <= 20))
    throw std::invalid_argument(prefix + "cfg " + std::to_string(params.cfg) + " is not in 0..20");
  if (!(params.eta >= 0 && params.eta <= 1))
    throw std::invalid_argument(prefix + "eta " + std::to_string(params.eta) + " is not in 0..1");
  if (classes > 0 && (params.label < -1 || params.label >= classes))
    throw std::invalid_argument(prefix + "class " + std::to_string(params.label) + " is not in 0.." + std::to_string(classes - 1));
  try {
    parse_guidance_schedule(params.cfg_schedule);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(prefix + "cfg-schedule: " + e.what());
  }
}

SamplingRecord parse_sampling_record(const std::string& text, const std::string& source) {
  const Json params = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!params.is_object() || !params.contains("sampler"))
    throw DataError(source + ": carries no genlab sampling parameters");
  const Reader read(params, source);
  SamplingRecord record;
  SamplingParams& p = record.params;
  read.text("sampler", p.sampler);
  if (!find_sampler_name(p.sampler))
    throw DataError(source + ": unknown sampler " + shown(p.sampler));
  read.integer("steps", p.steps);
  read.number("cfg", p.cfg);
  read.number("eta", p.eta);
  read.integer("class", p.label);
  read.integer("seed", p.seed);
  read.integer("n", p.n);
  read.text("checkpoint", record.checkpoint);
  read.text("cfg_schedule", p.cfg_schedule);
  try {
    parse_guidance_schedule(p.cfg_schedule);
  } catch (const std::invalid_argument&) {
    throw DataError(source + ": unknown guidance schedule " + shown(p.cfg_schedule));
  }
  const auto edit = params.find("edit");
  if (edit != params.end()) {
    if (!edit->is_object()) read.fail("edit", "is not an object");
    const Reader read_edit(*edit, source);
    std::string mode = "sdedit";
    read_edit.text("mode", mode);
    try {
      record.edit.mode = parse_edit_mode(mode);
    } catch (const std::invalid_argument&) {
      throw DataError(source + ": unknown edit " + shown(mode));
    }
    read_edit.number("strength", record.edit.strength);
    read_edit.number("sigma", record.edit.sigma);
    read_edit.integer("resample", record.edit.resample);
    read_edit.integer("factor", record.edit.factor);
    record.edited = true;
  }
  return record;
}

std::string student_mismatch(const DistilledFrom& student, const SamplingParams& p) {
  if (student.steps == 0) return "not a student";
  if (p.sampler != student.sampler || p.steps != student.teacher_steps) {
    const SamplerName* name = find_sampler_name(student.sampler);
    return std::string("it stands for ") + (name ? name->title : student.sampler.c_str()) + " " +
           std::to_string(student.teacher_steps) + " steps";
  }
  if (p.cfg_schedule != "constant") return "it learnt a constant w";
  // Below w = 1 the shipped student still follows the class (43 % class accuracy at w = 0, where its
  // teacher's is chance): the unconditional end is the teacher's to draw.
  constexpr double kFaithfulFrom = 1.0;
  if (p.cfg < kFaithfulFrom || p.cfg > student.w_max) {
    char text[64];
    std::snprintf(text, sizeof text, "it stands in for w in %g..%g", kFaithfulFrom, student.w_max);
    return text;
  }
  return "";
}

}  // namespace genlab
