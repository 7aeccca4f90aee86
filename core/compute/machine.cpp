#include "core/compute/machine.h"

#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

namespace genlab {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double timed_matmul_gflops(const torch::Tensor& a, const torch::Tensor& b) {
  auto t0 = std::chrono::steady_clock::now();
  auto c = torch::mm(a, b);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double n = double(a.size(0));
  return 2.0 * n * n * n / std::max(s, 1e-9) / 1e9;
}

// The library that the dynamic linker resolved sgemm_ to: what LibTorch's float matmul calls.
std::string resolved_blas_library() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (!sgemm || !dladdr(sgemm, &info) || !info.dli_fname) return "unknown";
  std::error_code ec;
  auto real = std::filesystem::canonical(info.dli_fname, ec);  // through Debian's alternatives links
  return ec ? info.dli_fname : real.string();
}

}  // namespace

int hardware_cores() { return std::max(1u, std::thread::hardware_concurrency()); }

void configure_compute_threads(int threads) {
  const int n = threads > 0 ? threads : hardware_cores();
  torch::set_num_threads(n);
  // OpenBLAS keeps its own thread pool, which torch's setting does not reach: left at all cores it
  // busy-waits beside other work (a 1-thread toy GAN run took 4 s or 65 s depending on what else
  // ran). Match it when the BLAS is OpenBLAS.
  using SetThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(n);
}

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // only blocks over 32 MB get their own mapping
  mallopt(M_TRIM_THRESHOLD, 64 << 20);  // keep up to 64 MB free at the top of the heap
}

double measure_matmul_gflops(int n, int repeats) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  timed_matmul_gflops(a, b);  // warm-up: thread pool start, BLAS init
  std::vector<double> runs;
  for (int i = 0; i < repeats; ++i) runs.push_back(timed_matmul_gflops(a, b));
  return median(runs);
}

MachineInfo probe_machine() {
  MachineInfo info;
  info.device = torch::cuda::is_available() ? "cuda" : "cpu";
  info.torch_version = TORCH_VERSION;
  info.cores = hardware_cores();
  info.threads = torch::get_num_threads();
  info.matmul_gflops = measure_matmul_gflops();
  info.blas_library = resolved_blas_library();
  // OpenBLAS gives ~50 GFLOP/s per core on AVX2 machines, the reference BLAS ~2. A busy machine
  // can slow OpenBLAS below the bar too, so when sgemm_ resolves to OpenBLAS there is no warning.
  const double slow_below = 8.0 * info.threads;
  const bool openblas = info.blas_library.find("openblas") != std::string::npos;
  if (!openblas && info.matmul_gflops < slow_below) {
    info.warning = "slow BLAS: 512x512 matmul at " + std::to_string(int(info.matmul_gflops)) +
                   " GFLOP/s (" + info.blas_library +
                   "); install libopenblas0-pthread for a 10-30x faster LibTorch";
  }
  return info;
}

void run_cpu_load(JobContext& ctx, double seconds, double* gflops_out) {
  torch::NoGradGuard no_grad;
  const int n = 256;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  std::vector<double> runs;
  auto t0 = std::chrono::steady_clock::now();
  const int64_t total_ms = int64_t(seconds * 1000);
  while (ctx.step()) {
    runs.push_back(timed_matmul_gflops(a, b));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0).count();
    if (total_ms > 0) {
      ctx.progress(std::min<int64_t>(ms, total_ms), total_ms);
      if (ms >= total_ms) break;
    }
  }
  if (gflops_out) *gflops_out = median(runs);
}

}  // namespace genlab
