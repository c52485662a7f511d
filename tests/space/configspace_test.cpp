// ConfigSpace's JSON in and out: the files SMAC3, HpBandSter and DEHB users have (both the json_format_version 0.2
// layout of ConfigSpace 0.4-0.6 and the format_version 0.4 of ConfigSpace 1.x), what is refused and why, and a space
// written out and read back drawing the same configurations.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "core/errors.hpp"
#include "space/catalog.hpp"
#include "space/space.hpp"
#include "test_util.hpp"

namespace fhist::space {
namespace {

using nlohmann::json;

// ConfigSpace 0.4's layout ("default", "q", "probabilities"; json_format_version 0.2): a boosting space whose tree
// parameters apply to two of three boosters.
const char* kOldFormat = R"({
  "hyperparameters": [
    {"name": "eta", "type": "uniform_float", "log": true, "lower": 0.001, "upper": 1.0, "default": 0.3, "q": null},
    {"name": "booster", "type": "categorical", "choices": ["gblinear", "gbtree", "dart"], "default": "gblinear",
     "probabilities": null},
    {"name": "rounds", "type": "uniform_int", "log": true, "lower": 8, "upper": 3000, "default": 100, "q": null},
    {"name": "max_depth", "type": "uniform_int", "log": false, "lower": 2, "upper": 12, "default": 6},
    {"name": "rate_drop", "type": "uniform_float", "log": false, "lower": 0.0, "upper": 1.0, "default": 0.1}
  ],
  "conditions": [
    {"child": "max_depth", "parent": "booster", "type": "IN", "values": ["dart", "gbtree"]},
    {"child": "rate_drop", "parent": "booster", "type": "EQ", "value": "dart"}
  ],
  "forbiddens": [],
  "python_module_version": "0.4.18",
  "json_format_version": 0.2
})";

// ConfigSpace 1.x's layout ("default_value", "meta", "weights"; format_version 0.4), children listed before their
// parents: an optimizer space with a constant, an ordinal compared by position, NEQ, AND, OR and forbiddens.
const char* kNewFormat = R"({
  "name": "optim",
  "hyperparameters": [
    {"type": "uniform_float", "name": "momentum", "lower": 0.5, "upper": 0.99, "default_value": 0.9, "log": false,
     "meta": null},
    {"type": "uniform_int", "name": "warmup", "lower": 0, "upper": 5, "default_value": 0, "log": false, "meta": null},
    {"type": "uniform_float", "name": "beta2", "lower": 0.9, "upper": 0.999, "default_value": 0.99, "log": false,
     "meta": null},
    {"type": "categorical", "name": "opt", "choices": ["sgd", "adam", "rmsprop"], "weights": [1, 1, 1],
     "default_value": "sgd", "meta": null},
    {"type": "uniform_float", "name": "lr", "lower": 0.001, "upper": 1.0, "default_value": 0.03, "log": true,
     "meta": null},
    {"type": "ordinal", "name": "width", "sequence": [64, 128, 256, 512], "default_value": 128, "meta": null},
    {"type": "uniform_float", "name": "dropout", "lower": 0.0, "upper": 0.5, "default_value": 0.1, "log": false,
     "meta": null},
    {"type": "constant", "name": "epochs_per_budget", "value": 2, "meta": null},
    {"type": "categorical", "name": "batch_size", "choices": [16, 32, 64], "weights": null, "default_value": 32,
     "meta": null}
  ],
  "conditions": [
    {"type": "AND", "child": "momentum", "conditions": [
      {"type": "EQ", "child": "momentum", "parent": "opt", "value": "sgd"},
      {"type": "LT", "child": "momentum", "parent": "lr", "value": 0.1}]},
    {"type": "OR", "child": "warmup", "conditions": [
      {"type": "EQ", "child": "warmup", "parent": "opt", "value": "adam"},
      {"type": "OR", "child": "warmup", "conditions": [
        {"type": "GT", "child": "warmup", "parent": "lr", "value": 0.5}]}]},
    {"type": "NEQ", "child": "beta2", "parent": "opt", "value": "sgd"},
    {"type": "GT", "child": "dropout", "parent": "width", "value": 128}
  ],
  "forbiddens": [
    {"type": "AND", "clauses": [
      {"type": "EQUALS", "name": "width", "value": 512},
      {"type": "IN", "name": "batch_size", "values": [32, 64]}]},
    {"type": "EQUALS", "name": "opt", "value": "rmsprop"}
  ],
  "python_module_version": "1.2.0",
  "format_version": 0.4
})";

