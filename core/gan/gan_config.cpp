#include "core/gan/gan_config.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace genlab {

namespace {
const char* const kLossNames[] = {"minimax", "ns", "lsgan", "wgan-gp", "hinge"};
}

const char* loss_name(GanLoss loss) { return kLossNames[int(loss)]; }

GanLoss parse_loss(const std::string& name) {
  for (int i = 0; i < 5; ++i)
    if (name == kLossNames[i]) return GanLoss(i);
  throw std::invalid_argument("loss '" + name + "' is not minimax, ns, lsgan, wgan-gp or hinge");
}

const char* optimizer_name(GanOptimizer optimizer) {
  return optimizer == GanOptimizer::Adam ? "adam" : optimizer == GanOptimizer::RMSprop ? "rmsprop" : "sgd";
}

GanOptimizer parse_optimizer(const std::string& name) {
  if (name == "adam") return GanOptimizer::Adam;
  if (name == "rmsprop") return GanOptimizer::RMSprop;
  if (name == "sgd") return GanOptimizer::SGD;
  throw std::invalid_argument("optimizer '" + name + "' is not adam, rmsprop or sgd");
}

const char* arch_name(GanArch arch) {
  return arch == GanArch::ProGan ? "progan" : arch == GanArch::StyleGan ? "stylegan" : "dcgan";
}

GanArch arch_of_kind(const std::string& kind) {
  if (kind == "gan" || kind == "dcgan") return GanArch::Dcgan;
  if (kind == "progan") return GanArch::ProGan;
  if (kind == "stylegan") return GanArch::StyleGan;
  throw std::invalid_argument("'" + kind + "' is not a GAN (gan, progan or stylegan)");
}

float default_r1_gamma(GanArch arch) { return arch == GanArch::StyleGan ? 0.1f : 0.f; }

std::string GanConfig::kind() const { return arch == GanArch::Dcgan ? "gan" : arch_name(arch); }

Growth GanConfig::growth_at(int64_t step) const {
  if (arch != GanArch::ProGan) return {};
  for (int level = 0; level < 2; ++level) {
    if (step < stage_steps) return {level, 1.f};
    step -= stage_steps;
    if (step < fade_steps) return {level + 1, float(step) / float(fade_steps)};
    step -= fade_steps;
  }
  return {};
}

const char* layout_name(DcganLayout layout) { return layout == DcganLayout::Compact ? "compact" : "deep"; }

DcganLayout parse_layout(const std::string& name) {
  if (name == "compact") return DcganLayout::Compact;
  if (name == "deep") return DcganLayout::Deep;
  throw std::invalid_argument("DCGAN layout '" + name + "' is not compact or deep");
}

const char* toy_name(ToyData toy) { return toy == ToyData::Ring ? "ring" : "spiral"; }

ToyData parse_toy(const std::string& name) {
  if (name == "ring") return ToyData::Ring;
  if (name == "spiral") return ToyData::Spiral;
  throw std::invalid_argument("toy data '" + name + "' is not ring or spiral");
}

void GanConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (latent < 1 || latent > 512) fail("latent " + std::to_string(latent) + " is not in 1..512");
  if (width < 8 || width > 512) fail("width " + std::to_string(width) + " is not in 8..512");
  if (!(lr_g > 0 && lr_g < 1) || !(lr_d > 0 && lr_d < 1)) fail("learning rates must be in (0, 1)");
  if (d_steps < 1 || d_steps > 100) fail("D steps per G step " + std::to_string(d_steps) + " is not in 1..100");
  if (!(gp_weight >= 0 && gp_weight <= 1000)) fail("gradient-penalty weight is not in 0..1000");
  if (!(r1_gamma >= 0 && r1_gamma <= 1000)) fail("R1 gamma is not in 0..1000");
  if (!(real_label > 0 && real_label <= 1)) fail("real label " + std::to_string(real_label) + " is not in (0, 1]");
  if (!(g_ema >= 0 && g_ema < 1)) fail("G's EMA decay " + std::to_string(g_ema) + " is not in [0, 1)");
  if (batch_size < 2 || batch_size > 4096) fail("batch size " + std::to_string(batch_size) + " is not in 2..4096");
  if (mode == GanMode::Images) {
    if (channels != 1 && channels != 3) fail("channels " + std::to_string(channels) + " is not 1 or 3");
    if (height % 4 || width_px % 4 || height < 8 || height > 256 || height != width_px)
      fail("image size " + std::to_string(height) + "x" + std::to_string(width_px) +
           " must be square, 8..256 and divisible by 4");
    if (conditional && classes < 2) fail("a conditional GAN needs a labelled data set");
  }
  if (arch != GanArch::Dcgan) {
    const std::string name = arch_name(arch);
    if (mode != GanMode::Images) fail(name + " draws images: it has no toy mode");
    if (conditional) fail(name + " is unconditional here: leave out --cond");
  }
  if (stage_steps < 1 || stage_steps > 10000000) fail("stage steps " + std::to_string(stage_steps) + " is not in 1..10000000");
  if (fade_steps < 1 || fade_steps > 10000000) fail("fade steps " + std::to_string(fade_steps) + " is not in 1..10000000");
  if (mapping_depth < 1 || mapping_depth > 8) fail("mapping depth " + std::to_string(mapping_depth) + " is not in 1..8");
  if (w_dim < 4 || w_dim > 512) fail("w size " + std::to_string(w_dim) + " is not in 4..512");
  if (!(mixing_prob >= 0 && mixing_prob <= 1)) fail("style-mixing probability is not in 0..1");
}

