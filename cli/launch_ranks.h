// genlab-cli train --nproc N: N ranks of the same command on this machine, as torchrun's
// --nproc-per-node does it. The launcher hosts the rendezvous store, starts each rank as this
// program with --rank R --world-size N --master 127.0.0.1:PORT (and cores/N threads unless
// --threads was given), passes Ctrl-C and SIGTERM on, and when a rank dies says which one and
// after what step, then gives the others the rank timeout to stop before it ends them. Torch-free.
#pragma once

#include <string>

namespace genlab {

struct LaunchPlan {
  int nproc = 2;
  int threads = 0;  // per rank; 0: the user gave --threads, which the ranks get as it is
  double timeout_s = 60;
  std::string out;  // the checkpoint rank 0 writes, for the closing line
};

// Returns the exit code: 0 when every rank finished, 2 when a rank refused its input (the ranks
// print why), 130 when interrupted, 1 when a rank failed or died.
int launch_ranks(int argc, char** argv, const LaunchPlan& plan);

}  // namespace genlab
