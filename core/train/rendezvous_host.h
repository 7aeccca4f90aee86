// The rendezvous store that genlab-cli train --nproc hosts for its ranks: on a free loopback port,
// outliving any rank, so the launcher can still read where a lost rank stopped. Torch-free (the
// store lives in data_parallel.cpp).
#pragma once

#include <cstdint>
#include <memory>

namespace genlab {

class RendezvousHost {
 public:
  RendezvousHost();
  ~RendezvousHost();
  RendezvousHost(const RendezvousHost&) = delete;
  RendezvousHost& operator=(const RendezvousHost&) = delete;

  int port() const;
  // The last step `rank` posted as finished; -1 when it posted none.
  int64_t finished_step(int rank) const;

 private:
  struct Store;
  std::unique_ptr<Store> store_;
};

}  // namespace genlab