std::string GanConfig::to_json() const {
  nlohmann::json j = {
      {"mode", mode == GanMode::Images ? "images" : "toy"}, {"arch", arch_name(arch)},
      {"stage_steps", stage_steps}, {"fade_steps", fade_steps}, {"mapping_depth", mapping_depth}, {"w_dim", w_dim},
      {"mixing_prob", mixing_prob}, {"toy", toy_name(toy)}, {"loss", loss_name(loss)}, {"optimizer", optimizer_name(optimizer)},
      {"conditional", conditional}, {"layout", layout_name(layout)}, {"real_label", real_label}, {"g_ema", g_ema},
      {"latent", latent}, {"width", width}, {"lr_g", lr_g}, {"lr_d", lr_d},
      {"d_steps", d_steps}, {"gp_weight", gp_weight}, {"r1_gamma", r1_gamma}, {"batch_size", batch_size}, {"seed", seed},
      {"classes", classes}, {"channels", channels}, {"height", height}, {"width_px", width_px},
  };
  return j.dump();
}

GanConfig GanConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("GAN config is not a JSON object");
  GanConfig c;
  try {
    std::string mode = j.at("mode").get<std::string>();
    if (mode != "images" && mode != "toy") throw std::invalid_argument("mode '" + mode + "' is not images or toy");
    c.mode = mode == "images" ? GanMode::Images : GanMode::Toy;
    c.toy = parse_toy(j.at("toy").get<std::string>());
    // Checkpoints from before ProGAN and StyleGAN hold a DCGAN and none of their settings.
    c.arch = arch_of_kind(j.value("arch", std::string("dcgan")));
    c.stage_steps = j.value("stage_steps", c.stage_steps);
    c.fade_steps = j.value("fade_steps", c.fade_steps);
    c.mapping_depth = j.value("mapping_depth", c.mapping_depth);
    c.w_dim = j.value("w_dim", c.w_dim);
    c.mixing_prob = j.value("mixing_prob", c.mixing_prob);
    c.loss = parse_loss(j.at("loss").get<std::string>());
    c.optimizer = parse_optimizer(j.value("optimizer", std::string("adam")));
    c.conditional = j.at("conditional").get<bool>();
    c.latent = j.at("latent").get<int>();
    c.width = j.at("width").get<int>();
    c.lr_g = j.at("lr_g").get<float>();
    c.lr_d = j.at("lr_d").get<float>();
    c.d_steps = j.at("d_steps").get<int>();
    c.gp_weight = j.at("gp_weight").get<float>();
    c.r1_gamma = j.value("r1_gamma", 0.f);
    // Checkpoints from before the deep layout hold a compact DCGAN trained without smoothing or EMA.
    c.layout = parse_layout(j.value("layout", std::string("compact")));
    c.real_label = j.value("real_label", 1.f);
    c.g_ema = j.value("g_ema", 0.f);
    c.batch_size = j.at("batch_size").get<int>();
    c.seed = j.at("seed").get<uint64_t>();
    c.classes = j.at("classes").get<int>();
    c.channels = j.at("channels").get<int>();
    c.height = j.at("height").get<int>();
    c.width_px = j.at("width_px").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("GAN config: ") + e.what());
  }
  c.validate();
  return c;
}

}  // namespace genlab
