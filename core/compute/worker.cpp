#include "core/compute/worker.h"

#include <exception>

#include "core/compute/machine.h"

namespace genlab {

uint64_t next_stamp() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

namespace {
std::atomic<void (*)()> publish_listener{nullptr};
}  // namespace

void set_publish_listener(void (*listener)()) { publish_listener.store(listener); }

void notify_published() {
  if (auto listener = publish_listener.load()) listener();
}

const char* worker_state_name(WorkerState state) {
  switch (state) {
    case WorkerState::Idle: return "idle";
    case WorkerState::Running: return "running";
    case WorkerState::Paused: return "paused";
  }
  return "?";
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

bool JobContext::step() {
  if (!preview_key_.empty()) return !cancelled();
  std::unique_lock<std::mutex> lock(worker_.mutex_);
  for (;;) {
    if (worker_.shutting_down_ || stamp_ <= worker_.cancel_below_) return false;
    if (!worker_.previews_.empty()) {
      worker_.run_previews(lock);
      continue;
    }
    worker_.use_threads(worker_.wanted_threads(true));
    if (!worker_.paused_) return true;
    if (worker_.steps_allowed_ > 0) {
      --worker_.steps_allowed_;
      return true;
    }
    worker_.state_.state = WorkerState::Paused;
    worker_.publish_status();
    auto pause_start = std::chrono::steady_clock::now();
    worker_.wake_.wait(lock);
    worker_.paused_s_ += seconds_since(pause_start);
    worker_.state_.state = WorkerState::Running;
    worker_.publish_status();
  }
}

bool JobContext::cancelled() const {
  std::lock_guard<std::mutex> lock(worker_.mutex_);
  if (worker_.shutting_down_) return true;
  if (preview_key_.empty()) return stamp_ <= worker_.cancel_below_;
  auto newest = worker_.newest_request_.find(preview_key_);
  return newest != worker_.newest_request_.end() && newest->second != stamp_;
}

void JobContext::progress(int64_t done, int64_t total) {
  if (!preview_key_.empty()) return;  // previews report through their own results
  std::lock_guard<std::mutex> lock(worker_.mutex_);
  WorkerStatus& s = worker_.state_;
  s.done = done;
  s.total = total;
  s.elapsed_s = seconds_since(worker_.job_start_) - worker_.paused_s_;
  s.eta_s = (done > 0 && total >= done) ? s.elapsed_s * double(total - done) / double(done) : -1;
  worker_.publish_status();
}

void JobContext::report_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(worker_.mutex_);
  worker_.record_error(preview_key_.empty() ? worker_.state_.job : preview_key_, message);
}

Worker::Worker(std::function<void()> thread_init) {
  status_.publish(state_);
  thread_ = std::thread([this, init = std::move(thread_init)] {
    if (init) {
      try {
        init();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        record_error("worker start", e.what());
      }
    }
    run();
  });
}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutting_down_ = true;
    queue_.clear();
    previews_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t Worker::submit(std::string name, Job job) {
  uint64_t stamp = next_stamp();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back({stamp, std::move(name), std::move(job)});
    state_.queued = int(queue_.size());
    publish_status();
  }
  wake_.notify_all();
  return stamp;
}

uint64_t Worker::request(std::string key, Job job) {
  uint64_t stamp = next_stamp();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    newest_request_[key] = stamp;
    previews_[key] = {stamp, std::move(job)};
  }
  wake_.notify_all();
  return stamp;
}

bool Worker::is_current(const std::string& key, uint64_t stamp) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto newest = newest_request_.find(key);
  return newest != newest_request_.end() && newest->second == stamp;
}

void Worker::cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_stamp_ != 0) cancel_below_ = running_stamp_;
  }
  wake_.notify_all();
}

void Worker::cancel_all() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_stamp_ != 0) cancel_below_ = running_stamp_;
    queue_.clear();
    state_.queued = 0;
    publish_status();
  }
  wake_.notify_all();
}

void Worker::set_paused(bool paused) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paused_ = paused;
    steps_allowed_ = 0;
  }
  wake_.notify_all();
}

void Worker::step_once() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (paused_) ++steps_allowed_;
  }
  wake_.notify_all();
}

bool Worker::paused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return paused_;
}

void Worker::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_cv_.wait(lock, [this] {
    return shutting_down_ || (running_stamp_ == 0 && !preview_running_ && queue_.empty() &&
                              previews_.empty());
  });
}

void Worker::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return shutting_down_ || !queue_.empty() || !previews_.empty(); });
    if (shutting_down_) break;
    if (!previews_.empty()) {
      run_previews(lock);
      idle_cv_.notify_all();
      continue;
    }
    LongJob job = std::move(queue_.front());
    queue_.pop_front();
    running_stamp_ = job.stamp;
    job_start_ = std::chrono::steady_clock::now();
    paused_s_ = 0;
    state_.state = WorkerState::Running;
    state_.job = job.name;
    state_.done = state_.total = 0;
    state_.elapsed_s = 0;
    state_.eta_s = -1;
    state_.queued = int(queue_.size());
    publish_status();
    const int threads = wanted_threads(true);
    lock.unlock();
    use_threads(threads);
    run_long(job);
    lock.lock();
    running_stamp_ = 0;
    state_.state = WorkerState::Idle;
    state_.job.clear();
    ++state_.jobs_finished;
    publish_status();
    idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

void Worker::run_long(LongJob& job) {
  JobContext ctx(*this, job.stamp, "");
  try {
    job.job(ctx);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    record_error(job.name, e.what());
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    record_error(job.name, "unknown exception");
  }
}

void Worker::run_previews(std::unique_lock<std::mutex>& lock) {
  while (!previews_.empty() && !shutting_down_) {
    auto first = previews_.begin();
    std::string key = first->first;
    Preview preview = std::move(first->second);
    previews_.erase(first);
    preview_running_ = true;
    const int threads = wanted_threads(running_stamp_ != 0);
    lock.unlock();
    use_threads(threads);
    std::string error;
    try {
      JobContext ctx(*this, preview.stamp, key);
      preview.job(ctx);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    lock.lock();
    preview_running_ = false;
    if (!error.empty()) record_error(key, error);
  }
}

void Worker::set_compute_threads(int with_job, int alone) {
  std::lock_guard<std::mutex> lock(mutex_);
  threads_with_job_ = with_job;
  threads_alone_ = alone;
}

void Worker::use_threads(int threads) {
  if (threads <= 0 || threads == threads_in_use_) return;
  configure_compute_threads(threads);
  threads_in_use_ = threads;
}

void Worker::publish_status() { status_.publish(state_); }

void Worker::record_error(const std::string& name, const std::string& message) {
  state_.error = name + ": " + message;
  state_.error_stamp = next_stamp();
  publish_status();
}

}  // namespace genlab
