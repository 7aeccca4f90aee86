#include "core/metrics/compare_point.h"

#include <algorithm>
#include <cstdio>

#include "core/diffusion/sampling_params.h"

namespace genlab {

namespace {

std::string number(double v) {
  char text[32];
  snprintf(text, sizeof text, "%g", v);
  return text;
}

const char* title_of(const std::string& sampler) {
  const SamplerName* s = find_sampler_name(sampler);
  return s ? s->title : sampler.c_str();
}

const char* short_title_of(const std::string& sampler) {
  const SamplerName* s = find_sampler_name(sampler);
  return s ? s->short_title : sampler.c_str();
}

// A point of a one-number knob (temperature or psi); 1 leaves the model as it is, its usual setting.
ComparePoint scale_point(const std::string& knob, double value) {
  ComparePoint p;
  p.knob = knob;
  (knob == "temperature" ? p.temperature : p.psi) = value;
  p.is_default = value == 1.0;
  return p;
}

}  // namespace

double ComparePoint::value() const {
  if (knob == "temperature") return temperature;
  if (knob == "psi") return psi;
  if (knob == "steps") return steps;
  if (knob == "cfg") return cfg;
  return 0;
}

std::string ComparePoint::curve() const {
  if (knob == "steps") return std::string("steps · ") + short_title_of(sampler);
  return knob;
}

std::string ComparePoint::label() const {
  if (knob == "temperature") return "temperature " + number(temperature);
  if (knob == "psi") return "psi " + number(psi);
  return std::string(title_of(sampler)) + ", " + std::to_string(steps) + " steps, w = " + number(cfg);
}

std::string ComparePoint::key() const {
  // The knob is left out: the default point lies on two of a diffusion model's curves and is
  // measured once.
  if (!sampler.empty()) return sampler + "-" + std::to_string(steps) + "-w" + number(cfg);
  return "t" + number(temperature) + "-psi" + number(psi);
}

std::vector<ComparePoint> temperature_curve() {
  std::vector<ComparePoint> out;
  for (double t : {0.5, 0.75, 1.0, 1.25}) out.push_back(scale_point("temperature", t));
  return out;
}

std::vector<ComparePoint> truncation_curve() {
  std::vector<ComparePoint> out;
  for (double psi : {0.5, 0.7, 0.85, 1.0}) out.push_back(scale_point("psi", psi));
  return out;
}

std::vector<ComparePoint> diffusion_curves(int T, bool guided, const std::string& sampler, int steps, double cfg) {
  struct Steps {
    const char* sampler;
    std::vector<int> steps;
  };
  // The fast solver from a handful of steps; DDIM and ancestral DDPM where they need more.
  const Steps grid[] = {{"dpmpp2m", {5, 10, 20, 50}}, {"ddim", {10, 20, 50}}, {"ddpm", {20, 50, 100}}};
  std::vector<ComparePoint> out;
  const double w_default = guided ? cfg : 0.0;  // an unguided model has no scale to set
  steps = std::min(steps, T);
  auto add = [&](const char* knob, const std::string& s, int n, double w) {
    ComparePoint p;
    p.knob = knob;
    p.sampler = s;
    p.steps = n;
    p.cfg = w;
    p.is_default = s == sampler && n == steps && w == w_default;
    out.push_back(p);
  };
  for (const Steps& s : grid) {
    std::vector<int> counts;
    for (int n : s.steps)
      if (n <= T) counts.push_back(n);
    if (s.sampler == sampler) counts.push_back(steps);  // the usual point, on a short chain too
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    for (int n : counts) add("steps", s.sampler, n, w_default);
  }
  if (guided)
    for (double scale : {0.0, 1.0, 2.0, 3.0, 5.0}) add("cfg", sampler, steps, scale);
  return out;
}

}  // namespace genlab
