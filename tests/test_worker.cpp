// The compute worker: order, cancel, newest-wins previews, errors as data, pause and shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "core/compute/worker.h"

#include <ATen/Parallel.h>

using namespace genlab;
using namespace std::chrono_literals;

namespace {

// Polls until pred() holds or two seconds pass; returns pred().
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!pred() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  return pred();
}

}  // namespace

TEST(Worker, RunsLongJobsInSubmitOrder) {
  Worker worker;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) worker.submit("job", [&order, i](JobContext&) { order.push_back(i); });
  worker.wait_idle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(worker.status()->value.jobs_finished, 5u);
}

TEST(Worker, ThreadInitRunsOnTheWorkerThread) {
  std::thread::id init_thread, job_thread;
  Worker worker([&] { init_thread = std::this_thread::get_id(); });
  worker.submit("job", [&](JobContext&) { job_thread = std::this_thread::get_id(); });
  worker.wait_idle();
  EXPECT_EQ(init_thread, job_thread);
  EXPECT_NE(job_thread, std::this_thread::get_id());
}

TEST(Worker, APreviewAloneGetsItsOwnThreadCountAndOneBesideALongJobTheJobs) {
  Worker worker;
  worker.set_compute_threads(1, 2);
  std::atomic<int> alone{-1}, in_job{-1}, beside_job{-1}, after_preview{-1}, alone_again{-1};
  worker.request("preview", [&](JobContext&) { alone = at::get_num_threads(); });
  worker.wait_idle();
  worker.submit("train", [&](JobContext& ctx) {
    in_job = at::get_num_threads();
    while (ctx.step() && beside_job < 0) std::this_thread::sleep_for(1ms);
    after_preview = at::get_num_threads();
  });
  ASSERT_TRUE(eventually([&] { return in_job >= 0; }));
  worker.request("preview", [&](JobContext&) { beside_job = at::get_num_threads(); });
  worker.wait_idle();
  worker.request("preview", [&](JobContext&) { alone_again = at::get_num_threads(); });
  worker.wait_idle();
  EXPECT_EQ(alone, 2);
  EXPECT_EQ(in_job, 1);
  EXPECT_EQ(beside_job, 1);
  EXPECT_EQ(after_preview, 1);
  EXPECT_EQ(alone_again, 2);
}

TEST(Worker, CancelStopsTheRunningJobWithinOneStep) {
  Worker worker;
  std::atomic<int> steps{0};
  std::atomic<int> steps_at_cancel{-1};
  std::atomic<bool> finished{false};
  worker.submit("loop", [&](JobContext& ctx) {
    while (ctx.step()) {
      ++steps;
      std::this_thread::sleep_for(1ms);
    }
    finished = true;
  });
  ASSERT_TRUE(eventually([&] { return steps > 3; }));
  steps_at_cancel = steps.load();
  worker.cancel();
  worker.wait_idle();
  EXPECT_TRUE(finished);
  EXPECT_LE(steps - steps_at_cancel, 1);
}

TEST(Worker, CancelLeavesQueuedJobsButCancelAllDropsThem) {
  Worker worker;
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  auto looping = [&](JobContext& ctx) {
    started = true;
    while (ctx.step()) std::this_thread::sleep_for(1ms);
  };
  worker.submit("loop", looping);
  worker.submit("next", [&](JobContext&) { ++ran; });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  worker.cancel();
  worker.wait_idle();
  EXPECT_EQ(ran, 1);

  started = false;
  worker.submit("loop", looping);
  worker.submit("next", [&](JobContext&) { ++ran; });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  worker.cancel_all();
  worker.wait_idle();
  EXPECT_EQ(ran, 1);
}

TEST(Worker, PreviewsAreNewestWins) {
  Worker worker;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> blocking{false};
  // A long job that holds the worker without stepping, so requests pile up behind it.
  worker.submit("hold", [&](JobContext& ctx) {
    blocking = true;
    released.wait();
    ctx.step();
  });
  ASSERT_TRUE(eventually([&] { return blocking.load(); }));
  std::vector<int> ran;
  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) last = worker.request("decode", [&ran, i](JobContext&) { ran.push_back(i); });
  EXPECT_TRUE(worker.is_current("decode", last));
  release.set_value();
  worker.wait_idle();
  EXPECT_EQ(ran, std::vector<int>{9});
}

TEST(Worker, ARunningPreviewSeesCancelledWhenSuperseded) {
  Worker worker;
  std::atomic<bool> first_started{false}, first_stopped{false}, second_ran{false};
  uint64_t first = worker.request("sample", [&](JobContext& ctx) {
    first_started = true;
    while (ctx.step()) std::this_thread::sleep_for(1ms);
    first_stopped = true;
  });
  ASSERT_TRUE(eventually([&] { return first_started.load(); }));
  uint64_t second = worker.request("sample", [&](JobContext& ctx) { second_ran = !ctx.cancelled(); });
  worker.wait_idle();
  EXPECT_TRUE(first_stopped);
  EXPECT_TRUE(second_ran);
  EXPECT_FALSE(worker.is_current("sample", first));
  EXPECT_TRUE(worker.is_current("sample", second));
}

