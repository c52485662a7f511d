#include <chrono>
#include <deque>
#include <stdexcept>

#include "exec/executor.hpp"

namespace fhist::exec {

namespace {

class InlineExecutor final : public Executor {
 public:
  InlineExecutor(Objective& objective, Worker worker) : objective_(objective), worker_(std::move(worker)) {}

  int capacity() const override { return 1; }
  int running() const override { return static_cast<int>(queue_.size()); }
  std::string name() const override { return "inline"; }

  void submit(const sched::Job& job, const space::Config& config) override {
    if (!queue_.empty()) throw std::logic_error("inline executor: submit while a job is waiting to run");
    queue_.push_back({job, config});
  }

  Finished wait_any() override {
    if (queue_.empty()) throw std::logic_error("inline executor: wait_any with nothing submitted");
    auto [job, config] = std::move(queue_.front());
    queue_.pop_front();
    Finished f;
    f.job = job;
    f.worker = worker_.index;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      f.outcome = objective_.run(job, config, worker_);
      f.outcome->worker = worker_.index;
    } catch (...) {
      f.error = std::current_exception();
    }
    f.busy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return f;
  }

 private:
  Objective& objective_;
  Worker worker_;
  std::deque<std::pair<sched::Job, space::Config>> queue_;
};

}  // namespace

std::unique_ptr<Executor> make_inline_executor(Objective& objective, Worker worker) {
  return std::make_unique<InlineExecutor>(objective, std::move(worker));
}

}  // namespace fhist::exec
