// fhist data: what fhist sees in a data set before any training — classes with counts, the image size and channels
// (or the feature count), the splits a run would use, and the problems found.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "core/errors.hpp"
#include "core/progress.hpp"
#include "data/dataset.hpp"
#include "input/input.hpp"

namespace fhist::cli {
namespace {

struct DataCmd {
  std::string spec;
  DataFlags flags;
  JsonOutput out;
  const CLI::App* app = nullptr;
};

// A bare path is taken for what it looks like: a folder with x_train.npy is npy:, another folder is folder:, a
// .csv / .csv.gz file is csv:.
std::string resolve_spec(const std::string& spec) {
  namespace fs = std::filesystem;
  if (input::is_user_data(spec) || spec.find(':') != std::string::npos || !fs::exists(spec)) return spec;
  if (fs::is_directory(spec)) return (fs::exists(fs::path(spec) / "x_train.npy") ? "npy:" : "folder:") + spec;
  return "csv:" + spec;
}

// The built-in sets, described from their tensors (their classes have no names here).
nlohmann::json describe_builtin(const std::string& spec) {
  const auto tt = data::load_dataset(spec);
  input::Loaded d;
  d.spec = spec;
  for (std::int64_t c = 0; c < tt.train.num_classes; ++c) d.classes.push_back(std::to_string(c));
  auto split = [](const data::Dataset& ds) {
    input::Split s;
    s.shape = ds.images.sizes().vec();
    const auto labels = ds.labels.contiguous();
    s.labels.assign(labels.data_ptr<std::int64_t>(), labels.data_ptr<std::int64_t>() + labels.numel());
    return s;
  };
  d.train = split(tt.train);
  if (tt.test.size() > 0) d.test = split(tt.test);
  auto j = input::describe(d);
  j["validation"] = "a seeded split of train (--train-size 8000 / --val-size 2000 by default)";
  return j;
}

void print_human(const nlohmann::json& j) {
  fmt::print("data: {} ({})\n", j["data"].get<std::string>(), j["kind"].get<std::string>());
  if (j.contains("height")) {
    fmt::print("images: {}x{}, {} channel(s)\n", j["height"].get<int>(), j["width"].get<int>(), j["channels"].get<int>());
  } else if (j.contains("features")) {
    fmt::print("features: {} per row\n", j["features"].get<int>());
  }
  const auto& classes = j["classes"];
  fmt::print("classes: {}\n", classes.size());
  for (const char* name : {"train", "val", "test"}) {
    if (!j["splits"].contains(name)) continue;
    const auto& split = j["splits"][name];
    fmt::print("  {:<5} {:>7} examples:", name, split["size"].get<std::int64_t>());
    std::size_t shown = 0;
    for (const auto& c : classes) {
      if (++shown > 12) {
        fmt::print(" ... ({} more classes)", classes.size() - 12);
        break;
      }
      fmt::print(" {} {}", c.get<std::string>(), split["classes"][c.get<std::string>()].get<std::int64_t>());
    }
    fmt::print("\n");
  }
  fmt::print("validation: {}\ntest: {}\n", j["validation"].get<std::string>(), j["test"].get<std::string>());
  for (const auto& n : j["notes"]) fmt::print("note: {}\n", n.get<std::string>());
  const auto& problems = j["problems"];
  if (problems.empty()) fmt::print("problems: none found\n");
  for (const auto& p : problems) fmt::print("problem: {}\n", p.get<std::string>());
}

void run_data(DataCmd& c) {
  const auto spec = resolve_spec(c.spec);
  check_data_flags(*c.app, spec);
  nlohmann::json j;
  if (input::is_user_data(spec)) {
    j = input::describe(input::load(spec, c.flags.options(), decoding_progress()));
  } else {
    j = describe_builtin(spec);
  }
  if (c.out.any()) {
    c.out.write(j);
    if (c.out.json) return;
  }
  print_human(j);
}

}  // namespace

void register_data(CLI::App& app) {
  auto c = std::make_shared<DataCmd>();
  auto* sub = app.add_subcommand("data", "describe a data set as fhist sees it: classes, sizes, splits, problems");
  sub->add_option("data", c->spec,
                  "folder:DIR, npy:DIR, csv:FILE, a bare folder or .csv file, or a built-in set (fashion-mnist, ...)")
      ->required();
  add_data_flags(*sub, c->flags);
  add_json_output_flags(*sub, c->out, "the description");
  c->app = sub;
  sub->callback([c]() { run_data(*c); });
}

}  // namespace fhist::cli
