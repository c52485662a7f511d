// Evaluations (fhist evaluate) kept in the journal's study record, so the search and its final test accuracy travel
// together without a schema change.
#include <fmt/format.h>

#include <filesystem>

#include "core/errors.hpp"
#include "store/trial_store.hpp"
#include "study/study.hpp"

namespace fhist::study {

void add_evaluation(const std::string& journal, const nlohmann::json& evaluation) {
  if (!std::filesystem::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store(journal, false);
  auto study = store->read_study();
  if (!study) throw store::StoreError(fmt::format("{}: the journal has no study record", journal));
  auto& list = (*study)["evaluations"];
  if (!list.is_array()) list = nlohmann::json::array();
  list.push_back(evaluation);
  store->write_study(*study);
}

std::vector<nlohmann::json> journal_evaluations(const std::string& journal) {
  if (!std::filesystem::exists(journal)) throw InputError(fmt::format("--journal {}: no such file", journal));
  auto store = store::open_sqlite_store_readonly(journal);
  const auto study = store->read_study();
  std::vector<nlohmann::json> out;
  if (study && study->contains("evaluations") && study->at("evaluations").is_array()) {
    for (const auto& e : study->at("evaluations")) out.push_back(e);
  }
  return out;
}

std::map<std::int64_t, nlohmann::json> latest_evaluations(const std::string& journal) {
  std::map<std::int64_t, nlohmann::json> out;
  for (const auto& e : journal_evaluations(journal)) out[e.value("trial", std::int64_t{-1})] = e;  // stored in order
  return out;
}

}  // namespace fhist::study