TEST(ConfigSpace, ReadsTheOlderLayout) {
  const auto s = SearchSpace::from_configspace_json(json::parse(kOldFormat), "xgb.json");
  ASSERT_EQ(s.dims(), 5u);
  const Param& eta = s.param("eta");
  EXPECT_EQ(eta.kind, ParamKind::kFloat);
  EXPECT_TRUE(eta.log);
  EXPECT_DOUBLE_EQ(eta.low, 0.001);
  const Param& rounds = s.param("rounds");
  EXPECT_EQ(rounds.kind, ParamKind::kInteger);
  EXPECT_TRUE(rounds.log);
  EXPECT_DOUBLE_EQ(rounds.high, 3000);
  EXPECT_EQ(s.param("booster").choices, (std::vector<json>{"gblinear", "gbtree", "dart"}));
  Rng rng(5);
  int depth = 0, drop = 0;
  for (int i = 0; i < 1500; ++i) {
    const Config c = s.sample(rng);
    const std::string b = c.get_string("booster");
    ASSERT_EQ(c.has("max_depth"), b != "gblinear") << c.to_string();
    ASSERT_EQ(c.has("rate_drop"), b == "dart") << c.to_string();
    depth += c.has("max_depth");
    drop += c.has("rate_drop");
  }
  EXPECT_NEAR(depth / 1500.0, 2.0 / 3, 0.04);
  EXPECT_NEAR(drop / 1500.0, 1.0 / 3, 0.04);
  EXPECT_EQ(s.name(), "xgb");  // the older layout has no name: the file's
}

TEST(ConfigSpace, ReadsTheCurrentLayoutParentsFirst) {
  const auto s = SearchSpace::from_configspace_json(json::parse(kNewFormat), "optim.json");
  EXPECT_EQ(s.name(), "optim");
  // each at the first place where its parents are placed: beta2 needs only opt, momentum and warmup lr too
  std::vector<std::string> order;
  for (const auto& p : s.params()) order.push_back(p.name);
  EXPECT_EQ(order, (std::vector<std::string>{"opt", "beta2", "lr", "momentum", "warmup", "width", "dropout",
                                             "epochs_per_budget", "batch_size"}));
  EXPECT_EQ(s.param("width").kind, ParamKind::kOrdinal);
  EXPECT_EQ(s.param("epochs_per_budget").choices, std::vector<json>{2});
  // GT on an ordinal is by position in its sequence: the values after 128
  ASSERT_EQ(s.param("dropout").conditions.size(), 1u);
  EXPECT_EQ(s.param("dropout").conditions[0].values, (std::vector<json>{256, 512}));
  EXPECT_TRUE(s.param("warmup").any_condition);  // OR inside OR is one OR
  EXPECT_EQ(s.param("warmup").conditions.size(), 2u);
  ASSERT_EQ(s.forbidden().size(), 2u);

  Rng rng(11);
  for (int i = 0; i < 3000; ++i) {
    const Config c = s.sample(rng);
    ASSERT_NO_THROW(s.validate(c)) << c.to_string();
    const std::string opt = c.get_string("opt");
    const double lr = c.get_double("lr");
    ASSERT_NE(opt, "rmsprop");
    ASSERT_EQ(c.has("momentum"), opt == "sgd" && lr < 0.1) << c.to_string();
    ASSERT_EQ(c.has("warmup"), opt == "adam" || lr > 0.5) << c.to_string();
    ASSERT_EQ(c.has("beta2"), opt != "sgd") << c.to_string();
    ASSERT_EQ(c.has("dropout"), c.get_int("width") > 128) << c.to_string();
    ASSERT_EQ(c.get_int("epochs_per_budget"), 2);
    ASSERT_FALSE(c.get_int("width") == 512 && c.get_int("batch_size") != 16) << c.to_string();
  }
}

