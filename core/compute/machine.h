// What the compute side runs on: device, threads, BLAS speed. Torch stays behind this header.
#pragma once

#include <string>

#include "core/compute/worker.h"

namespace genlab {

struct MachineInfo {
  std::string device = "cpu";  // "cuda" when a CUDA device is usable, else "cpu"
  std::string torch_version;
  std::string blas_library;    // the BLAS shared library mapped into the process
  int cores = 1;               // hardware threads
  int threads = 1;             // torch intra-op threads in use
  double matmul_gflops = 0;    // median of repeated 512x512 float matmuls on the CPU
  std::string warning;         // non-empty when the machine is far slower than it should be
};

int hardware_cores();

// Sets the torch intra-op thread count (threads <= 0: all cores). Call it on the thread that will
// compute: with OpenMP the count is a per-thread setting.
void configure_compute_threads(int threads);

// Keeps large freed blocks in the process instead of returning them to the OS: glibc's default maps
// each big tensor fresh and unmaps it when freed, so every training step paid page faults to
// zero the same pages again (DDPM training ran ~10 % slower than Python PyTorch; level with this).
void keep_freed_memory();

// Times repeated n x n float matmuls on the CPU and returns the median GFLOP/s.
double measure_matmul_gflops(int n = 512, int repeats = 15);

// Device, threads, BLAS library and matmul speed, with a warning when BLAS is slow
// (Debian's reference BLAS runs LibTorch 10-30x slower than OpenBLAS).
MachineInfo probe_machine();

// A long CPU job of matmuls for `seconds` (0: until cancelled): exercises the worker and the UI
// under load, and reports the GFLOP/s it sustained.
void run_cpu_load(JobContext& ctx, double seconds, double* gflops_out = nullptr);

}  // namespace genlab
