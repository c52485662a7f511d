// One contract, every executor: jobs come back once each with their outcome, failures and divergence are data, an
// exception reaches the loop as Finished::error without stopping the executor, capacity bounds the jobs running at
// once, jobs end in any order, and worker threads are prepared by the objective. A fake objective, no Torch: the
// whole suite runs in milliseconds. Built a second time with FHIST_MPI_CONTRACT as exec_mpi_test, run under
// mpirun -np 3: the same cases against the MPI executor, whose workers (ranks 1-2) run the fake objective.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "exec/executor.hpp"
#include "exec/mpi.hpp"

namespace fhist::exec {
namespace {

// Config "kind": ok | fail | diverge | throw | gate (waits until `open()`) | rendezvous (waits until "n" jobs run at
// once), "score": its score.
class FakeObjective : public Objective {
 public:
  Outcome run(const sched::Job& job, const space::Config& config, const Worker& worker) override {
    const int now = ++running_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      max_running_ = std::max(max_running_, now);
      ran_on_[job.trial] = std::this_thread::get_id();
      cv_.notify_all();
    }
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{running_};
    const auto kind = config.get_string("kind");
    if (kind == "gate") {
      std::unique_lock<std::mutex> lock(mu_);
      // A bounded wait: a broken executor fails the test instead of hanging it.
      if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return open_; })) throw std::runtime_error("gate timeout");
    }
    if (kind == "rendezvous") {  // returns once `n` jobs run at once
      std::unique_lock<std::mutex> lock(mu_);
      const auto n = config.get_int("n");
      if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return running_.load() >= n; })) {
        throw std::runtime_error("rendezvous timeout");
      }
    }
    if (kind == "throw") throw std::runtime_error("disk full");
    if (kind == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(500));
    Outcome o;
    o.trial = job.trial;
    o.bracket = job.bracket;
    o.rung = job.rung;
    o.budget_epochs = job.budget_epochs;
    o.score = kind == "fail" || kind == "diverge" ? -INFINITY : config.get_double("score");
    o.state = kind == "fail"      ? sched::TrialState::kFailed
              : kind == "diverge" ? sched::TrialState::kDiverged
                                  : sched::TrialState::kComplete;
    if (o.state != sched::TrialState::kComplete) o.message = "as asked";
    return o;
  }
  void prepare_thread(const Worker& worker) override {
    std::lock_guard<std::mutex> lock(mu_);
    prepared_.insert(std::this_thread::get_id());
  }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> running_{0};
  int max_running_ = 0;
  bool open_ = false;
  std::map<std::int64_t, std::thread::id> ran_on_;
  std::set<std::thread::id> prepared_;
};

space::Config cfg(const std::string& kind, double score = 0.5) {
  space::Config c;
  c.set("kind", kind);
  c.set("score", score);
  return c;
}

sched::Job job(std::int64_t trial, std::int64_t budget = 3) { return {trial, 1, 0, budget}; }

struct Kind {
  std::string name;
  int workers;
};

#ifdef FHIST_MPI_CONTRACT
// Rank 0's one MPI executor (its workers take one hello per run), lent to each test case.
Executor* g_mpi = nullptr;

class Borrowed final : public Executor {
 public:
  explicit Borrowed(Executor& e) : e_(e) {}
  int capacity() const override { return e_.capacity(); }
  int running() const override { return e_.running(); }
  std::string name() const override { return e_.name(); }
  void submit(const sched::Job& job, const space::Config& config) override { e_.submit(job, config); }
  Finished wait_any() override { return e_.wait_any(); }
  void cancel() override { e_.cancel(); }

 private:
  Executor& e_;
};
#endif

class ExecutorContract : public ::testing::TestWithParam<Kind> {
 protected:
  std::unique_ptr<Executor> make(FakeObjective& o) {
#ifdef FHIST_MPI_CONTRACT
    if (GetParam().name == "mpi") return std::make_unique<Borrowed>(*g_mpi);
#endif
    if (GetParam().name == "inline") return make_inline_executor(o, {7, "cpu", 0});
    std::vector<Worker> w;
    for (int i = 0; i < GetParam().workers; ++i) w.push_back({i, "cpu", 1});
    return make_thread_executor(o, w);
  }
};

