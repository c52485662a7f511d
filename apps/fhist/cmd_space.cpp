// fhist space: a search space as fhist reads it (a built-in name, fhist's JSON or ConfigSpace's JSON), and the same
// space written in either format: a space from SMAC3 / HpBandSter / DEHB comes in, one of fhist's goes out to them.
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "core/errors.hpp"
#include "space/catalog.hpp"
#include "space/space.hpp"

namespace fhist::cli {
namespace {

struct SpaceCmd {
  std::string spec;
  bool configspace = false;
  int sample = 0;
  std::uint64_t seed = 0;
  JsonOutput out;
};

// Which format the file was in, for the first line (a built-in space has none).
std::string source_format(const std::string& spec) {
  if (space::is_builtin_space(spec)) return "built in";
  std::ifstream in(spec);
  std::stringstream ss;
  ss << in.rdbuf();
  return space::is_configspace_json(space::parse_user_json(ss.str(), spec)) ? "ConfigSpace's JSON" : "fhist's JSON";
}

void run_space(const SpaceCmd& c) {
  const auto s = space::load_space(c.spec);
  if (c.sample > 0) {  // what a search would draw: one configuration per line, as the journal and a script see it
    space::Rng rng(c.seed);
    for (int i = 0; i < c.sample; ++i) fmt::print("{}\n", s.sample(rng).to_string());
    return;
  }
  if (c.out.any()) {
    c.out.write(c.configspace ? s.to_configspace_json() : s.to_json());
    if (c.out.json) return;
  }
  std::size_t conditional = 0;
  for (const auto& p : s.params()) conditional += p.conditions.empty() ? 0 : 1;
  auto count = [](std::size_t n, const char* one) { return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s"); };
  fmt::print("space '{}' ({}): {}, {} conditional, {}\n", s.name(), source_format(c.spec), count(s.dims(), "parameter"),
             conditional, count(s.forbidden().size(), "forbidden combination"));
  for (const auto& line : s.describe()) fmt::print("{}\n", line);
}

}  // namespace

void register_space(CLI::App& app) {
  auto c = std::make_shared<SpaceCmd>();
  auto* sub = app.add_subcommand("space",
                                 "describe a search space as fhist reads it; convert it to or from "
                                 "ConfigSpace's JSON");
  sub->add_option("space", c->spec,
                  "a built-in space (hparams, ...) or a JSON file: fhist's format or ConfigSpace's (SMAC3, "
                  "HpBandSter, DEHB)")
      ->required();
  sub->add_flag("--configspace", c->configspace,
                "--json / -o write ConfigSpace's JSON (ConfigurationSpace.from_json reads it) instead of fhist's");
  sub->add_option("--sample", c->sample,
                  "print N configurations drawn as a random search draws them (JSON lines), to check conditions and "
                  "forbidden combinations")
      ->check(at_least(1));
  sub->add_option("--seed", c->seed, "the draw's seed (with --sample)")->capture_default_str();
  add_json_output_flags(*sub, c->out, "the space");
  sub->callback([c]() {
    if (c->configspace && !c->out.any()) throw InputError("--configspace: give --json or -o FILE to write it");
    if (c->sample > 0 && c->out.any()) throw InputError("--sample prints configurations: without --json / -o");
    run_space(*c);
  });
}

}  // namespace fhist::cli
