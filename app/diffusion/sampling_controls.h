// Controls the diffusion views share (Edit, Race; the Sample view may take them too): each a combo
// that edits the SamplingParams field it names, true on the frame it changes. UI thread only.
#pragma once

#include <string>
#include <vector>

namespace genlab::app {

// SamplingParams::sampler ("ddpm", "ddim", "dpmpp2m") shown by its title.
bool sampler_combo(const char* label, std::string& sampler, float width = 160);
// "DDPM", "DDIM", "DPM++ 2M" (short, for column headers); the name itself when it is none of them.
const char* sampler_short_title(const std::string& sampler);
// True for the samplers the combo offers (checks scripted values).
bool known_sampler(const std::string& sampler);

// SamplingParams::label: "each class in turn" (-1) or one of the model's classes.
bool class_or_each_combo(const char* label, int& class_index, const std::vector<std::string>& class_names,
                         float width = 160);

// SamplingParams::cfg_schedule as GuidanceSchedule::name() writes it: a combo of the shapes and, for
// interval, its noise levels LO..HI (0.28..5.42 when first picked).
bool guidance_schedule_combo(std::string& schedule_text);

}  // namespace genlab::app