TEST_P(ExecutorContract, EveryJobComesBackOnceWithItsOutcome) {
  FakeObjective o;
  auto ex = make(o);
  EXPECT_EQ(ex->capacity(), GetParam().workers);
  std::map<std::int64_t, Finished> back;
  const char* kinds[] = {"ok", "fail", "diverge", "ok", "ok", "fail", "ok"};
  std::int64_t next = 0;
  while (next < 7 || ex->running() > 0) {
    while (next < 7 && ex->running() < ex->capacity()) {
      ex->submit(job(next, 2 + next), cfg(kinds[next], 0.1 * static_cast<double>(next)));
      ++next;
      EXPECT_LE(ex->running(), ex->capacity());
    }
    auto f = ex->wait_any();
    ASSERT_FALSE(f.error);
    ASSERT_TRUE(f.outcome);
    EXPECT_TRUE(back.emplace(f.outcome->trial, std::move(f)).second);
  }
  ASSERT_EQ(back.size(), 7u);
  for (std::int64_t t = 0; t < 7; ++t) {
    const auto& f = back.at(t);
    EXPECT_EQ(f.job.trial, t);
    EXPECT_EQ(f.outcome->budget_epochs, 2 + t);
    const std::string k = kinds[t];
    EXPECT_EQ(std::string(sched::state_name(f.outcome->state)),
              k == "ok" ? "complete" : k == "fail" ? "failed" : "diverged");
    EXPECT_DOUBLE_EQ(f.outcome->score, k == "ok" ? 0.1 * static_cast<double>(t) : -INFINITY);
    EXPECT_EQ(f.outcome->worker, f.worker);
    EXPECT_TRUE(GetParam().name == "inline" ? f.worker == 7 : f.worker < GetParam().workers) << f.worker;
    EXPECT_GE(f.busy_seconds, 0.0);
  }
}

TEST_P(ExecutorContract, AnExceptionIsReturnedAndTheExecutorGoesOn) {
  FakeObjective o;
  auto ex = make(o);
  ex->submit(job(0), cfg("throw"));
  auto f = ex->wait_any();
  ASSERT_TRUE(f.error);
  EXPECT_FALSE(f.outcome);
  EXPECT_EQ(f.job.trial, 0);
  try {
    std::rethrow_exception(f.error);
  } catch (const std::runtime_error& e) {
    // A worker rank's exception arrives as text, naming the rank.
    EXPECT_EQ(std::string(e.what()), GetParam().name == "mpi" ? "MPI rank 1: disk full" : "disk full");
  }
  EXPECT_EQ(ex->running(), 0);
  ex->submit(job(1), cfg("ok", 0.9));
  f = ex->wait_any();
  ASSERT_TRUE(f.outcome);
  EXPECT_DOUBLE_EQ(f.outcome->score, 0.9);
}

TEST_P(ExecutorContract, CapacityJobsRunAtOnceAndEndInAnyOrder) {
  FakeObjective o;
  auto ex = make(o);
  const int n = ex->capacity();
  if (GetParam().name == "mpi") {
    // Each worker is a process: n jobs at once are n jobs on n distinct workers, and a job that ends first comes back
    // first whatever the order of submission.
    ex->submit(job(0), cfg("slow", 0.1));
    for (int i = 1; i < n; ++i) ex->submit(job(i), cfg("ok", 0.2));
    EXPECT_EQ(ex->running(), n);
    std::set<int> workers;
    std::vector<std::int64_t> order;
    for (int i = 0; i < n; ++i) {
      auto f = ex->wait_any();
      ASSERT_TRUE(f.outcome);
      workers.insert(f.worker);
      order.push_back(f.outcome->trial);
    }
    EXPECT_EQ(workers.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(order.back(), 0);
    return;
  }
  if (GetParam().name == "inline") {
    // Runs inside wait_any, one at a time.
    ex->submit(job(0), cfg("ok"));
    EXPECT_EQ(o.running_.load(), 0);
    EXPECT_TRUE(ex->wait_any().outcome);
    EXPECT_EQ(o.max_running_, 1);
    EXPECT_TRUE(o.prepared_.empty());  // the caller's thread is already set up
    return;
  }
  // n - 1 gated jobs and one that returns once all n run at once: it (submitted last) comes back first.
  for (int i = 0; i + 1 < n; ++i) ex->submit(job(i), cfg("gate"));
  auto last = cfg("rendezvous");
  last.set("n", n);
  ex->submit(job(n - 1), last);
  auto first = ex->wait_any();
  ASSERT_TRUE(first.outcome) << "a job threw: the executor ran fewer than " << n << " at once";
  EXPECT_EQ(first.outcome->trial, n - 1);
  o.open();
  for (int i = 0; i + 1 < n; ++i) EXPECT_TRUE(ex->wait_any().outcome);
  EXPECT_EQ(o.max_running_, n);
  // Each job ran on a thread the objective had prepared.
  for (const auto& [trial, id] : o.ran_on_) EXPECT_EQ(o.prepared_.count(id), 1u) << trial;
}

TEST_P(ExecutorContract, SubmitBeyondCapacityAndWaitOnNothingAreRefused) {
  FakeObjective o;
  auto ex = make(o);
  EXPECT_THROW(ex->wait_any(), std::logic_error);
  for (int i = 0; i < ex->capacity(); ++i) ex->submit(job(i), cfg("ok"));
  EXPECT_THROW(ex->submit(job(99), cfg("ok")), std::logic_error);
  for (int i = 0; i < ex->capacity(); ++i) EXPECT_TRUE(ex->wait_any().outcome);
}

#ifdef FHIST_MPI_CONTRACT
INSTANTIATE_TEST_SUITE_P(Executors, ExecutorContract, ::testing::Values(Kind{"mpi", 2}),
                         [](const auto& info) { return info.param.name + std::to_string(info.param.workers); });
#else
INSTANTIATE_TEST_SUITE_P(Executors, ExecutorContract,
                         ::testing::Values(Kind{"inline", 1}, Kind{"thread", 1}, Kind{"thread", 3}),
                         [](const auto& info) { return info.param.name + std::to_string(info.param.workers); });
#endif

}  // namespace
}  // namespace fhist::exec

