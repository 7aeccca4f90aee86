#include "core/train/data_parallel.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/train/rendezvous_host.h"
#include "core/train/run_util.h"

namespace genlab {

namespace {

// Gradients travel in flattened buckets of about this size: few enough calls that the per-call
// latency does not dominate, small enough to stay in cache (DDP's default bucket is 25 MB for
// models a thousand times larger).
constexpr int64_t kBucketBytes = int64_t(1) << 20;

std::string setup_key(int rank) { return "setup/" + std::to_string(rank); }
std::string step_key(int rank) { return "step/" + std::to_string(rank); }

std::vector<uint8_t> to_bytes(const std::string& text) { return {text.begin(), text.end()}; }
std::string to_text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

// c10::Error's what() carries a C++ backtrace; the first line says what happened.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::pair<std::string, uint16_t> split_master(const std::string& master) {
  const size_t colon = master.rfind(':');
  const std::string bad = "--master " + master + ": expected HOST:PORT";
  if (colon == std::string::npos || colon == 0 || colon + 1 == master.size()) throw std::invalid_argument(bad);
  const std::string port = master.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) == 0 ||
      std::stoi(port) > 65535)
    throw std::invalid_argument(bad);
  return {master.substr(0, colon), uint16_t(std::stoi(port))};
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

// A setup value as the user would write it (floats stored from C++ floats print long as doubles).
std::string shown(const nlohmann::json& value) {
  if (!value.is_number_float()) return value.dump();
  char text[32];
  snprintf(text, sizeof text, "%.7g", value.get<double>());
  return text;
}

// The first field where rank `rank`'s setup differs from rank 0's, as a sentence ("" when none).
std::string first_difference(const nlohmann::json& first, const nlohmann::json& other, int rank) {
  const nlohmann::json a = first.flatten(), b = other.flatten();
  auto sentence = [&](const std::string& pointer, const std::string& theirs, const std::string& ours) {
    std::string field = pointer.substr(1);  // "/config/learning_rate" -> "config.learning_rate"
    std::replace(field.begin(), field.end(), '/', '.');
    return "rank " + std::to_string(rank) + " was started unlike rank 0: " + field + " is " + theirs + " there, " +
           ours + " on rank 0";
  };
  for (const auto& [key, value] : a.items())
    if (!b.contains(key) || b[key] != value) return sentence(key, b.contains(key) ? shown(b[key]) : "missing", shown(value));
  for (const auto& [key, value] : b.items())
    if (!a.contains(key)) return sentence(key, shown(value), "missing");
  return "";
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_host) {
  // The same choice as torch.distributed: GLOO_SOCKET_IFNAME names the interface when set.
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (is_loopback(master_host)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
};

DataParallel::DataParallel(const ParallelOptions& options, const std::string& setup_json)
    : options_(options), group_(std::make_unique<Group>()) {
  const int rank = options.rank, world = options.world_size;
  if (world < 2) throw std::invalid_argument("--world-size " + std::to_string(world) + ": data-parallel training needs 2 or more ranks");
  if (rank < 0 || rank >= world)
    throw std::invalid_argument("--rank " + std::to_string(rank) + ": must be 0.." + std::to_string(world - 1));
  if (options.timeout_s <= 0) throw std::invalid_argument("--rank-timeout must be positive");
  if (options.backend == "nccl")
    throw std::invalid_argument("--backend nccl: not built in (it needs a CUDA LibTorch with NCCL, and is untried); "
                                "use --backend gloo, which also carries CUDA tensors");
  if (options.backend != "gloo") throw std::invalid_argument("--backend " + options.backend + ": expected gloo or nccl");
  const auto [host, port] = split_master(options.master);
  const auto timeout = std::chrono::milliseconds(int64_t(options.timeout_s * 1000));

  c10d::TCPStoreOptions store_options;
  store_options.port = port;
  store_options.isServer = rank == 0 && !options.store_hosted;
  store_options.waitWorkers = false;
  store_options.timeout = timeout;
  try {
    group_->store = c10::make_intrusive<c10d::TCPStore>(host, store_options);
  } catch (const std::exception& e) {
    throw RankError(std::string("cannot ") + (store_options.isServer ? "host" : "reach") + " the rendezvous store at " +
                    options.master + " (" + first_line(e.what()) + ")");
  }
  c10d::Store& store = *group_->store;

  // Every rank shows its setup; each compares them all with rank 0's, so all refuse the same one.
  if (store.add("joined/" + std::to_string(rank), 1) > 1)
    throw std::invalid_argument("--rank " + std::to_string(rank) + ": another process already joined " + options.master +
                                " as rank " + std::to_string(rank));
  nlohmann::json mine = nlohmann::json::parse(setup_json);
  mine["world_size"] = world;
  mine["backend"] = options.backend;
  store.set(setup_key(rank), to_bytes(mine.dump()));
  std::vector<std::string> keys;
  for (int r = 0; r < world; ++r) keys.push_back(setup_key(r));
  try {
    store.wait(keys, timeout);
  } catch (const std::exception&) {
    int arrived = 0;
    for (const std::string& key : keys) arrived += store.check({key}) ? 1 : 0;
    throw RankError("only " + std::to_string(arrived) + " of " + std::to_string(world) +
                    " ranks arrived at the rendezvous " + options.master + " within " +
                    std::to_string(int(options.timeout_s)) + " s");
  }
  std::string difference;
  try {
    const nlohmann::json first = nlohmann::json::parse(to_text(store.get(setup_key(0))));
    for (int r = 1; r < world && difference.empty(); ++r)
      difference = first_difference(first, nlohmann::json::parse(to_text(store.get(setup_key(r)))), r);
    // The rank that hosts the store stays until every rank has read the setups, so all of them
    // can say why the run does not start.
    store.add("setups_read", 1);
    const auto t0 = std::chrono::steady_clock::now();
    while (store_options.isServer && store.add("setups_read", 0) < world && seconds_since(t0) < options.timeout_s)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } catch (const std::exception& e) {
    throw RankError("lost the rendezvous store at " + options.master + " (" + first_line(e.what()) + ")");
  }
  if (!difference.empty()) throw std::invalid_argument(difference);

  auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
  gloo_options->devices.push_back(gloo_device(host));
  try {
    group_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::make_intrusive<c10d::PrefixStore>("gloo", group_->store), rank, world, gloo_options);
  } catch (const std::exception& e) {
    throw RankError("could not form the process group (" + first_line(e.what()) + ")");
  }
}

