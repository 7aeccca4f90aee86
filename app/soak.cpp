#include "app/soak.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "app/gl_image.h"

namespace genlab::app {

namespace {

double resident_mb() {
  long pages_total = 0, pages_resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> pages_total >> pages_resident;
  return double(pages_resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

constexpr const char* kTabs[] = {"gan", "data", "vae", "diffusion", "translate"};

}  // namespace

void Soak::report(int frames, double elapsed_s) const {
  std::printf("{\"soak_s\":%.0f,\"frames\":%d,\"rss_mb\":%.1f,\"live_textures\":%d}\n", elapsed_s, frames, resident_mb(),
              GlTexture::live_count());
  std::fflush(stdout);
}

std::string Soak::frame(int frames, bool& done) {
  auto now = std::chrono::steady_clock::now();
  if (!started_) started_ = true, start_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  done = elapsed >= seconds_;
  if (elapsed >= next_report_s_ || done) {
    report(frames, elapsed);
    next_report_s_ += 60;
  }
  const int tab = int(elapsed / 10) % int(std::size(kTabs));
  if (tab == tab_) return {};
  tab_ = tab;
  return kTabs[tab];
}

}  // namespace genlab::app