// A space written as ConfigSpace's JSON and read back draws the same configurations: every clause keeps its meaning
// (a not_in of two values and a comparison on an ordinal become the IN of the values for which they hold).
TEST(ConfigSpace, WrittenAndReadBackDrawsTheSameConfigurations) {
  const auto original = SearchSpace::from_json(json::parse(R"({"name": "mixed", "params": [
    {"name": "opt", "type": "categorical", "choices": ["sgd", "adam", "rmsprop", "adagrad"]},
    {"name": "lr", "type": "float", "low": 0.001, "high": 1, "log": true},
    {"name": "layers", "type": "int", "low": 1, "high": 6},
    {"name": "width", "type": "ordinal", "choices": [1, 1.5, 2, 3]},
    {"name": "momentum", "type": "float", "low": 0.5, "high": 0.99,
     "condition": [{"param": "opt", "not_in": ["adam", "rmsprop"]}, {"param": "lr", "less_than": 0.1}]},
    {"name": "warmup", "type": "int", "low": 0, "high": 5,
     "condition": {"any": [{"param": "width", "greater_than": 1.7}, {"param": "layers", "greater_than": 3.5}]}},
    {"name": "dropout", "type": "float", "low": 0, "high": 0.5, "condition": {"param": "layers", "less_than": 4}},
    {"name": "beta2", "type": "float", "low": 0.9, "high": 0.999, "condition": {"param": "opt", "not_equals": "sgd"}}],
    "forbidden": [{"opt": "adagrad", "layers": [5, 6]}, {"width": 3}]})"),
                                               "mixed.json");
  const json cs = original.to_configspace_json();
  EXPECT_EQ(cs["format_version"], 0.4);
  EXPECT_EQ(cs["hyperparameters"][3]["type"], "ordinal");
  EXPECT_EQ(cs["hyperparameters"][3]["sequence"], json::parse("[1, 1.5, 2, 3]"));
  const json& conds = cs["conditions"];
  ASSERT_EQ(conds.size(), 4u);
  EXPECT_EQ(conds[0]["type"], "AND");
  EXPECT_EQ(conds[0]["conditions"][0], json::parse(R"({"child": "momentum", "parent": "opt", "type": "IN",
                                                       "values": ["sgd", "adagrad"]})"));
  EXPECT_EQ(conds[0]["conditions"][1], json::parse(R"({"child": "momentum", "parent": "lr", "type": "LT",
                                                       "value": 0.1})"));
  EXPECT_EQ(conds[1]["type"], "OR");
  EXPECT_EQ(conds[1]["conditions"][0]["values"], json::parse("[2, 3]"));  // width > 1.7, by value
  EXPECT_EQ(conds[1]["conditions"][1]["type"], "GT");                     // layers > 3.5 is layers > 3
  EXPECT_EQ(conds[1]["conditions"][1]["value"], 3);
  EXPECT_EQ(conds[3], json::parse(R"({"child": "beta2", "parent": "opt", "type": "NEQ", "value": "sgd"})"));
  EXPECT_EQ(cs["forbiddens"][0]["type"], "AND");
  EXPECT_EQ(cs["forbiddens"][1], json::parse(R"({"type": "EQUALS", "name": "width", "value": 3})"));

  const auto back = SearchSpace::from_configspace_json(json::parse(cs.dump()), "mixed-cs.json");
  EXPECT_EQ(back.name(), "mixed");
  Rng a(23), b(23);
  for (int i = 0; i < 2000; ++i) {
    const Config x = original.sample(a), y = back.sample(b);
    ASSERT_EQ(x.to_json(), y.to_json());
    ASSERT_NO_THROW(back.validate(x));
  }
  // written again, the ConfigSpace JSON is the same
  EXPECT_EQ(back.to_configspace_json(), cs);
}

