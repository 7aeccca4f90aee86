#include "core/session.h"

#include "core/labs/diffusion_lab.h"
#include "core/labs/gan_lab.h"
#include "core/labs/vae_lab.h"

namespace genlab {

Session::Session(int threads) : worker_([threads] { configure_compute_threads(threads); }) {
  keep_freed_memory();
  vae_ = std::make_unique<VaeLab>(*this);
  gan_ = std::make_unique<GanLab>(*this);
  diffusion_ = std::make_unique<DiffusionLab>(*this);
}

Session::~Session() = default;  // the worker (declared last) joins first, then the labs go

void Session::open_dataset(const std::string& spec, const LoadOptions& options) {
  worker_.submit("load " + spec, [this, spec, options](JobContext& ctx) {
    auto report = [&ctx](int64_t done, int64_t total) { ctx.progress(done, total); };
    // A failed load throws: the worker turns it into the error line, the old data set stays.
    auto data = std::make_shared<const Dataset>(load_dataset(spec, options, report));
    dataset_.publish({data, mean_image(*data, Split::Train)});
  });
}

void Session::probe_machine() {
  worker_.submit("measure machine", [this](JobContext&) { machine_.publish(genlab::probe_machine()); });
}

void Session::set_threads(int threads) {
  // A preview, so it also takes effect between the steps of a running job.
  worker_.request("threads", [threads](JobContext&) { configure_compute_threads(threads); });
}

void Session::start_cpu_load(double seconds) {
  worker_.submit("cpu load", [seconds](JobContext& ctx) { run_cpu_load(ctx, seconds); });
}

}  // namespace genlab
