// The MPI executor (rank 0) and the worker loop (ranks 1..N). Messages are JSON text: rank 0 sends hello, jobs,
// cancel and stop; a worker sends each epoch row as it is recorded, then the job's result or its error. Every MPI
// call is made from the thread that runs the search loop (rank 0) or the jobs (workers): MPI_THREAD_FUNNELED.
#include <mpi.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.hpp"
#include "exec/mpi.hpp"

namespace fhist::exec {

namespace {

enum Tag : int { kHello = 1, kJob = 2, kStop = 3, kCancel = 4, kEpoch = 10, kResult = 11, kError = 12 };

void send(int to, Tag tag, const nlohmann::json& body) {
  const auto text = body.dump();
  MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

struct Message {
  int from = 0;
  int tag = 0;
  nlohmann::json body;
};

Message receive(int from, int tag) {
  MPI_Status status;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &status);
  int n = 0;
  MPI_Get_count(&status, MPI_CHAR, &n);
  std::string text(static_cast<std::size_t>(n), '\0');
  MPI_Recv(text.data(), n, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return {status.MPI_SOURCE, status.MPI_TAG, text.empty() ? nlohmann::json() : nlohmann::json::parse(text)};
}

std::string processor_name() {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  return std::string(name, static_cast<std::size_t>(len));
}

int worker_ranks(int size) {
  if (size < 2) {
    throw InputError("--executor mpi: this run has 1 MPI rank; start it with mpirun -np N+1 (rank 0 runs the "
                     "search, ranks 1..N train)");
  }
  return size - 1;
}

class MpiExecutor final : public Executor {
 public:
  MpiExecutor(EpochSink& journal, const nlohmann::json& hello, std::function<bool()> interrupted)
      : journal_(journal), interrupted_(std::move(interrupted)) {
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    worker_ranks(size_);
    // Workers on rank 0's node count their device index from one place lower (node_worker_index).
    auto with_host = hello;
    with_host["rank0_host"] = processor_name();
    for (int r = 1; r < size_; ++r) send(r, kHello, with_host);
    job_of_.assign(static_cast<std::size_t>(size_), std::nullopt);
  }

  ~MpiExecutor() override {
    try {
      cancel();
      while (running_ > 0) wait_any();  // their ends (results, errors) are dropped: the loop has stopped
      for (int r = 1; r < size_; ++r) send(r, kStop, nullptr);
    } catch (...) {
      // Nothing to report to from a destructor; MPI_Finalize or mpirun ends what is left.
    }
  }

  int capacity() const override { return size_ - 1; }
  int running() const override { return running_; }
  std::string name() const override { return "mpi"; }

  void submit(const sched::Job& job, const space::Config& config) override {
    int r = 1;
    while (r < size_ && job_of_[static_cast<std::size_t>(r)]) ++r;
    if (r == size_) throw std::logic_error("mpi executor: submit with every worker busy");
    job_of_[static_cast<std::size_t>(r)] = job;
    ++running_;
    send(r, kJob, {{"job", to_json(job)}, {"config", config.to_json()}, {"recorded", journal_.recorded(job.trial)}});
  }

  Finished wait_any() override {
    if (running_ == 0) throw std::logic_error("mpi executor: wait_any with nothing running");
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      // Not a blocking probe: an epoch can take minutes, and an interrupt must reach the workers now.
      int ready = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &ready, MPI_STATUS_IGNORE);
      if (!ready) {
        if (!cancelled_ && interrupted_ && interrupted_()) cancel();
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
        continue;
      }
      pause = std::chrono::milliseconds(1);
      auto m = receive(MPI_ANY_SOURCE, MPI_ANY_TAG);
      if (m.tag == kEpoch) {
        journal_.add(m.body.at("trial").get<std::int64_t>(), m.body.at("epoch").get<std::int64_t>(),
                     m.body.at("record"));
        continue;
      }
      auto& slot = job_of_.at(static_cast<std::size_t>(m.from));
      if (!slot) continue;  // a late message from a job already accounted for
      Finished f;
      f.job = *slot;
      f.worker = m.from - 1;
      f.busy_seconds = m.body.value("busy_seconds", 0.0);
      slot.reset();
      --running_;
      if (m.tag == kResult) {
        f.outcome = outcome_from_json(m.body.at("outcome"));
        f.outcome->worker = f.worker;
      } else {
        const auto kind = m.body.value("kind", std::string());
        const auto what = fmt::format("MPI rank {}: {}", m.from, m.body.value("message", std::string()));
        if (kind == "cancelled") {
          f.error = std::make_exception_ptr(Cancelled{});
        } else if (kind == "environment") {
          f.error = std::make_exception_ptr(EnvironmentError(what));
        } else {
          f.error = std::make_exception_ptr(Error(what));
        }
      }
      return f;
    }
  }

  void cancel() override {
    cancelled_ = true;
    for (int r = 1; r < size_; ++r) {
      if (job_of_[static_cast<std::size_t>(r)]) send(r, kCancel, nullptr);
    }
  }

