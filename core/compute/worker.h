// The compute worker: one background thread that owns every model. The UI only enqueues jobs and
// reads stamped snapshots; it never waits for compute.
//
// Two kinds of work:
//   - long jobs (training, evaluation, loading), run one at a time in FIFO order, cancellable,
//     pausable, single-steppable;
//   - previews (decode a latent, sample a grid), keyed and newest-wins: a new request with the same
//     key replaces the pending one and makes the running one see cancelled(). Previews also run
//     between the steps of a long job, so the UI stays live while a model trains.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/compute/latest.h"

namespace genlab {

enum class WorkerState { Idle, Running, Paused };
const char* worker_state_name(WorkerState state);

struct WorkerStatus {
  WorkerState state = WorkerState::Idle;
  std::string job;           // the running long job's name, empty when idle
  int64_t done = 0, total = 0;
  double elapsed_s = 0;      // time the job has been running, pauses excluded
  double eta_s = -1;         // < 0 while unknown
  int queued = 0;            // long jobs waiting behind the running one
  uint64_t jobs_finished = 0;
  std::string error;         // the newest error, "job name: message"; empty if none yet
  uint64_t error_stamp = 0;  // changes with every new error
};

class Worker;

// What a job sees of the worker. Only valid on the worker thread, during the job.
class JobContext {
 public:
  // Call once per iteration: runs pending previews (long jobs only), waits while paused, and
  // returns false when the job must stop (cancelled, superseded, or the worker is shutting down).
  bool step();
  // The same stop test without servicing anything.
  bool cancelled() const;
  // Reports progress; the worker derives the ETA from it.
  void progress(int64_t done, int64_t total);
  // Publishes an error line without ending the job (a run that pauses itself to keep its state).
  void report_error(const std::string& message);
  // The stamp of the request this job serves; previews publish it with their result.
  uint64_t request_stamp() const { return stamp_; }

 private:
  friend class Worker;
  JobContext(Worker& worker, uint64_t stamp, std::string preview_key)
      : worker_(worker), stamp_(stamp), preview_key_(std::move(preview_key)) {}
  Worker& worker_;
  uint64_t stamp_;
  std::string preview_key_;  // empty for long jobs
};

using Job = std::function<void(JobContext&)>;

class Worker {
 public:
  // thread_init runs first on the worker thread (thread counts and other per-thread settings).
  explicit Worker(std::function<void()> thread_init = {});
  ~Worker();  // cancels the running job, drops queued ones, joins
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  uint64_t submit(std::string name, Job job);
  uint64_t request(std::string key, Job job);
  // True while `stamp` is the newest request for `key` (results of older requests are stale).
  bool is_current(const std::string& key, uint64_t stamp) const;

  // Compute threads (torch's and the BLAS's pools): `with_job` while a long job runs, for it and for
  // the previews between its steps; `alone` for previews while no long job runs, when nothing of
  // genlab's competes for the cores. <= 0 leaves the count as it is. Takes effect at the next job,
  // preview or step.
  void set_compute_threads(int with_job, int alone);

  void cancel();      // the running long job
  void cancel_all();  // the running long job and every queued one
  void set_paused(bool paused);
  void step_once();   // lets a paused job take one step
  bool paused() const;

  std::shared_ptr<const Snapshot<WorkerStatus>> status() const { return status_.get(); }
  // Blocks until no job runs or waits. For the CLI and tests; the UI never calls it.
  void wait_idle();

 private:
  friend class JobContext;
  struct LongJob {
    uint64_t stamp;
    std::string name;
    Job job;
  };
  struct Preview {
    uint64_t stamp;
    Job job;
  };

  void run();
  void run_long(LongJob& job);
  void run_previews(std::unique_lock<std::mutex>& lock);  // called with the lock held
  void publish_status();                                   // called with the lock held
  // The thread count for a long job (or a preview beside one) or for a preview alone; applied on
  // the worker thread, and only when it differs from the one in use.
  int wanted_threads(bool job_running) const { return job_running ? threads_with_job_ : threads_alone_; }
  void use_threads(int threads);
  void record_error(const std::string& name, const std::string& message);

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the worker thread waits on it
  std::condition_variable idle_cv_;  // wait_idle waits on it
  std::deque<LongJob> queue_;
  std::map<std::string, Preview> previews_;
  std::map<std::string, uint64_t> newest_request_;
  bool shutting_down_ = false;
  bool paused_ = false;
  int steps_allowed_ = 0;
  bool preview_running_ = false;
  uint64_t running_stamp_ = 0;  // the running long job's stamp, 0 when none runs
  int threads_with_job_ = 0, threads_alone_ = 0;
  int threads_in_use_ = 0;      // worker thread only
  uint64_t cancel_below_ = 0;  // long jobs with a stamp <= this are cancelled
  WorkerStatus state_;         // the working copy behind status_
  std::chrono::steady_clock::time_point job_start_;
  double paused_s_ = 0;
  Latest<WorkerStatus> status_;
  std::thread thread_;  // started last, in the constructor body
};

}  // namespace genlab