DataParallel::~DataParallel() = default;

std::pair<int64_t, int64_t> DataParallel::rows(int64_t n) const {
  const int64_t world = options_.world_size, rank = options_.rank;
  const int64_t base = n / world, extra = n % world;  // the first `extra` ranks take one row more
  const int64_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

void DataParallel::sum(const std::vector<torch::Tensor>& tensors, std::vector<float>& figures, int64_t step) {
  const auto t0 = std::chrono::steady_clock::now();
  const torch::Device device = tensors.empty() ? torch::Device(torch::kCPU) : tensors[0].device();
  size_t next = 0;
  bool last = false;
  while (!last) {
    std::vector<torch::Tensor> members, flat;
    int64_t bytes = 0;
    while (next < tensors.size() && (members.empty() || bytes + int64_t(tensors[next].nbytes()) <= kBucketBytes)) {
      members.push_back(tensors[next]);
      flat.push_back(tensors[next].reshape({-1}));
      bytes += int64_t(tensors[next].nbytes());
      ++next;
    }
    last = next == tensors.size();
    if (last) flat.push_back(torch::tensor(figures, torch::kFloat).to(device));  // the figures ride in the last bucket
    std::vector<torch::Tensor> bucket{torch::cat(flat)};
    try {
      group_->group->allreduce(bucket)->wait();
    } catch (const c10::Error& e) {
      throw RankError("lost the other ranks at step " + std::to_string(step) + " (" +
                      first_line(e.what_without_backtrace()) + ")");
    } catch (const std::exception& e) {
      throw RankError("lost the other ranks at step " + std::to_string(step) + " (" +
                      first_line(e.what()) + ")");
    }
    int64_t at = 0;
    for (torch::Tensor& member : members) {
      member.copy_(bucket[0].slice(0, at, at + member.numel()).view_as(member));
      at += member.numel();
    }
    if (last) {
      auto tail = bucket[0].slice(0, at).cpu();
      for (size_t i = 0; i < figures.size(); ++i) figures[i] = tail[int64_t(i)].item<float>();
    }
    traffic_.bytes += double(bucket[0].nbytes());
    ++traffic_.buckets;
  }
  ++traffic_.calls;
  traffic_.seconds += seconds_since(t0);
}

void DataParallel::finished_step(int64_t step) {
  try {
    group_->store->set(step_key(rank()), to_bytes(std::to_string(step)));
  } catch (const std::exception&) {
    // The store went with the rank that hosted it; the next all-reduce says so.
  }
}

struct RendezvousHost::Store {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

RendezvousHost::RendezvousHost() : store_(std::make_unique<Store>()) {
  c10d::TCPStoreOptions options;
  options.port = 0;  // the system picks a free one
  options.isServer = true;
  options.waitWorkers = false;
  store_->store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
}

RendezvousHost::~RendezvousHost() = default;

int RendezvousHost::port() const { return store_->store->getPort(); }

int64_t RendezvousHost::finished_step(int rank) const {
  try {
    if (!store_->store->check({step_key(rank)})) return -1;
    return std::stoll(to_text(store_->store->get(step_key(rank))));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace genlab
