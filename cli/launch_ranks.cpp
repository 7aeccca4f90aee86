#include "cli/launch_ranks.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "core/train/rendezvous_host.h"
#include "core/train/run_util.h"

extern char** environ;

namespace genlab {

namespace {

// This command line without --nproc, with the rank's place in the run.
std::vector<std::string> rank_command(int argc, char** argv, const LaunchPlan& plan, int rank, int port) {
  std::vector<std::string> args{argv[0]};
  if (plan.threads > 0) args.insert(args.end(), {"--threads", std::to_string(plan.threads)});  // before the subcommand
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--nproc") {
      ++i;
      continue;
    }
    if (arg.rfind("--nproc=", 0) == 0) continue;
    args.push_back(arg);
  }
  args.insert(args.end(), {"--rank", std::to_string(rank), "--world-size", std::to_string(plan.nproc), "--master",
                           "127.0.0.1:" + std::to_string(port)});
  return args;
}

std::vector<char*> pointers(std::vector<std::string>& texts) {
  std::vector<char*> out;
  for (std::string& text : texts) out.push_back(text.data());
  out.push_back(nullptr);
  return out;
}

bool exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

}  // namespace

int launch_ranks(int argc, char** argv, const LaunchPlan& plan) {
  RendezvousHost host;
  // Everything the children need is made before the first fork: between fork and exec a child of
  // this threaded process may only make async-signal-safe calls.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry; ++entry) environment.emplace_back(*entry);
  environment.emplace_back("GENLAB_RENDEZVOUS_HOSTED=1");
  std::vector<char*> envp = pointers(environment);
  std::vector<std::vector<std::string>> commands;
  for (int rank = 0; rank < plan.nproc; ++rank) commands.push_back(rank_command(argc, argv, plan, rank, host.port()));

  std::vector<pid_t> pids;
  for (int rank = 0; rank < plan.nproc; ++rank) {
    std::vector<char*> command = pointers(commands[size_t(rank)]);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("could not start rank ") + std::to_string(rank) + ": " + strerror(errno));
    if (pid == 0) {
      if (rank > 0) {  // rank 0 prints the run's summary; the others would print the same
        const int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO);
      }
      execve("/proc/self/exe", command.data(), envp.data());
      _exit(127);
    }
    pids.push_back(pid);
  }

  int running = plan.nproc, code = 0, first_lost = -1;
  bool forwarded = false, killed = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      int rank = 0;
      while (rank < plan.nproc && pids[size_t(rank)] != pid) ++rank;
      if (rank == plan.nproc) continue;
      pids[size_t(rank)] = -1;
      --running;
      const bool died = WIFSIGNALED(status);
      const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      if (died || (exit_code != 0 && exit_code != 130)) {
        code = exit_code == 2 && code != 1 ? 2 : 1;
        if (first_lost < 0) {
          first_lost = rank;
          deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(plan.timeout_s * 1000) + 5000);
        }
        if (died && !killed) {
          const int64_t step = host.finished_step(rank);
          std::cerr << "genlab-cli: rank " << rank << " (pid " << pid << ") was killed by signal " << WTERMSIG(status)
                    << " (" << strsignal(WTERMSIG(status)) << ") "
                    << (step < 0 ? std::string("before its first step") : "after step " + std::to_string(step))
                    << "; the other ranks stop"
                    << (exists(plan.out) ? "; go on with --resume " + plan.out : std::string()) << "\n";
        }
      } else if (exit_code == 130 && code == 0) {
        code = 130;
      }
      continue;
    }
    if (stop_requested() && !forwarded) {
      for (pid_t child : pids)
        if (child > 0) kill(child, SIGTERM);
      forwarded = true;
    }
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      for (int rank = 0; rank < plan.nproc; ++rank)
        if (pids[size_t(rank)] > 0) {
          std::cerr << "genlab-cli: rank " << rank << " did not stop within " << plan.timeout_s << " s of rank "
                    << first_lost << "; ending it\n";
          kill(pids[size_t(rank)], SIGKILL);
        }
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return code;
}

}  // namespace genlab
