// Toolkit: the transport of a recorded run (sampling steps, prior positions): |< < Play > >|, a
// speed and a scrubber. Follows the newest step until the user picks one. UI thread only.
#pragma once

namespace genlab::app {

struct Playback {
  int frame = -1;  // the step picked; -1: follow the newest step
  bool playing = false;
  float speed = 8.f;  // steps a second while playing
  double clock = 0;   // the part of a step played so far

  // The step on screen of a run of `length` recorded steps (0 when none).
  int shown(int length) const { return length <= 0 ? 0 : frame < 0 ? length - 1 : (frame < length ? frame : length - 1); }
  // Back to following the newest step, as a new run starts.
  void follow() { frame = -1, playing = false; }
};

// Draws the transport for `length` recorded steps of a run of `total` (done: no more will come) and
// returns the step to show. Leaves `trailing` pixels of the line after the scrubber for a read-out
// the caller draws with SameLine.
int playback_bar(Playback& playback, int length, int total, bool done, float trailing = 250.f);

}  // namespace genlab::app