TEST(ConfigSpace, FromFileTellsTheFormatsApart) {
  testing::TempDir dir;
  const auto cs_path = dir.str("optim-configspace.json");
  std::ofstream(cs_path) << kNewFormat;
  const auto from_cs = load_space(cs_path);
  const auto fhist_path = dir.str("optim.json");
  std::ofstream(fhist_path) << from_cs.to_json().dump(2);
  const auto from_fhist = load_space(fhist_path);
  EXPECT_EQ(from_cs.to_json(), from_fhist.to_json());
  // and an error in a ConfigSpace file names that file and its field
  const auto bad = dir.str("bad.json");
  std::ofstream(bad) << R"({"hyperparameters": [{"name": "x", "type": "uniform_float", "lower": 1, "upper": 0}]})";
  const auto message = testing::input_error_message([&] { (void)load_space(bad); });
  EXPECT_NE(message.find("bad.json: hyperparameters[0]"), std::string::npos) << message;
  EXPECT_NE(message.find("expected low < high"), std::string::npos) << message;
}

// An AND inside an OR (and the reverse, to any depth) is a group of clauses: drawn as ConfigSpace draws it, written
// back as the same nesting.
TEST(ConfigSpace, NestedConjunctionsKeepTheirMeaning) {
  const auto s = SearchSpace::from_configspace_json(json::parse(R"({"hyperparameters": [
    {"type": "categorical", "name": "opt", "choices": ["sgd", "adam", "rmsprop"]},
    {"type": "uniform_float", "name": "lr", "lower": 0.001, "upper": 1.0, "log": true},
    {"type": "uniform_int", "name": "layers", "lower": 1, "upper": 6},
    {"type": "uniform_float", "name": "momentum", "lower": 0.5, "upper": 0.99}],
    "conditions": [{"type": "OR", "child": "momentum", "conditions": [
      {"type": "EQ", "child": "momentum", "parent": "opt", "value": "rmsprop"},
      {"type": "AND", "child": "momentum", "conditions": [
        {"type": "EQ", "child": "momentum", "parent": "opt", "value": "sgd"},
        {"type": "OR", "child": "momentum", "conditions": [
          {"type": "LT", "child": "momentum", "parent": "lr", "value": 0.1},
          {"type": "GT", "child": "momentum", "parent": "layers", "value": 4}]}]}]}]})"),
                                                    "nested.json");
  const Param& m = s.param("momentum");
  ASSERT_TRUE(m.any_condition);
  ASSERT_EQ(m.conditions.size(), 2u);
  EXPECT_EQ(m.conditions[1].op, Condition::Op::kAll);
  ASSERT_EQ(m.conditions[1].group.size(), 2u);
  EXPECT_EQ(m.conditions[1].group[1].op, Condition::Op::kAny);
  Rng rng(8);
  int active = 0;
  for (int i = 0; i < 3000; ++i) {
    const Config c = s.sample(rng);
    const std::string opt = c.get_string("opt");
    const bool expected = opt == "rmsprop" || (opt == "sgd" && (c.get_double("lr") < 0.1 || c.get_int("layers") > 4));
    ASSERT_EQ(c.has("momentum"), expected) << c.to_string();
    active += expected;
  }
  // P = 1/3 + 1/3 (1 - P(lr >= 0.1) P(layers <= 4)) = 1/3 + 1/3 (1 - 1/3 * 2/3), lr log-uniform on [0.001, 1]
  EXPECT_NEAR(active / 3000.0, 1.0 / 3 + (1.0 - 2.0 / 9) / 3, 0.03);
  const Config sgd_large({{"opt", "sgd"}, {"lr", 0.5}, {"layers", 2}, {"momentum", 0.9}});
  FHIST_EXPECT_INPUT_ERROR(s.validate(sgd_large),
                           "applies only when 'opt' is \"rmsprop\" or ('opt' is \"sgd\" and ('lr' < 0.1 or "
                           "'layers' > 4)) ('opt' is \"sgd\", 'lr' is 0.5, 'layers' is 2)");
  const json cs = s.to_configspace_json();
  const json& top = cs["conditions"][0];
  EXPECT_EQ(top["type"], "OR");
  EXPECT_EQ(top["conditions"][1]["type"], "AND");
  EXPECT_EQ(top["conditions"][1]["conditions"][1]["type"], "OR");
  EXPECT_EQ(SearchSpace::from_configspace_json(cs, "again.json").to_json(), s.to_json());
  // and through fhist's own format
  EXPECT_EQ(SearchSpace::from_json(s.to_json(), "own.json").to_json(), s.to_json());
}

