// The hand-off from the worker to the UI: the newest immutable value of one kind, with a stamp.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace genlab {

// Process-wide, strictly increasing: a stamp orders every publish and every request.
uint64_t next_stamp();

// Called after every publish, from the publishing thread: the app sets glfwPostEmptyEvent (which
// is thread-safe), so a frame loop that sleeps while idle wakes as soon as a result is ready.
// Null (the default) to call nothing.
void set_publish_listener(void (*listener)());
void notify_published();

template <class T>
struct Snapshot {
  uint64_t stamp = 0;
  T value;
};

// Holds the newest published value. Readers get a shared pointer to an immutable snapshot, so a
// reader never sees a value change under it and never waits for the writer beyond a pointer copy.
template <class T>
class Latest {
 public:
  uint64_t publish(T value) {
    auto snap = std::make_shared<const Snapshot<T>>(Snapshot<T>{next_stamp(), std::move(value)});
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = snap;
    }
    notify_published();
    return snap->stamp;
  }
  // Null until the first publish.
  std::shared_ptr<const Snapshot<T>> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    current_.reset();
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot<T>> current_;
};

// Decides on the UI thread whether a snapshot must be uploaded again (a GL texture, a plot cache):
// only when its stamp differs from the one uploaded last. Kept GL-free so it can be tested.
class UploadTracker {
 public:
  bool needs_upload(uint64_t stamp) const { return stamp != 0 && stamp != uploaded_; }
  void mark_uploaded(uint64_t stamp) { uploaded_ = stamp; ++uploads_; }
  void reset() { uploaded_ = 0; }
  uint64_t uploads() const { return uploads_; }

 private:
  uint64_t uploaded_ = 0;
  uint64_t uploads_ = 0;
};

}  // namespace genlab
