// A point on a model's own trade-off curve, as the Compare table measures it: the knob a family
// turns to trade quality against diversity or speed (VAE and VQ-prior temperature, GAN truncation
// psi, diffusion steps with a sampler, the CFG scale) and the value it is set to. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace genlab {

struct ComparePoint {
  std::string knob;          // "temperature", "psi", "steps", "cfg"
  std::string sampler;       // diffusion: "ddpm", "ddim", "dpmpp2m"
  int steps = 0;             // diffusion
  double cfg = 0;            // diffusion guidance scale
  double temperature = 1;    // VAE, VQ prior: z ~ N(0, t^2 I) / logits over t
  double psi = 1;            // GAN truncation
  bool is_default = false;   // the setting its lab and genlab-cli sample start from

  double value() const;       // the knob's value here
  std::string curve() const;  // the series it belongs to: "steps · DDIM", "cfg", "psi"
  std::string label() const;  // "DPM-Solver++(2M), 20 steps, w = 3"; "temperature 0.75"
  std::string key() const;    // every setting, for the results cache
};

// The curves each kind of model is measured along, its default point marked (a guided diffusion
// model's lies on its steps curve and its CFG curve). `T`: the diffusion chain's length, which caps
// the steps (the usual `steps` too); `guided`: a conditional diffusion model (classes or text).
std::vector<ComparePoint> temperature_curve();
std::vector<ComparePoint> truncation_curve();
std::vector<ComparePoint> diffusion_curves(int T, bool guided, const std::string& sampler, int steps, double cfg);

}  // namespace genlab