// A categorical's weights (ConfigSpace's "weights", "probabilities" in its 0.4 files; fhist's "weights") set how often
// each choice is drawn; equal ones are the uniform draw.
TEST(ConfigSpace, CategoricalWeightsSetHowOftenEachChoiceIsDrawn) {
  const auto cs = SearchSpace::from_configspace_json(json::parse(R"({"hyperparameters": [
    {"type": "categorical", "name": "opt", "choices": ["sgd", "adam", "rmsprop"], "weights": [6, 3, 1]},
    {"name": "act", "type": "categorical", "choices": ["relu", "gelu"], "probabilities": [0.25, 0.75]},
    {"type": "categorical", "name": "same", "choices": [1, 2], "weights": [2, 2]}]})"),
                                                     "weighted.json");
  EXPECT_EQ(cs.param("opt").weights, (std::vector<double>{6, 3, 1}));
  EXPECT_TRUE(cs.param("same").weights.empty());  // equal weights: uniform, as without them
  std::map<std::string, int> count;
  Rng rng(4);
  const int n = 6000;
  for (int i = 0; i < n; ++i) {
    const Config c = cs.sample(rng);
    ++count[c.get_string("opt")];
    ++count[c.get_string("act")];
  }
  EXPECT_NEAR(count["sgd"] / double(n), 0.6, 0.02);
  EXPECT_NEAR(count["adam"] / double(n), 0.3, 0.02);
  EXPECT_NEAR(count["rmsprop"] / double(n), 0.1, 0.015);
  EXPECT_NEAR(count["gelu"] / double(n), 0.75, 0.02);
  // written out in both formats and read back: the same weights, the same draws
  const json written = cs.to_configspace_json();
  EXPECT_EQ(written["hyperparameters"][0]["weights"], json::parse("[6.0, 3.0, 1.0]"));
  EXPECT_TRUE(written["hyperparameters"][2]["weights"].is_null());
  const auto own = SearchSpace::from_json(cs.to_json(), "own.json");
  EXPECT_EQ(own.param("act").weights, (std::vector<double>{0.25, 0.75}));
  Rng a(9), b(9);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(cs.sample(a).to_json(), own.sample(b).to_json());
  // fhist's own format refuses bad weights naming the field
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"name": "x", "type": "categorical", "choices": [1, 2, 3], "weights": [1, 2]})",
       "params[0].weights: expected a list of 3 numbers, one per choice"},
      {R"({"name": "x", "type": "categorical", "choices": [1, 2, 3], "weights": [1, -2, 1]})",
       "params[0].weights[1]: expected a number >= 0"},
      {R"({"name": "x", "type": "categorical", "choices": [1, 2], "weights": [0, 0]})",
       "params[0]: parameter 'x': weights: at least one must be above 0"},
      {R"({"name": "x", "type": "ordinal", "choices": [1, 2], "weights": [1, 3]})",
       "params[0].weights: unknown field for a parameter of type \"ordinal\""},
  };
  for (const auto& [param, expected] : bad)
    FHIST_EXPECT_INPUT_ERROR(SearchSpace::from_json(json::parse("{\"params\": [" + param + "]}"), "w.json"),
                             "w.json: " + expected);
}

