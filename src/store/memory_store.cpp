// The journal in memory: the same contract as the SQLite store (tests/store runs one suite against both), for
// replays over a table, where hundreds of whole searches run in seconds and nothing needs to survive the process.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "store/trial_store.hpp"

namespace fhist::store {

namespace {

class MemoryTrialStore : public TrialStore {
 public:
  explicit MemoryTrialStore(std::string name) : name_(std::move(name)) {}

  void write_study(const nlohmann::json& study) override {
    std::lock_guard<std::mutex> g(mu_);
    study_ = study;
  }
  std::optional<nlohmann::json> read_study() const override {
    std::lock_guard<std::mutex> g(mu_);
    return study_;
  }
  void add_trial(const TrialRow& t) override {
    std::lock_guard<std::mutex> g(mu_);
    if (!trials_.emplace(t.trial, t).second) throw StoreError(fmt::format("{}: trial {} already exists", name_, t.trial));
  }
  void set_trial_state(std::int64_t trial, const std::string& state, const std::string& message) override {
    std::lock_guard<std::mutex> g(mu_);
    const auto it = trials_.find(trial);
    if (it == trials_.end()) throw StoreError(fmt::format("{}: no trial {}", name_, trial));
    it->second.state = state;
    it->second.message = message;
  }
  void add_epoch(const EpochRow& row) override {
    std::lock_guard<std::mutex> g(mu_);
    if (trials_.find(row.trial) == trials_.end()) {
      throw StoreError(fmt::format("{}: epoch {} of trial {}, which was never added", name_, row.epoch, row.trial));
    }
    epochs_.push_back(row);
  }
  std::int64_t add_event(Event event) override {
    std::lock_guard<std::mutex> g(mu_);
    event.seq = static_cast<std::int64_t>(events_.size()) + 1;
    events_.push_back(event);
    return event.seq;
  }
  std::vector<TrialRow> trials() const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<TrialRow> out;
    for (const auto& [id, t] : trials_) out.push_back(t);
    return out;
  }
  std::optional<TrialRow> trial(std::int64_t id) const override {
    std::lock_guard<std::mutex> g(mu_);
    const auto it = trials_.find(id);
    if (it == trials_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<EpochRow> epochs(std::optional<std::int64_t> trial) const override {
    std::lock_guard<std::mutex> g(mu_);
    if (!trial) return epochs_;
    std::vector<EpochRow> out;
    std::copy_if(epochs_.begin(), epochs_.end(), std::back_inserter(out),
                 [&](const EpochRow& r) { return r.trial == *trial; });
    return out;
  }
  std::vector<Event> events() const override {
    std::lock_guard<std::mutex> g(mu_);
    return events_;
  }
  std::string path() const override { return name_; }

 private:
  mutable std::mutex mu_;
  std::string name_;
  std::optional<nlohmann::json> study_;
  std::map<std::int64_t, TrialRow> trials_;
  std::vector<EpochRow> epochs_;
  std::vector<Event> events_;
};

}  // namespace

std::unique_ptr<TrialStore> open_memory_store(const std::string& name) {
  return std::make_unique<MemoryTrialStore>(name);
}

}  // namespace fhist::store
