// The settings of one diffusion sampling run and their text form: the JSON that a sample PNG carries
// in its "genlab" text chunk, so that dropping the PNG on the window restores the run. Torch-free,
// so the parser of that (untrusted) text can be fuzzed on its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/diffusion/edit_settings.h"

namespace genlab {

struct SamplingParams {
  std::string sampler = "dpmpp2m";
  int steps = 20;
  double cfg = 3.0, eta = 0.0;
  int label = -1;  // -1: one sample of each class (conditional models)
  uint64_t seed = 1;
  int n = 10;
  std::string cfg_schedule = "constant";  // guidance_schedule.h: constant, linear-up, ..., interval:LO:HI
};

// What made a sample: the settings and the checkpoint they were sampled from ("" when unknown).
struct SamplingRecord {
  SamplingParams params;
  std::string checkpoint;
  bool edited = false;  // an edit of an image (genlab-cli edit, the Edit view) with these settings
  EditSettings edit{};
};

// The samplers by name ("ddpm", "ddim", "dpmpp2m", as sampler_name() spells them), with the titles
// the views and tables show.
struct SamplerName {
  const char *name, *title, *short_title;  // "dpmpp2m", "DPM-Solver++(2M)", "DPM++ 2M"
};
const std::vector<SamplerName>& sampler_names();
const SamplerName* find_sampler_name(const std::string& name);  // null for an unknown name

// Throws std::invalid_argument naming the value ("<prefix>steps 0 is not in 1..1000") when the
// settings do not fit a model with T steps and `classes` classes (0: unconditional, whose class is
// ignored): steps 1..T, cfg 0..20, eta 0..1, class -1 or 0..classes-1, a guidance schedule that
// parses (its interval is checked against the steps when the run starts). The CLI passes "--" as prefix.
void check_sampling_params(const SamplingParams& params, int T, int classes, const std::string& prefix = "");

// A distilled student's record of what it reproduces (core/diffusion/distillation.h), in its config.
struct DistilledFrom {
  int steps = 0;                    // 0: not a student; else its DDIM steps, on sampling_timesteps(T, steps)
  std::string teacher;              // the teacher's file name
  std::string sampler = "dpmpp2m";  // the teacher's run the student lands on, every teacher_steps / steps steps
  int teacher_steps = 20;
  double w_max = 8;                 // guidance scales 0..w_max, constant over the run
};

// Whether a student's steps stand for this run of its teacher (the sampler and steps it was distilled
// from, a constant guidance scale in 1..w_max): "" if so, else why not in a few words.
std::string student_mismatch(const DistilledFrom& student, const SamplingParams& params);

// {"checkpoint", "sampler", "steps", "cfg", "cfg_schedule", "eta", "class", "seed", "n"} (and "edit":
// {"mode", "strength", "sigma", "resample", "factor"} for an edit) as one line of JSON.
std::string sampling_record_json(const SamplingRecord& record);

// Reads that text back; absent keys keep their defaults and unknown keys are ignored. Throws
// DataError naming `source` (the PNG) for text that is not a JSON object with a "sampler", a sampler
// other than ddpm, ddim or dpmpp2m, or a value of the wrong type or out of range (steps, class and n
// must be JSON integers that fit an int, seed a non-negative 64-bit integer, cfg and eta numbers, a
// cfg_schedule one of guidance_schedule.h's, an edit's mode one of edit_settings.h's).
// The lab checks the values against the model (steps up to its T, a class it has).
SamplingRecord parse_sampling_record(const std::string& text, const std::string& source);

}  // namespace genlab
