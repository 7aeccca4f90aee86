#include "core/translate/translate_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/data/dataset.h"

namespace genlab {

namespace {

const char* const kKinds[] = {"pix2pix", "cyclegan", "stargan"};
const char* const kTasks[] = {"edges", "superres", "inpaint", "denoise"};

// "Ankle boot", "ankle_boot" -> "ankleboot": names match whatever their case, spaces, _ and -.
std::string folded(const std::string& name) {
  std::string out;
  for (char c : name)
    if (!std::isspace(static_cast<unsigned char>(c)) && c != '_' && c != '-') out += char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_weight(float w) { return std::isfinite(w) && w >= 0 && w <= 1000; }

}  // namespace

void copy_loss_weights(TranslateConfig& to, const TranslateConfig& from) {
  to.lambda_l1 = from.lambda_l1;
  to.lambda_cycle = from.lambda_cycle;
  to.lambda_identity = from.lambda_identity;
  to.lambda_cls = from.lambda_cls;
  to.lambda_rec = from.lambda_rec;
}

const char* translate_kind_name(TranslateKind kind) { return kKinds[int(kind)]; }

TranslateKind parse_translate_kind(const std::string& name) {
  for (int i = 0; i < 3; ++i)
    if (name == kKinds[i]) return TranslateKind(i);
  throw std::invalid_argument("model '" + name + "' is not pix2pix, cyclegan or stargan");
}

const char* task_name(PairedTask task) { return kTasks[int(task)]; }

PairedTask parse_task(const std::string& name) {
  for (int i = 0; i < 4; ++i)
    if (name == kTasks[i]) return PairedTask(i);
  throw std::invalid_argument("task '" + name + "' is not edges, superres, inpaint or denoise");
}

std::vector<int> parse_domains(const std::string& list, const Dataset& data, int least) {
  std::vector<int> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const std::string key = folded(item);
    if (key.empty()) continue;
    int found = -1;
    for (size_t c = 0; c < data.class_names.size(); ++c)
      if (folded(data.class_names[c]) == key) found = int(c);
    if (found < 0 && std::all_of(key.begin(), key.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
        key.size() < 4 && std::stoi(key) < int(data.class_names.size()))
      found = std::stoi(key);
    if (found < 0) {
      std::string names;
      for (const std::string& n : data.class_names) names += (names.empty() ? "" : ", ") + n;
      throw std::invalid_argument("--domains: '" + item + "' is not a class of " + data.title +
                                  (names.empty() ? " (it has no classes)" : " (" + names + ")"));
    }
    if (std::find(out.begin(), out.end(), found) != out.end())
      throw std::invalid_argument("--domains: '" + item + "' is named twice");
    if (std::count(data.train.labels.begin(), data.train.labels.end(), found) == 0)
      throw std::invalid_argument("--domains: '" + item + "' has no training images in " + data.source);
    out.push_back(found);
  }
  if (int(out.size()) < least)
    throw std::invalid_argument("--domains: '" + list + "' names " + std::to_string(out.size()) +
                                " classes; it needs at least " + std::to_string(least));
  return out;
}

void TranslateConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (width < 4 || width > 256) fail("width " + std::to_string(width) + " is not in 4..256");
  if (!(lr > 0 && lr < 1)) fail("learning rate must be in (0, 1)");
  if (batch_size < 1 || batch_size > 4096) fail("batch size " + std::to_string(batch_size) + " is not in 1..4096");
  const std::pair<const char*, float> weights[] = {{"lambda_l1", lambda_l1},         {"lambda_cycle", lambda_cycle},
                                                   {"lambda_identity", lambda_identity}, {"lambda_cls", lambda_cls},
                                                   {"lambda_rec", lambda_rec}};
  for (const auto& [name, w] : weights)
    if (!is_weight(w)) fail(std::string(name) + " " + std::to_string(w) + " is not a number in 0..1000");
  if (superres_factor != 2 && superres_factor != 4) fail("super-resolution factor must be 2 or 4");
  if (!(noise_sigma > 0 && noise_sigma <= 2)) fail("noise sigma must be in (0, 2]");
  if (pool_size < 0 || pool_size > 1000) fail("pool size " + std::to_string(pool_size) + " is not in 0..1000");
  if (channels != 1 && channels != 3) fail("channels " + std::to_string(channels) + " is not 1 or 3");
  if (height != width_px || height < 8 || height > 256)
    fail("image size " + std::to_string(height) + "x" + std::to_string(width_px) + " must be square and 8..256");
  if (kind == TranslateKind::Pix2Pix && task == PairedTask::SuperRes && height % superres_factor)
    fail("image size " + std::to_string(height) + " is not divisible by the super-resolution factor " +
         std::to_string(superres_factor));
  if (kind == TranslateKind::CycleGan && domains.size() != 2) fail("CycleGAN translates between exactly two domains");
  if (kind == TranslateKind::StarGan && domains.size() < 2) fail("StarGAN needs at least two domains");
  for (int d : domains)
    if (d < 0 || (classes > 0 && d >= classes)) fail("domain " + std::to_string(d) + " is not a class of the data set");
}

std::string TranslateConfig::title() const {
  if (kind == TranslateKind::Pix2Pix) {
    const std::string task_title[] = {"edges -> image", "super-resolution x" + std::to_string(superres_factor),
                                      "inpainting", "denoising"};
    return "Pix2Pix " + task_title[int(task)];
  }
  std::string names;
  for (size_t i = 0; i < domains.size(); ++i) {
    const std::string n = i < domain_names.size() ? domain_names[i] : "#" + std::to_string(domains[i]);
    names += (i ? (kind == TranslateKind::CycleGan ? " <-> " : ", ") : "") + n;
  }
  return (kind == TranslateKind::CycleGan ? "CycleGAN " : "StarGAN ") + names;
}

std::string TranslateConfig::to_json() const {
  nlohmann::json j = {
      {"kind", translate_kind_name(kind)},         {"task", task_name(task)},
      {"superres_factor", superres_factor}, {"noise_sigma", noise_sigma},
      {"domains", domains},              {"domain_names", domain_names},
      {"skips", skips},                  {"width", width},
      {"lambda_l1", lambda_l1},          {"lambda_cycle", lambda_cycle},
      {"lambda_identity", lambda_identity}, {"lambda_cls", lambda_cls},
      {"lambda_rec", lambda_rec},        {"pool_size", pool_size},
      {"lr", lr},                        {"batch_size", batch_size},
      {"seed", seed},                    {"channels", channels},
      {"height", height},                {"width_px", width_px},
      {"classes", classes},
  };
  return j.dump();
}

TranslateConfig TranslateConfig::from_json(const std::string& text) {
  TranslateConfig c;
  try {
    auto j = nlohmann::json::parse(text);
    c.kind = parse_translate_kind(j.value("kind", "pix2pix"));
    c.task = parse_task(j.value("task", "edges"));
    c.superres_factor = j.value("superres_factor", c.superres_factor);
    c.noise_sigma = j.value("noise_sigma", c.noise_sigma);
    c.domains = j.value("domains", c.domains);
    c.domain_names = j.value("domain_names", c.domain_names);
    c.skips = j.value("skips", c.skips);
    c.width = j.value("width", c.width);
    c.lambda_l1 = j.value("lambda_l1", c.lambda_l1);
    c.lambda_cycle = j.value("lambda_cycle", c.lambda_cycle);
    c.lambda_identity = j.value("lambda_identity", c.lambda_identity);
    c.lambda_cls = j.value("lambda_cls", c.lambda_cls);
    c.lambda_rec = j.value("lambda_rec", c.lambda_rec);
    c.pool_size = j.value("pool_size", c.pool_size);
    c.lr = j.value("lr", c.lr);
    c.batch_size = j.value("batch_size", c.batch_size);
    c.seed = j.value("seed", c.seed);
    c.channels = j.value("channels", c.channels);
    c.height = j.value("height", c.height);
    c.width_px = j.value("width_px", c.width_px);
    c.classes = j.value("classes", c.classes);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad translation config: ") + e.what());
  }
  c.validate();
  return c;
}

}  // namespace genlab