 private:
  EpochSink& journal_;
  std::function<bool()> interrupted_;
  bool cancelled_ = false;  // the running jobs were told to stop (new ones after it run normally)
  int size_ = 1;
  int running_ = 0;
  std::vector<std::optional<sched::Job>> job_of_;  // by rank
};

// A worker's sink: the rows go to rank 0; what the journal holds comes with each job.
class WorkerSink final : public EpochSink {
 public:
  std::int64_t recorded(std::int64_t trial) override { return trial == trial_ ? recorded_ : 0; }
  void add(std::int64_t trial, std::int64_t epoch, const nlohmann::json& record) override {
    send(0, kEpoch, {{"trial", trial}, {"epoch", epoch}, {"record", record}});
  }
  void start(std::int64_t trial, std::int64_t recorded) {
    trial_ = trial;
    recorded_ = recorded;
  }

 private:
  std::int64_t trial_ = -1, recorded_ = 0;
};

}  // namespace

bool built_with_mpi() { return true; }

namespace {
bool mpi_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return false;
  MPI_Finalized(&finalized);
  return finalized == 0;
}
}  // namespace

void abort_mpi_job(int exit_code) {
  if (!mpi_running()) return;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
}

std::string mpi_rank_note() {
  if (!mpi_running()) return {};
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size > 1 ? fmt::format(" (MPI rank {} of {})", rank, size) : std::string();
}

MpiSession::MpiSession() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    // Every MPI call is made from the thread that runs the loop or the jobs: anything less than FUNNELED is unsafe.
    if (provided < MPI_THREAD_FUNNELED) {
      throw EnvironmentError(fmt::format("this MPI library gives thread level {} where fhist needs MPI_THREAD_FUNNELED "
                                         "({}): use Open MPI as Debian builds it, or --executor thread",
                                         provided, MPI_THREAD_FUNNELED));
    }
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

int MpiSession::workers() const { return worker_ranks(size_); }

MpiSession::~MpiSession() {
  if (std::uncaught_exceptions() > 0) return;  // main prints the error, then abort_mpi_job ends the job
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::unique_ptr<Executor> make_mpi_executor(EpochSink& journal, const nlohmann::json& hello,
                                            std::function<bool()> interrupted) {
  return std::make_unique<MpiExecutor>(journal, hello, std::move(interrupted));
}

void serve_mpi_worker(const MakeWorkerObjective& make) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const auto hello = receive(0, kHello).body;
  WorkerSink sink;
  bool cancelled = false;
  auto last_poll = std::chrono::steady_clock::now();
  // Polled at every training step; MPI is asked at most every 50 ms.
  auto poll = [&]() {
    if (cancelled) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_poll < std::chrono::milliseconds(50)) return false;
    last_poll = now;
    int flag = 0;
    MPI_Iprobe(0, kCancel, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    if (flag) {
      receive(0, kCancel);
      cancelled = true;
    }
    return cancelled;
  };
  auto objective = make(hello, sink, poll);
  Worker worker;
  worker.index = rank - 1;
  const auto devices = hello.value("devices", std::vector<std::string>{"cpu"});
  const auto env_int = [](std::initializer_list<const char*> vars) {
    for (const char* var : vars) {
      const char* v = std::getenv(var);
      if (v != nullptr && *v != '\0') return std::atoi(v);
    }
    return -1;
  };
  const int local_rank = env_int({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"});
  const int local_size = env_int({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"});
  int world_size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  const bool rank0_here = hello.value("rank0_host", std::string()) == processor_name();
  const int index = node_worker_index(rank, local_rank, rank0_here);
  worker.device = devices.empty() ? "cpu" : devices[static_cast<std::size_t>(index) % devices.size()];
  // The search's threads (as recorded in its journal), shared by this node's workers as the thread executor shares
  // them: --threads means the same with threads and with MPI.
  worker.threads = node_job_threads(hello.value("threads", 0), world_size, local_size, rank0_here);
  while (true) {
    const auto m = receive(0, MPI_ANY_TAG);
    if (m.tag == kStop) return;
    if (m.tag != kJob) continue;  // a cancel that crossed the job's result
    cancelled = false;
    const auto job = job_from_json(m.body.at("job"));
    const auto config = space::Config::from_json(m.body.at("config"));
    sink.start(job.trial, m.body.at("recorded").get<std::int64_t>());
    const auto t0 = std::chrono::steady_clock::now();
    auto busy = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    try {
      objective->prepare_thread(worker);
      auto outcome = objective->run(job, config, worker);
      outcome.worker = worker.index;
      send(0, kResult, {{"outcome", to_json(outcome)}, {"busy_seconds", busy()}});
    } catch (const Cancelled&) {
      send(0, kError, {{"kind", "cancelled"}, {"busy_seconds", busy()}});
    } catch (const EnvironmentError& e) {
      send(0, kError, {{"kind", "environment"}, {"message", e.what()}, {"busy_seconds", busy()}});
    } catch (const std::exception& e) {
      send(0, kError, {{"kind", "error"}, {"message", e.what()}, {"busy_seconds", busy()}});
    }
  }
}

}  // namespace fhist::exec
