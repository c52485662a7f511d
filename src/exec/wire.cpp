// Jobs and outcomes as JSON, for MPI messages. Scores may be -inf (failed) or NaN: JSON has neither, so they travel
// as strings and come back exactly.
#include <algorithm>
#include <cmath>
#include <limits>

#include "exec/executor.hpp"
#include "exec/mpi.hpp"

namespace fhist::exec {

namespace {
nlohmann::json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
double number_from(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  const auto s = j.get<std::string>();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

nlohmann::json to_json(const sched::Job& job) {
  return {{"trial", job.trial}, {"bracket", job.bracket}, {"rung", job.rung}, {"budget_epochs", job.budget_epochs}};
}

sched::Job job_from_json(const nlohmann::json& j) {
  return {j.at("trial").get<std::int64_t>(), j.at("bracket").get<int>(), j.at("rung").get<int>(),
          j.at("budget_epochs").get<std::int64_t>()};
}

nlohmann::json to_json(const Outcome& o) {
  return {{"trial", o.trial},         {"bracket", o.bracket},     {"rung", o.rung},
          {"budget_epochs", o.budget_epochs}, {"score", number(o.score)},
          {"value", number(o.value)}, {"state", sched::state_name(o.state)},
          {"message", o.message},     {"seconds", o.seconds},     {"worker", o.worker}};
}

Outcome outcome_from_json(const nlohmann::json& j) {
  Outcome o;
  o.trial = j.at("trial").get<std::int64_t>();
  o.bracket = j.at("bracket").get<int>();
  o.rung = j.at("rung").get<int>();
  o.budget_epochs = j.at("budget_epochs").get<std::int64_t>();
  o.score = number_from(j.at("score"));
  o.value = number_from(j.at("value"));
  o.state = sched::state_from_name(j.at("state").get<std::string>(), sched::TrialState::kFailed);
  o.message = j.at("message").get<std::string>();
  o.seconds = j.at("seconds").get<double>();
  o.worker = j.at("worker").get<int>();
  return o;
}

int node_worker_index(int world_rank, int local_rank, bool on_rank0_node) {
  if (local_rank < 0) return world_rank - 1;
  return on_rank0_node ? std::max(0, local_rank - 1) : local_rank;
}

int node_job_threads(int threads, int world_size, int local_size, bool on_rank0_node) {
  if (threads <= 0) return 0;  // not set: the process's own
  const int ranks_here = local_size > 0 ? local_size : world_size;
  const int workers_here = std::max(1, ranks_here - (on_rank0_node || local_size <= 0 ? 1 : 0));
  return std::max(1, threads / workers_here);
}

}  // namespace fhist::exec
