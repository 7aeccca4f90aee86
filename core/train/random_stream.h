// Each trainer draws its randomness (weight init, batch order, noise, dropout) from a stream of its
// own, so a preview that samples between two training steps cannot change what the run draws, and
// a checkpoint can store the stream to resume the run exactly. Torch header.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

namespace genlab {

class RandomStream {
 public:
  explicit RandomStream(uint64_t seed) : generator_(at::detail::createCPUGenerator(seed)) {}

  // Torch's layers and samplers draw from the default CPU generator; for the scope's lifetime that
  // generator continues this stream, and afterwards gets its own state back. One thread (the
  // worker, or the CLI's main thread) draws at a time, as everywhere in genlab.
  class Scope {
   public:
    explicit Scope(RandomStream& stream) : stream_(stream), outside_(state_of(default_generator())) {
      set_state_of(default_generator(), stream_.state());
    }
    ~Scope() {
      stream_.set_state(state_of(default_generator()));
      set_state_of(default_generator(), outside_);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    RandomStream& stream_;
    torch::Tensor outside_;
  };

  torch::Tensor state() const { return state_of(generator_); }  // uint8 bytes
  void set_state(const torch::Tensor& state) { set_state_of(generator_, state); }

 private:
  static at::Generator default_generator() { return at::detail::getDefaultCPUGenerator(); }
  static torch::Tensor state_of(at::Generator generator) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
  }
  static void set_state_of(at::Generator generator, const torch::Tensor& state) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }

  at::Generator generator_;
};

}  // namespace genlab
