#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "exec/executor.hpp"

namespace fhist::exec {

namespace {

class ThreadExecutor final : public Executor {
 public:
  ThreadExecutor(Objective& objective, std::vector<Worker> workers)
      : objective_(objective), workers_(std::move(workers)), slots_(workers_.size()) {
    if (workers_.empty()) throw std::logic_error("thread executor: no workers");
  }

  ~ThreadExecutor() override {
    for (auto& s : slots_) {
      if (s.thread.joinable()) s.thread.join();
    }
  }

  int capacity() const override { return static_cast<int>(slots_.size()); }
  int running() const override { return busy_; }
  std::string name() const override { return "thread"; }

  void submit(const sched::Job& job, const space::Config& config) override {
    std::size_t i = 0;
    while (i < slots_.size() && slots_[i].busy) ++i;
    if (i == slots_.size()) throw std::logic_error("thread executor: submit with every worker busy");
    Slot& slot = slots_[i];
    if (slot.thread.joinable()) slot.thread.join();  // its previous job's thread has ended (wait_any returned it)
    slot.busy = true;
    slot.finished = Finished{};
    slot.finished.job = job;
    slot.finished.worker = workers_[i].index;
    ++busy_;
    slot.thread = std::thread([this, i, job, config]() {
      Slot& s = slots_[i];
      const auto t0 = std::chrono::steady_clock::now();
      try {
        objective_.prepare_thread(workers_[i]);
        s.finished.outcome = objective_.run(job, config, workers_[i]);
        s.finished.outcome->worker = workers_[i].index;
      } catch (...) {
        s.finished.error = std::current_exception();
      }
      s.finished.busy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(i);
      cv_.notify_one();
    });
  }

  Finished wait_any() override {
    if (busy_ == 0) throw std::logic_error("thread executor: wait_any with nothing running");
    std::size_t i = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !done_.empty(); });
      i = done_.front();
      done_.pop_front();
    }
    Slot& slot = slots_[i];
    slot.thread.join();
    slot.busy = false;
    --busy_;
    return std::move(slot.finished);
  }

 private:
  struct Slot {
    std::thread thread;
    bool busy = false;
    Finished finished;
  };
  Objective& objective_;
  std::vector<Worker> workers_;
  std::vector<Slot> slots_;
  int busy_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::size_t> done_;
};

}  // namespace

std::unique_ptr<Executor> make_thread_executor(Objective& objective, std::vector<Worker> workers) {
  return std::make_unique<ThreadExecutor>(objective, std::move(workers));
}

}  // namespace fhist::exec
