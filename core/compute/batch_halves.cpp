#include "core/compute/batch_halves.h"

#include <ATen/ThreadLocalState.h>

#include <future>

#include "core/compute/machine.h"

namespace genlab {

torch::Tensor run_in_halves(int64_t rows, const std::function<torch::Tensor(int64_t, int64_t)>& f) {
  const int threads = torch::get_num_threads();
  if (threads < 2 || rows < 2) return f(0, rows);
  struct Restore {
    int threads;
    ~Restore() { configure_compute_threads(threads); }
  } restore{threads};
  configure_compute_threads(1);  // this thread's pool and the BLAS's, for both halves
  const int64_t half = rows / 2;
  const at::ThreadLocalState state;  // grad mode, inference mode: thread-local, carried over
  auto second = std::async(std::launch::async, [&] {
    at::ThreadLocalStateGuard guard(state);
    torch::set_num_threads(1);
    return f(half, rows - half);
  });
  torch::Tensor first = f(0, half);
  return torch::cat({first, second.get()});
}

}  // namespace genlab
