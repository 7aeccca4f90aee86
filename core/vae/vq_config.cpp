#include "core/vae/vq_config.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/train/history.h"

namespace genlab {

namespace {

void check_range(const char* name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi))
    throw std::invalid_argument(std::string(name) + " " + nlohmann::json(value).dump() + " is not in " +
                                nlohmann::json(lo).dump() + ".." + nlohmann::json(hi).dump());
}

template <class T>
T field(const nlohmann::json& j, const char* name) {
  try {
    return j.at(name).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("model config: ") + name + ": " + e.what());
  }
}

nlohmann::json parse_object(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("model config is not a JSON object");
  return j;
}

}  // namespace

const char* update_name(CodebookUpdate update) { return update == CodebookUpdate::Loss ? "loss" : "ema"; }

CodebookUpdate parse_update(const std::string& name) {
  if (name == "loss") return CodebookUpdate::Loss;
  if (name == "ema") return CodebookUpdate::Ema;
  throw std::invalid_argument("codebook update '" + name + "' is not loss or ema");
}

void VqConfig::validate() const {
  check_range("codebook size K", codes, 8, 512);
  check_range("code dim", code_dim, 2, 64);
  check_range("commitment beta", commitment, 0, 10);
  check_range("EMA decay", ema_decay, 0.5, 0.9999);
  check_range("restart after (steps)", restart_after, 1, 100000);
  if (!(learning_rate > 0.f && learning_rate < 1.f))
    throw std::invalid_argument("learning rate " + std::to_string(learning_rate) + " is not in (0, 1)");
  check_range("batch size", batch_size, 1, 4096);
  if (channels != 1 && channels != 3) throw std::invalid_argument("channels " + std::to_string(channels) + " is not 1 or 3");
  if (height < 8 || width < 8 || height > 512 || width > 512 || height % 4 || width % 4)
    throw std::invalid_argument("image size " + std::to_string(height) + "x" + std::to_string(width) +
                                " is not in 8..512 and divisible by 4");
}

std::string VqConfig::to_json() const {
  return nlohmann::json({{"codes", codes}, {"code_dim", code_dim}, {"commitment", commitment},
                         {"update", update_name(update)}, {"ema_decay", ema_decay}, {"restarts", restarts},
                         {"restart_after", restart_after}, {"learning_rate", learning_rate},
                         {"batch_size", batch_size}, {"seed", seed}, {"channels", channels},
                         {"height", height}, {"width", width}})
      .dump();
}

VqConfig VqConfig::from_json(const std::string& text) {
  const nlohmann::json j = parse_object(text);
  VqConfig c;
  c.codes = field<int>(j, "codes");
  c.code_dim = field<int>(j, "code_dim");
  c.commitment = field<float>(j, "commitment");
  c.update = parse_update(field<std::string>(j, "update"));
  c.ema_decay = field<float>(j, "ema_decay");
  c.restarts = field<bool>(j, "restarts");
  c.restart_after = field<int>(j, "restart_after");
  c.learning_rate = field<float>(j, "learning_rate");
  c.batch_size = field<int>(j, "batch_size");
  c.seed = field<uint64_t>(j, "seed");
  c.channels = field<int>(j, "channels");
  c.height = field<int>(j, "height");
  c.width = field<int>(j, "width");
  c.validate();
  return c;
}

void VqPriorConfig::validate() const {
  check_range("codebook size K", codes, 8, 512);
  check_range("grid height", grid_h, 1, 64);
  check_range("grid width", grid_w, 1, 64);
  check_range("classes", classes, 0, 1000);
  check_range("prior width", width, 8, 1024);
  check_range("prior layers", layers, 1, 16);
  check_range("attention heads", heads, 1, 16);
  if (width % heads) throw std::invalid_argument("prior width " + std::to_string(width) + " is not a multiple of the heads, " +
                                                 std::to_string(heads));
  if (!(learning_rate > 0.f && learning_rate < 1.f))
    throw std::invalid_argument("learning rate " + std::to_string(learning_rate) + " is not in (0, 1)");
  check_range("batch size", batch_size, 1, 4096);
}

std::string VqPriorConfig::to_json() const {
  return nlohmann::json({{"codes", codes}, {"grid_h", grid_h}, {"grid_w", grid_w}, {"classes", classes},
                         {"width", width}, {"layers", layers}, {"heads", heads},
                         {"learning_rate", learning_rate}, {"batch_size", batch_size}, {"seed", seed},
                         {"vqvae", vqvae}})
      .dump();
}

VqPriorConfig VqPriorConfig::from_json(const std::string& text) {
  const nlohmann::json j = parse_object(text);
  VqPriorConfig c;
  c.codes = field<int>(j, "codes");
  c.grid_h = field<int>(j, "grid_h");
  c.grid_w = field<int>(j, "grid_w");
  c.classes = field<int>(j, "classes");
  c.width = field<int>(j, "width");
  c.layers = field<int>(j, "layers");
  c.heads = field<int>(j, "heads");
  c.learning_rate = field<float>(j, "learning_rate");
  c.batch_size = field<int>(j, "batch_size");
  c.seed = field<uint64_t>(j, "seed");
  c.vqvae = field<std::string>(j, "vqvae");
  c.validate();
  return c;
}

void PriorSampling::validate(int codes) const {
  check_range("temperature", temperature, 0.05, 5);
  if (top_k < 0 || top_k > codes)
    throw std::invalid_argument("top-k " + std::to_string(top_k) + " is not in 0.." + std::to_string(codes) +
                                " (0: every code)");
}

namespace {
const std::vector<std::string> kVqColumns = {"step", "recon", "commit", "perplexity", "used", "restarts"};
}  // namespace

std::string vq_curve_json(const std::vector<VqCurvePoint>& curve) {
  return nlohmann::json({{"train", curve_json(curve, kVqColumns, [](const VqCurvePoint& p) {
                           return nlohmann::json::array({p.step, p.recon, p.commit, p.perplexity, p.used, p.restarts});
                         })}})
      .dump();
}

std::vector<VqCurvePoint> read_vq_curve(const std::string& metadata_json) {
  nlohmann::json history = saved_history(metadata_json);
  if (!history.is_object()) return {};
  return curve_points<VqCurvePoint>(history.value("train", nlohmann::json()), kVqColumns.size(),
                                    [](const std::vector<double>& r) {
                                      return VqCurvePoint{int64_t(r[0]), float(r[1]), float(r[2]), float(r[3]), int(r[4]),
                                                          int64_t(r[5])};
                                    });
}

}  // namespace genlab