// Each document is refused with its field and what to do.
TEST(ConfigSpace, RefusesWhatItCannotRepresentNamingTheField) {
  const std::string x = R"({"name": "x", "type": "uniform_float", "lower": 0.0, "upper": 1.0})";
  const std::string opt = R"({"name": "opt", "type": "categorical", "choices": ["sgd", "adam"]})";
  const std::string n = R"({"name": "n", "type": "uniform_int", "lower": 1, "upper": 4})";
  auto hp = [](const std::string& items) { return "{\"hyperparameters\": [" + items + "]"; };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {hp(R"({"name": "x", "type": "normal_float", "mu": 0, "sigma": 1, "lower": -3, "upper": 3})") + "}",
       "hyperparameters[0].type: 'x' has a normal prior: fhist draws floats and integers uniformly; make it "
       "uniform_float"},
      {hp(R"({"name": "x", "type": "uniform_float", "lower": 0, "upper": 1, "q": 0.1})") + "}",
       "hyperparameters[0].q: 'x' is quantized (q = 0.1)"},
      {hp(R"({"name": "c", "type": "categorical", "choices": ["a", "b"], "weights": [-1, 2]})") + "}",
       "hyperparameters[0]: parameter 'c': weights[0]: expected a number >= 0"},
      {hp(R"({"name": "c", "type": "categorical", "choices": ["a", "b"], "probabilities": [1]})") + "}",
       "hyperparameters[0].probabilities: expected a list of 2 numbers, one per choice, or null"},
      {hp(R"({"name": "c", "type": "categorical", "choices": ["a", true]})") + "}",
       "hyperparameters[0].choices[1]: expected a number or a string"},
      {hp(R"({"name": "x", "type": "uniform_float", "lower": 0, "upper": 1, "step": 2})") + "}",
       "hyperparameters[0].step: unknown field for a hyperparameter of type \"uniform_float\""},
      {hp(R"({"name": "x", "type": "uniform_categorical"})") + "}",
       "hyperparameters[0].type: unknown hyperparameter type \"uniform_categorical\""},
      {hp(x + "," + x) + "}", "hyperparameters[1].name: duplicate hyperparameter 'x'"},
      {hp(R"({"name": "n", "type": "uniform_int", "lower": 1.5, "upper": 4})") + "}",
       "hyperparameters[0].lower: expected an integer"},
      {hp(x + "," + opt) + R"(, "conditions": [{"type": "EQ", "child": "x", "parent": "optimizer", "value": "sgd"}]})",
       "conditions[0].parent: unknown hyperparameter 'optimizer'"},
      {hp(x + "," + opt) + R"(, "conditions": [{"type": "EQ", "child": "x", "parent": "opt", "value": "SGD"}]})",
       "conditions[0].value: \"SGD\" is not a value of 'opt'"},
      {hp(x + "," + opt) + R"(, "conditions": [{"type": "IN", "child": "x", "parent": "opt", "values": ["sgd", 1]}]})",
       "conditions[0].values[1]: 1 is not a value of 'opt'"},
      {hp(x + "," + opt) + R"(, "conditions": [{"type": "GT", "child": "x", "parent": "opt", "value": "sgd"}]})",
       "conditions[0].parent: 'opt' is categorical: GT needs an ordered parent"},
      {hp(x + "," + n) + R"(, "conditions": [{"type": "GT", "child": "x", "parent": "n", "value": 4}]})",
       "conditions[0].value: never holds: 'n' is at most 4"},
      {hp(x + "," + opt + "," + n) + R"(, "conditions": [{"type": "OR", "child": "x", "conditions": [
         {"type": "EQ", "child": "x", "parent": "opt", "value": "sgd"},
         {"type": "AND", "child": "x", "conditions": [{"type": "GT", "child": "x", "parent": "n", "value": 4}]}]}]})",
       "conditions[0].conditions[1].conditions[0].value: never holds: 'n' is at most 4"},
      {hp(x + "," + opt + "," + n) + R"(, "conditions": [{"type": "AND", "child": "x", "conditions": [
         {"type": "EQ", "child": "x", "parent": "opt", "value": "sgd"},
         {"type": "GT", "child": "n", "parent": "n", "value": 2}]}]})",
       "conditions[0].conditions[1].child: expected \"x\", the child of the conjunction it is in"},
      {hp(x + "," + opt) + R"(, "conditions": [{"type": "EQ", "child": "x", "parent": "opt", "value": "sgd"},
         {"type": "EQ", "child": "x", "parent": "opt", "value": "adam"}]})",
       "conditions[1].child: 'x' already has a condition (conditions[0]): join them with AND or OR"},
      {hp(x + "," + n) + R"(, "conditions": [{"type": "GT", "child": "x", "parent": "n", "value": 2},
         {"type": "LT", "child": "n", "parent": "x", "value": 0.5}]})",
       "conditions: the conditions form a cycle: 'x' (conditions[0]), 'n' (conditions[1]) each wait on another"},
      {hp(x + "," + opt) + R"(, "conditions": [{"type": "EQ", "child": "opt", "parent": "x", "value": 0.5}]})",
       "conditions[0].parent: 'x' is a float"},
      {hp(x + "," + opt) + R"(, "forbiddens": [{"type": "RELATION_LT", "left": "x", "right": "opt"}]})",
       "forbiddens[0].type: a forbidden relation compares two hyperparameters"},
      {hp(x + "," + opt) + R"(, "forbiddens": [{"type": "AND", "clauses": [
         {"type": "EQUALS", "name": "opt", "value": "sgd"}, {"type": "EQUALS", "name": "x", "value": 0.5}]}]})",
       "forbiddens[0].clauses[1]: 'x' is a float: a forbidden combination needs parameters with choices or integer"},
      {hp(opt) + R"(, "forbiddens": [{"type": "IN", "name": "opt", "values": ["sgd", "nesterov"]}]})",
       "forbiddens[0]: \"nesterov\" is not a value of 'opt'"},
      {hp(opt) + R"(, "priors": {}})", "priors: unknown field (ConfigSpace's JSON has name, hyperparameters"},
  };
  for (const auto& [text, expected] : cases) {
    const auto message =
        testing::input_error_message([&] { (void)SearchSpace::from_configspace_json(json::parse(text), "cs.json"); });
    EXPECT_NE(message.find("cs.json: " + expected), std::string::npos) << "document: " << text << "\ngot: " << message;
  }
}

