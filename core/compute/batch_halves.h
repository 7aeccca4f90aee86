// Two cores on one batch: small convolutions split poorly across torch's intra-op threads (the
// U-Net on a guided batch of 20 images: 50.9 ms on one thread, 33.4 ms on two intra-op threads,
// 25.5 ms as two halves on two threads of one compute thread each; bench/README). Torch header.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace genlab {

// f(first, count) over rows [0, rows), concatenated along dim 0. When the calling thread may use
// two or more compute threads and rows >= 2, the second half runs on a helper thread at the same
// time (with the caller's grad and inference modes), each half with one compute thread; the
// caller's thread count is restored afterwards. Otherwise one call f(0, rows).
torch::Tensor run_in_halves(int64_t rows, const std::function<torch::Tensor(int64_t first, int64_t count)>& f);

}  // namespace genlab
