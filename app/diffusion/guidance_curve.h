// The guidance schedule drawn under a run's timeline: w at each of its steps (a bar per step, the
// step at the timestep on screen, shown_t, lit), the noise-level interval shaded, and the mean w the schedule keeps.
#pragma once

#include <imgui.h>

#include "core/diffusion/sampling_params.h"
#include "core/diffusion/schedule.h"

namespace genlab::app {

// Draws nothing but a one-line note when the schedule does not fit the steps (an interval that
// holds none of them): the request that carries it fails with the same words.
void guidance_curve(const char* id, const SamplingParams& params, const NoiseSchedule& schedule, int shown_t,
                    ImVec2 size);

}  // namespace genlab::app