namespace fhist::exec {
namespace {

// GPUs by each node's own workers: `mpirun -np 9 --map-by node` on two 4-GPU nodes puts ranks 0,2,4,6,8 on node A
// (local ranks 0..4) and 1,3,5,7 on node B (0..3): A's workers (ranks 2,4,6,8) get indices 0..3, B's 0..3, where
// world rank - 1 would double-book half the GPUs.
TEST(NodeWorkerIndex, CountsTheWorkersOfEachNode) {
  std::vector<int> a, b;
  for (int r : {2, 4, 6, 8}) a.push_back(node_worker_index(r, r / 2, true));
  for (int r : {1, 3, 5, 7}) b.push_back(node_worker_index(r, r / 2, false));
  EXPECT_EQ(a, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(b, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(node_worker_index(3, -1, true), 2);  // no local rank known: one node, world rank - 1
  EXPECT_EQ(node_worker_index(1, 1, true), 0);
}

// --threads 8 means 8 threads shared by the jobs of one host, with threads as with MPI: mpirun -np 3 on one host is
// 2 workers of 4 threads (thread executor, 2 workers: 4 each); 4 workers alone on a second node get 2 each.
TEST(NodeJobThreads, TheSearchsThreadsAreSharedByTheWorkersOfANode) {
  EXPECT_EQ(node_job_threads(8, 3, 3, true), 4);
  EXPECT_EQ(node_job_threads(8, 3, -1, true), 4);   // no local size known: one node
  EXPECT_EQ(node_job_threads(8, 9, 4, false), 2);   // a node without rank 0
  EXPECT_EQ(node_job_threads(8, 9, 5, true), 2);    // rank 0's node: 4 workers besides it
  EXPECT_EQ(node_job_threads(2, 9, 5, true), 1);    // at least one
  EXPECT_EQ(node_job_threads(0, 3, 3, true), 0);    // not set
}

}  // namespace
}  // namespace fhist::exec

#ifdef FHIST_MPI_CONTRACT
// mpirun -np 3 exec_mpi_test: rank 0 runs the cases, ranks 1-2 serve jobs with the fake objective until rank 0's
// executor is destroyed (its stop message).
namespace {
class NullSink final : public fhist::exec::EpochSink {
 public:
  std::int64_t recorded(std::int64_t) override { return 0; }
  void add(std::int64_t, std::int64_t, const nlohmann::json&) override {}
};
}  // namespace

int main(int argc, char** argv) {
  using namespace fhist::exec;
  MpiSession mpi;
  if (mpi.rank() > 0) {
    serve_mpi_worker([](const nlohmann::json&, EpochSink&, std::function<bool()>) -> std::unique_ptr<Objective> {
      return std::make_unique<FakeObjective>();
    });
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  NullSink sink;
  auto executor = make_mpi_executor(sink, nlohmann::json::object());
  g_mpi = executor.get();
  const int rc = RUN_ALL_TESTS();
  executor.reset();
  return rc;
}
#endif