// ConfigSpace refuses a file whose default configuration is forbidden.
TEST(ConfigSpace, TheDefaultsWrittenAreNotForbidden) {
  const auto plain = SearchSpace::from_json(json::parse(R"({"params": [
    {"name": "lr", "type": "float", "low": 0.001, "high": 0.1, "log": true},
    {"name": "depth", "type": "int", "low": 1, "high": 4},
    {"name": "model", "type": "categorical", "choices": ["resnet18", "cnn"]},
    {"name": "batch_size", "type": "ordinal", "choices": [64, 128]}]})"));
  const json hps = plain.to_configspace_json()["hyperparameters"];
  EXPECT_NEAR(hps[0]["default_value"].get<double>(), 0.01, 1e-12);  // the middle, on the log scale
  EXPECT_EQ(hps[1]["default_value"], 3);                            // 2.5 rounded
  EXPECT_EQ(hps[2]["default_value"], "resnet18");
  const auto forbidding = SearchSpace::from_json(json::parse(R"({"params": [
    {"name": "model", "type": "categorical", "choices": ["resnet18", "cnn"]},
    {"name": "batch_size", "type": "ordinal", "choices": [64, 128]}],
    "forbidden": [{"model": "resnet18", "batch_size": 64}]})"));
  const json fhps = forbidding.to_configspace_json()["hyperparameters"];
  const Config defaults({{"model", fhps[0]["default_value"]}, {"batch_size", fhps[1]["default_value"]}});
  EXPECT_TRUE(forbidding.satisfies_constraints(defaults)) << defaults.to_string();
}

TEST(ConfigSpace, WritingRefusesWhatHasNoExactForm) {
  // depth > 0.5 always holds for depth 1..4: ConfigSpace's GT takes a value of the parent, and 0 is none
  const auto s = SearchSpace::from_json(json::parse(R"({"params": [
    {"name": "depth", "type": "int", "low": 1, "high": 4},
    {"name": "dropout", "type": "float", "low": 0, "high": 0.5, "condition": {"param": "depth", "greater_than": 0.5}}]})"));
  FHIST_EXPECT_INPUT_ERROR((void)s.to_configspace_json(), "a bound outside its range 1..4");
  const SearchSpace with_constraint("capped", {Param::integer("width", 1, 8)},
                                    {Constraint{"flops", [](const Config&) { return true; }}});
  FHIST_EXPECT_INPUT_ERROR((void)with_constraint.to_configspace_json(), "constraints written in code (flops)");
}

}  // namespace
}  // namespace fhist::space
