// Search-space and configuration JSON: what `--space FILE` (fhist's format and ConfigSpace's) and `train --config`
// accept. Text that is not JSON is nlohmann's to refuse; everything after parsing must refuse bad input with an
// fhist::Error.
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_target.hpp"
#include "models/model.hpp"
#include "space/space.hpp"
#include "objective/training.hpp"
#include "space/catalog.hpp"
#include "study/study.hpp"
#include "train/trainer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  fhist::fuzz::expect_only_fhist_errors([&] {
    // ConfigSpace's JSON: read, drawn, and written out: what is written reads back and writes the same again
    const auto space = fhist::space::SearchSpace::from_configspace_json(j, "fuzz.json");
    fhist::space::Rng rng(1);
    for (int i = 0; i < 4; ++i) space.validate(space.sample(rng, 100));
    const auto written = space.to_configspace_json();
    if (fhist::space::SearchSpace::from_configspace_json(written, "again").to_configspace_json() != written)
      std::abort();
  });
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto space = fhist::space::SearchSpace::from_json(j, "fuzz.json");
    fhist::space::Rng rng(1);
    for (int i = 0; i < 4; ++i) space.validate(space.sample(rng, 100));
    // A definition round-trips through its JSON.
    if (fhist::space::SearchSpace::from_json(space.to_json(), "again").to_json() != space.to_json()) std::abort();
  });
  fhist::fuzz::expect_only_fhist_errors([&] {
    const auto config = fhist::space::Config::from_json(j);
    fhist::space::check_config_keys(config);
    fhist::study::StudyOptions o;
    fhist::train::TrainOptions t;
    fhist::models::ModelSpec spec;
    fhist::objective::apply_config(config, o, t, spec);
    t.validate();
  });
  return 0;
}