TEST(Worker, PreviewsRunBetweenTheStepsOfALongJob) {
  Worker worker;
  std::atomic<bool> stop{false}, preview_ran{false}, long_running_during_preview{false};
  std::atomic<bool> in_long{false};
  worker.submit("train", [&](JobContext& ctx) {
    in_long = true;
    while (!stop && ctx.step()) std::this_thread::sleep_for(1ms);
    in_long = false;
  });
  ASSERT_TRUE(eventually([&] { return in_long.load(); }));
  worker.request("decode", [&](JobContext&) {
    long_running_during_preview = in_long.load();
    preview_ran = true;
  });
  EXPECT_TRUE(eventually([&] { return preview_ran.load(); }));
  EXPECT_TRUE(long_running_during_preview);
  stop = true;
  worker.wait_idle();
}

TEST(Worker, AnExceptionBecomesAnErrorAndTheWorkerGoesOn) {
  Worker worker;
  worker.submit("explode", [](JobContext&) { throw std::runtime_error("boom"); });
  std::atomic<bool> after{false};
  worker.submit("after", [&](JobContext&) { after = true; });
  worker.wait_idle();
  auto status = worker.status()->value;
  EXPECT_EQ(status.error, "explode: boom");
  EXPECT_NE(status.error_stamp, 0u);
  EXPECT_TRUE(after);

  worker.request("preview", [](JobContext&) { throw std::runtime_error("bad latent"); });
  worker.wait_idle();
  EXPECT_EQ(worker.status()->value.error, "preview: bad latent");
  EXPECT_GT(worker.status()->value.error_stamp, status.error_stamp);
}

TEST(Worker, PauseHoldsAJobAndStepOnceLetsExactlyOneStepThrough) {
  Worker worker;
  worker.set_paused(true);
  std::atomic<int> steps{0};
  worker.submit("train", [&](JobContext& ctx) {
    while (ctx.step()) ++steps;
  });
  ASSERT_TRUE(eventually([&] { return worker.status()->value.state == WorkerState::Paused; }));
  EXPECT_EQ(steps, 0);
  worker.step_once();
  ASSERT_TRUE(eventually([&] { return steps == 1; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(steps, 1);
  worker.set_paused(false);
  EXPECT_TRUE(eventually([&] { return steps > 100; }));
  worker.cancel();
  worker.wait_idle();
  EXPECT_EQ(worker.status()->value.state, WorkerState::Idle);
}

TEST(Worker, ProgressGivesAnEta) {
  Worker worker;
  worker.set_paused(true);
  worker.submit("half", [](JobContext& ctx) {
    std::this_thread::sleep_for(50ms);
    ctx.progress(5, 10);
    ctx.step();  // pauses here, so the status stays readable
  });
  ASSERT_TRUE(eventually([&] { return worker.status()->value.state == WorkerState::Paused; }));
  WorkerStatus s = worker.status()->value;
  EXPECT_EQ(s.job, "half");
  EXPECT_EQ(s.done, 5);
  EXPECT_EQ(s.total, 10);
  EXPECT_GE(s.elapsed_s, 0.045);
  EXPECT_NEAR(s.eta_s, s.elapsed_s, 1e-9);  // half done: as long again
  worker.cancel();
  worker.wait_idle();
}

TEST(Worker, StatusStampsGrowWithEveryPublish) {
  Worker worker;
  uint64_t before = worker.status()->stamp;
  worker.submit("job", [](JobContext& ctx) { ctx.progress(1, 2); });
  worker.wait_idle();
  EXPECT_GT(worker.status()->stamp, before);
}

TEST(Worker, ShutsDownCleanlyWhileAJobRunsAndWhilePaused) {
  std::atomic<bool> started{false};
  {
    Worker worker;
    worker.submit("forever", [&](JobContext& ctx) {
      started = true;
      while (ctx.step()) std::this_thread::sleep_for(1ms);
    });
    for (int i = 0; i < 100; ++i) worker.submit("queued", [](JobContext&) {});
    ASSERT_TRUE(eventually([&] { return started.load(); }));
  }  // the destructor must cancel and join, not hang
  started = false;
  {
    Worker worker;
    worker.set_paused(true);
    worker.submit("paused", [&](JobContext& ctx) {
      started = true;
      while (ctx.step()) {}
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
  }
  SUCCEED();
}

TEST(Worker, ManyThreadsSubmittingAndRequestingDoNotDeadlock) {
  Worker worker;
  std::atomic<int> long_ran{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        worker.submit("job", [&](JobContext& ctx) { ctx.step(), ++long_ran; });
        worker.request("key" + std::to_string(t), [](JobContext& ctx) { ctx.step(); });
        if (i % 50 == 0) worker.set_paused(false);
      }
    });
  for (auto& c : clients) c.join();
  worker.wait_idle();
  EXPECT_EQ(long_ran, 800);
}
