// --soak S: the app runs S seconds while training, switching tabs every 10 s so every panel makes
// and drops its textures, and prints a JSON line of resident memory and live GL textures at the
// start, every minute and at the end. Both must stay flat over a long run.
#pragma once

#include <chrono>
#include <string>

namespace genlab::app {

class Soak {
 public:
  explicit Soak(double seconds) : seconds_(seconds) {}
  bool on() const { return seconds_ > 0; }
  // Called once a frame after start-up; prints a line when one is due. Returns the tab to show
  // (empty: keep the current one) and sets `done` once the time is up.
  std::string frame(int frames, bool& done);

 private:
  void report(int frames, double elapsed_s) const;

  double seconds_;
  bool started_ = false;
  std::chrono::steady_clock::time_point start_;
  double next_report_s_ = 0;
  int tab_ = -1;
};

}  // namespace genlab::app
