#include "space/space.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "core/errors.hpp"
#include "space/catalog.hpp"
#include "test_util.hpp"

namespace fhist::space {
namespace {

using nlohmann::json;

// Runs `f`, expecting an InputError whose message contains every one of `parts`.
template <class F>
void expect_input_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError mentioning " << *parts.begin();
  } catch (const InputError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " / " << p;
  }
}

SearchSpace mixed_space(std::vector<Constraint> constraints = {}) {
  return SearchSpace("mixed",
                     {Param::real("lr", 1e-4, 1.0, true), Param::real("mom", 0.0, 0.99),
                      Param::integer("depth", 1, 8), Param::integer("width", 8, 1024, true),
                      Param::categorical("act", {"relu", "gelu", "silu"}), Param::categorical("bs", {32, 64, 128}),
                      Param::ordinal("depth_mult", {1.0, 1.5, 2.0, 3.0})},
                     std::move(constraints));
}

TEST(UserJson, NestingIsLimitedBeforeAnythingRecurses) {
  const auto nested = [](int depth) { return std::string(static_cast<std::size_t>(depth), '[') +
                                            std::string(static_cast<std::size_t>(depth), ']'); };
  EXPECT_EQ(parse_user_json(nested(kMaxJsonDepth), "x").dump().size(), static_cast<std::size_t>(2 * kMaxJsonDepth));
  FHIST_EXPECT_INPUT_ERROR(parse_user_json(nested(kMaxJsonDepth + 1), "f.json"),
                           "f.json: JSON nested deeper than 64 levels");
  FHIST_EXPECT_INPUT_ERROR(parse_user_json(nested(300000), "f.json"), "nested deeper than 64");
  FHIST_EXPECT_INPUT_ERROR(parse_user_json("{\"a\": ", "f.json"), "f.json: not valid JSON");
}

TEST(Config, JsonRoundTripIsExact) {
  Config c({{"lr", 0.1 + 0.2}, {"depth", 3}, {"act", "relu"}, {"width_mult", 0.125}});
  const Config back = Config::from_json(json::parse(c.to_string()));
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.get_double("lr"), 0.1 + 0.2);
  EXPECT_EQ(back.get_int("depth"), 3);
  EXPECT_EQ(back.get_string("act"), "relu");
  EXPECT_EQ(c.to_string(), R"({"act":"relu","depth":3,"lr":0.30000000000000004,"width_mult":0.125})");
}

TEST(Config, GettersNameTheParameter) {
  Config c({{"lr", "fast"}, {"depth", 2.5}});
  expect_input_error([&] { c.get_double("lr"); }, {"'lr'", "number"});
  expect_input_error([&] { c.get_int("depth"); }, {"'depth'", "integer"});
  expect_input_error([&] { c.get_string("missing"); }, {"'missing'", "missing"});
  EXPECT_THROW(Config::from_json(json::array({1, 2})), InputError);
}

TEST(Param, InvalidDefinitionsAreRejected) {
  expect_input_error([] { Param::real("lr", 0.0, 1.0, true); }, {"'lr'", "low > 0"});
  expect_input_error([] { Param::real("x", 1.0, 1.0); }, {"'x'"});
  expect_input_error([] { Param::integer("n", 5, 2); }, {"'n'"});
  expect_input_error([] { Param::categorical("c", {}); }, {"'c'", "empty"});
  expect_input_error([] { Param::categorical("c", {1, 1}); }, {"'c'", "duplicate"});
  expect_input_error([] { SearchSpace("s", {Param::real("a", 0, 1), Param::real("a", 0, 1)}); }, {"'a'"});
}

TEST(Param, EveryKindSamplesInsideItsBounds) {
  Rng rng(7);
  const SearchSpace s = mixed_space();
  std::set<std::int64_t> depths;
  std::set<std::string> acts;
  for (int i = 0; i < 2000; ++i) {
    const Config c = s.sample(rng);
    EXPECT_NO_THROW(s.validate(c)) << c.to_string();
    EXPECT_TRUE(c.get("depth").is_number_integer());
    EXPECT_TRUE(c.get("width").is_number_integer());
    depths.insert(c.get_int("depth"));
    acts.insert(c.get_string("act"));
  }
  EXPECT_EQ(depths.size(), 8u);  // every integer, both ends included
  EXPECT_EQ(acts.size(), 3u);
}

TEST(Param, LogScaleCoversOrdersOfMagnitude) {
  Rng rng(3);
  const Param lr = Param::real("lr", 1e-4, 1.0, true);
  const Param width = Param::integer("width", 1, 10000, true);
  int decade_lr[4] = {0, 0, 0, 0}, decade_w[4] = {0, 0, 0, 0};
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const double x = lr.sample(rng).get<double>();
    ASSERT_TRUE(x >= 1e-4 && x <= 1.0);
    ++decade_lr[std::min(3, static_cast<int>(std::floor(std::log10(x) + 4)))];
    const auto w = width.sample(rng).get<std::int64_t>();
    ASSERT_TRUE(w >= 1 && w <= 10000);
    ++decade_w[std::min(3, static_cast<int>(std::floor(std::log10(static_cast<double>(w)))))];
  }
  // Uniform in log space: each decade gets about a quarter (a linear sampler would put ~90 % in the top one).
  for (int d = 0; d < 4; ++d) {
    EXPECT_NEAR(decade_lr[d], n / 4, n / 16) << "lr decade " << d;
    EXPECT_NEAR(decade_w[d], n / 4, n / 16) << "width decade " << d;
  }
}

TEST(Space, ConstraintsRejectAndSampleNeverViolates) {
  // A predicate on two parameters: deep networks must be narrow.
  const Constraint cap{"depth*width<=2048",
                       [](const Config& c) { return c.get_int("depth") * c.get_int("width") <= 2048; }};
  const SearchSpace s = mixed_space({cap});
  Rng rng(11);
  for (int i = 0; i < 1000; ++i) {
    const Config c = s.sample(rng);
    ASSERT_LE(c.get_int("depth") * c.get_int("width"), 2048) << c.to_string();
  }
  Config bad = s.sample(rng);
  bad.set("depth", 8);
  bad.set("width", 1024);
  EXPECT_FALSE(s.satisfies_constraints(bad));
  expect_input_error([&] { s.validate(bad); }, {"depth*width<=2048"});
  // An unsatisfiable constraint is reported by name after max_tries.
  const SearchSpace never("never", {Param::real("a", 0, 1)}, {{"impossible", [](const Config&) { return false; }}});
  try {
    never.sample(rng, 50);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("impossible"), std::string::npos) << e.what();
  }
}

TEST(Space, ValidateNamesTheField) {
  const SearchSpace s = mixed_space();
  Rng rng(1);
  const Config good = s.sample(rng);
  Config c = good;
  c.set("lr", 2.0);
  expect_input_error([&] { s.validate(c); }, {"'lr'"});
  c = good;
  c.set("depth", 2.5);
  expect_input_error([&] { s.validate(c); }, {"'depth'", "integer"});
  c = good;
  c.set("act", "tanh");
  expect_input_error([&] { s.validate(c); }, {"'act'", "tanh"});
  c = good;
  c.set("typo", 1);
  expect_input_error([&] { s.validate(c); }, {"'typo'", "unknown"});
  auto values = good.values();
  values.erase("bs");
  expect_input_error([&] { s.validate(Config(values)); }, {"'bs'", "missing"});
  expect_input_error([&] { s.param("nope"); }, {"'nope'"});
}

TEST(Space, EncodeDecodeRoundTrip) {
  const SearchSpace s = mixed_space();
  Rng rng(5);
  for (int i = 0; i < 500; ++i) {
    const Config c = s.sample(rng);
    const auto v = s.encode(c);
    ASSERT_EQ(v.size(), s.dims());
    for (std::size_t d = 0; d < v.size(); ++d) {
      if (s.params()[d].kind == ParamKind::kCategorical) {
        EXPECT_EQ(v[d], std::round(v[d]));
        EXPECT_LT(v[d], static_cast<double>(s.params()[d].choices.size()));
      } else {
        EXPECT_TRUE(v[d] >= 0.0 && v[d] <= 1.0) << s.params()[d].name << " " << v[d];
      }
    }
    const Config back = s.decode(v);
    EXPECT_NEAR(back.get_double("lr"), c.get_double("lr"), 1e-12 * c.get_double("lr"));
    EXPECT_NEAR(back.get_double("mom"), c.get_double("mom"), 1e-12);
    EXPECT_EQ(back.get("depth"), c.get("depth"));
    EXPECT_EQ(back.get("width"), c.get("width"));
    EXPECT_EQ(back.get("act"), c.get("act"));
    EXPECT_EQ(back.get("bs"), c.get("bs"));
    EXPECT_EQ(back.get("depth_mult"), c.get("depth_mult"));
  }
  // An ordinal's choices sit in order on [0, 1], each at the middle of an equal share.
  const auto& ord = s.param("depth_mult");
  EXPECT_DOUBLE_EQ(ord.to_unit(1.0), 0.125);
  EXPECT_DOUBLE_EQ(ord.to_unit(3.0), 0.875);
  EXPECT_EQ(ord.from_unit(0.3), json(1.5));
  EXPECT_EQ(ord.from_unit(0.74), json(2.0));
  // Out-of-range vectors clamp to legal values.
  const Config clamped = s.decode({-3.0, 7.0, 1.5, -0.2, 9.0, -1.0, 4.0});
  EXPECT_NO_THROW(s.validate(clamped)) << clamped.to_string();
  EXPECT_THROW(s.decode({0.5}), InputError);
}

// model in {cnn, mlp}; depth and width only for the mlp, width_mult only for the cnn; dropout only when depth >= 2
// (a chain: inactive with its parent).
SearchSpace conditional_space() {
  Param depth = Param::integer("depth", 1, 4);
  depth.conditions = {Condition{"model", {"mlp"}}};
  Param width = Param::categorical("width", {64, 128});
  width.conditions = {Condition{"model", {"mlp"}}};
  Param width_mult = Param::real("width_mult", 0.25, 1.0);
  width_mult.conditions = {Condition{"model", {"cnn"}}};
  Param dropout = Param::real("dropout", 0.0, 0.5);
  dropout.conditions = {Condition{"depth", {2, 3, 4}}};
  return SearchSpace("cond", {Param::categorical("model", {"cnn", "mlp"}), Param::real("lr", 1e-3, 1.0, true), depth,
                              width, width_mult, dropout});
}

TEST(Space, ConditionalParametersAreDrawnOnlyWhereActive) {
  const SearchSpace s = conditional_space();
  Rng rng(3);
  int mlp = 0, with_dropout = 0;
  for (int i = 0; i < 400; ++i) {
    const Config c = s.sample(rng);
    ASSERT_NO_THROW(s.validate(c)) << c.to_string();
    const bool is_mlp = c.get_string("model") == "mlp";
    mlp += is_mlp;
    EXPECT_TRUE(c.has("lr"));
    EXPECT_EQ(c.has("depth"), is_mlp) << c.to_string();
    EXPECT_EQ(c.has("width"), is_mlp) << c.to_string();
    EXPECT_EQ(c.has("width_mult"), !is_mlp) << c.to_string();
    EXPECT_EQ(c.has("dropout"), is_mlp && c.get_int("depth") >= 2) << c.to_string();
    with_dropout += c.has("dropout");
  }
  EXPECT_GT(mlp, 150);
  EXPECT_LT(mlp, 250);
  EXPECT_GT(with_dropout, mlp / 2);  // depth 2..4 of 1..4
  EXPECT_LT(with_dropout, mlp);
}

TEST(Space, ConditionalParametersValidateEncodeAndDecode) {
  const SearchSpace s = conditional_space();
  const Config cnn({{"model", "cnn"}, {"lr", 0.01}, {"width_mult", 0.5}});
  EXPECT_NO_THROW(s.validate(cnn));
  Config extra = cnn;
  extra.set("depth", 2);
  expect_input_error([&] { s.validate(extra); }, {"'depth' is set", "'model' is \"mlp\"", "('model' is \"cnn\")"});
  const Config shallow({{"model", "mlp"}, {"lr", 0.01}, {"depth", 1}, {"width", 64}, {"dropout", 0.1}});
  expect_input_error([&] { s.validate(shallow); }, {"'dropout' is set", "'depth' is one of [2,3,4]"});
  expect_input_error(
      [&] {
        s.validate(Config({{"model", "mlp"}, {"lr", 0.01}, {"width", 64}}));
      },
      {"'depth' is missing"});

  // Inactive parameters encode as NaN; decode leaves them out whatever their entries hold.
  const auto x = s.encode(cnn);
  ASSERT_EQ(x.size(), s.dims());
  EXPECT_TRUE(std::isnan(x[2]) && std::isnan(x[3]) && std::isnan(x[5]));
  EXPECT_FALSE(std::isnan(x[0]) || std::isnan(x[1]) || std::isnan(x[4]));
  auto filled = x;
  filled[2] = 0.9;
  filled[3] = 1;
  filled[5] = 0.3;
  for (const auto& v : {x, filled}) {
    const Config back = s.decode(v);
    EXPECT_EQ(back.values().size(), 3u) << back.to_string();
    EXPECT_EQ(back.get_string("model"), "cnn");
    EXPECT_NEAR(back.get_double("width_mult"), 0.5, 1e-12);
  }
  const Config deep({{"model", "mlp"}, {"lr", 0.01}, {"depth", 3}, {"width", 128}, {"dropout", 0.2}});
  const Config back = s.decode(s.encode(deep));
  EXPECT_NO_THROW(s.validate(back));
  EXPECT_EQ(back.get_int("depth"), 3);
  EXPECT_NEAR(back.get_double("dropout"), 0.2, 1e-12);
  EXPECT_FALSE(back.has("width_mult"));
}

TEST(Space, ConditionsRoundTripThroughJsonAndFiles) {
  const SearchSpace s = conditional_space();
  const SearchSpace back = SearchSpace::from_json(s.to_json());
  EXPECT_EQ(back.to_json(), s.to_json());
  ASSERT_EQ(back.param("dropout").conditions.size(), 1u);
  EXPECT_EQ(back.param("dropout").conditions[0].parent, "depth");
  EXPECT_TRUE(back.param("lr").conditions.empty());

  testing::TempDir dir;
  const std::string path = dir.str("space.json");
  std::ofstream(path) << R"({"params": [
      {"name": "model", "type": "categorical", "choices": ["cnn", "mlp"]},
      {"name": "depth", "type": "int", "low": 1, "high": 4, "condition": {"param": "model", "equals": "mlp"}},
      {"name": "width_mult", "type": "float", "low": 0.25, "high": 1, "condition": {"param": "model", "in": ["cnn"]}}]})";
  const SearchSpace f = SearchSpace::from_file(path);
  ASSERT_EQ(f.param("depth").conditions.size(), 1u);
  EXPECT_EQ(f.param("depth").conditions[0].values, std::vector<json>{"mlp"});
  Rng rng(5);
  for (int i = 0; i < 50; ++i) {
    const Config c = f.sample(rng);
    EXPECT_EQ(c.values().size(), 2u) << c.to_string();
  }
}

TEST(Catalog, ANetworksOwnParametersMustBeConditionalOnTheModel) {
  const Param model = Param::categorical("model", {"cnn", "mlp"});
  expect_input_error(
      [&] {
        check_space_params(SearchSpace("s", {model, Param::integer("depth", 1, 4)}), "s.json");
      },
      {"s.json: params[1]", "'depth' belongs to the mlp model", "when model is \"cnn\"", "\"equals\": \"mlp\""});
  Param depth = Param::integer("depth", 1, 4);
  depth.conditions = {Condition{"model", {"mlp"}}};
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {model, depth})));
  depth.conditions = {Condition{"model", {"cnn", "mlp"}}};
  expect_input_error([&] { check_space_params(SearchSpace("s", {model, depth})); }, {"model is \"cnn\""});
  // Through a chain: dropout depends on depth, which depends on the model.
  depth.conditions = {Condition{"model", {"mlp"}}};
  Param dropout = Param::real("dropout", 0.0, 0.5);
  dropout.conditions = {Condition{"depth", {2, 3, 4}}};
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {model, depth, dropout})));
  // Without a model parameter the mlp's parameters choose the mlp.
  EXPECT_NO_THROW(check_space_params(SearchSpace("s", {Param::integer("depth", 1, 4)})));
  EXPECT_EQ(model_of_param("depth"), "mlp");
  EXPECT_EQ(model_of_param("edge_1_0"), "nb201");
  EXPECT_EQ(model_of_param("lr"), "");
}

TEST(Space, JsonDefinitionRoundTrip) {
  const SearchSpace s = mixed_space();
  const SearchSpace back = SearchSpace::from_json(s.to_json());
  EXPECT_EQ(back.to_json(), s.to_json());
  EXPECT_EQ(back.name(), "mixed");
  EXPECT_EQ(back.param("width").kind, ParamKind::kInteger);
  EXPECT_TRUE(back.param("width").log);
  EXPECT_EQ(back.param("depth_mult").kind, ParamKind::kOrdinal);
  EXPECT_EQ(back.param("depth_mult").choices.size(), 4u);
}

TEST(Space, LoadsAGoodFile) {
  testing::TempDir dir;
  const std::string path = dir.str("space.json");
  std::ofstream(path) << R"({"name": "mine", "params": [
      {"name": "lr", "type": "float", "low": 1e-3, "high": 0.5, "log": true},
      {"name": "bs", "type": "categorical", "choices": [64, 128]},
      {"name": "depth", "type": "int", "low": 1, "high": 4},
      {"name": "scale", "type": "ordinal", "choices": [1, 1.5, 2]}]})";
  const SearchSpace s = SearchSpace::from_file(path);
  EXPECT_EQ(s.name(), "mine");
  ASSERT_EQ(s.dims(), 4u);
  EXPECT_EQ(s.param("scale").kind, ParamKind::kOrdinal);
  EXPECT_TRUE(s.param("lr").log);
  EXPECT_EQ(s.param("depth").high, 4.0);
  Rng rng(2);
  for (int i = 0; i < 100; ++i) EXPECT_NO_THROW(s.validate(s.sample(rng)));
}

TEST(Space, BadFilesNameTheFileAndField) {
  testing::TempDir dir;
  struct Case {
    std::string text, field;
  };
  const std::vector<Case> cases = {
      {R"({"params": [{"name": "a", "type": "float", "low": 0, "high": 1},
                      {"name": "b", "type": "float", "low": 0, "high": 1},
                      {"name": "c", "type": "float", "low": "x", "high": 1}]})",
       "params[2].low: expected a number"},
      {R"({"params": [{"name": "lr", "type": "float", "low": 0, "high": 1, "log": true}]})", "params[0].low"},
      {R"({"params": [{"name": "a", "type": "float", "low": 2, "high": 1}]})", "params[0].high"},
      {R"({"params": [{"name": "a", "type": "int", "low": 1.5, "high": 4}]})", "params[0].low: expected an integer"},
      {R"({"params": [{"name": "a", "type": "bool"}]})", "params[0].type"},
      {R"({"params": [{"name": "a", "type": "categorical", "choices": []}]})", "params[0].choices"},
      {R"({"params": [{"name": "a", "type": "categorical", "choices": [1, [2]]}]})", "params[0].choices[1]"},
      {R"({"params": [{"name": "a", "type": "ordinal", "choices": [1, 2, 1]}]})", "duplicate choice"},
      {R"({"params": [{"name": "a", "type": "ordinal", "low": 1, "high": 2}]})", "params[0].choices"},
      {R"({"params": [{"name": "a", "type": "float", "low": 0, "high": 1, "lgo": true}]})", "params[0].lgo"},
      {R"({"params": [{"name": "a", "type": "float", "low": 0, "high": 1},
                      {"name": "a", "type": "float", "low": 0, "high": 1}]})",
       "params[1].name"},
      {R"({"params": [{"type": "float", "low": 0, "high": 1}]})", "params[0].name"},
      {R"({"params": []})", "params"},
      {R"({"name": "x"})", "params"},
      {R"({"name": 3, "params": [{"name": "a", "type": "float", "low": 0, "high": 1}]})", "name"},
      {R"([1, 2])", "expected a JSON object"},
      {R"({"params": [{"name": "d", "type": "int", "low": 1, "high": 2, "condition": {"param": "m", "equals": "x"}},
                      {"name": "m", "type": "categorical", "choices": ["x"]}]})",
       "params[0].condition.param: 'm' must be defined before 'd'"},
      {R"({"params": [{"name": "d", "type": "int", "low": 1, "high": 2, "condition": {"param": "zz", "equals": 1}}]})",
       "params[0].condition.param: unknown parameter 'zz'"},
      {R"({"params": [{"name": "a", "type": "float", "low": 0, "high": 1},
                      {"name": "b", "type": "float", "low": 0, "high": 1, "condition": {"param": "a", "equals": 1}}]})",
       "params[1].condition.param: 'a' is a float"},
      {R"({"params": [{"name": "m", "type": "categorical", "choices": ["x", "y"]},
                      {"name": "b", "type": "float", "low": 0, "high": 1, "condition": {"param": "m", "in": ["x", "z"]}}]})",
       "params[1].condition.in[1]: \"z\" is not a value of 'm'"},
      {R"({"params": [{"name": "m", "type": "categorical", "choices": ["x", "y"]},
                      {"name": "b", "type": "float", "low": 0, "high": 1,
                       "condition": {"param": "m", "in": ["x"], "equals": "y"}}]})",
       "params[1].condition: expected exactly one"},
      {R"({"params": [{"name": "m", "type": "categorical", "choices": ["x", "y"]},
                      {"name": "b", "type": "float", "low": 0, "high": 1, "condition": {"param": "m", "when": "x"}}]})",
       "params[1].condition.when: unknown field"},
      {R"({"params": [{"name": "m", "type": "categorical", "choices": ["x", "y"]},
                      {"name": "b", "type": "float", "low": 0, "high": 1, "condition": "m"}]})",
       "params[1].condition: expected an object"},
      {R"({"params": [)", "not valid JSON"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.str("space" + std::to_string(i) + ".json");
    std::ofstream(path) << cases[i].text;
    expect_input_error([&] { SearchSpace::from_file(path); }, {path + ": ", cases[i].field});
  }
  expect_input_error([&] { SearchSpace::from_file(dir.str("missing.json")); }, {"missing.json", "cannot open"});
}

TEST(Space, HparamsSamplesValidConfigs) {
  const SearchSpace s = builtin_space("hparams");
  ASSERT_EQ(s.dims(), 4u);
  EXPECT_TRUE(s.param("lr").log);
  EXPECT_EQ(s.param("lr").low, 1e-3);
  EXPECT_EQ(s.param("lr").high, 0.5);
  EXPECT_TRUE(s.param("weight_decay").log);
  EXPECT_EQ(s.param("weight_decay").low, 1e-5);
  EXPECT_EQ(s.param("weight_decay").high, 1e-2);
  EXPECT_EQ(s.param("width_mult").choices, (std::vector<json>{0.125, 0.25, 0.5}));
  EXPECT_EQ(s.param("batch_size").choices, (std::vector<json>{64, 128, 256}));
  Rng rng(42);
  std::set<std::int64_t> batch;
  for (int i = 0; i < 1000; ++i) {
    const Config c = s.sample(rng);
    ASSERT_NO_THROW(s.validate(c)) << c.to_string();
    EXPECT_GE(c.get_double("lr"), 1e-3);
    EXPECT_LE(c.get_double("lr"), 0.5);
    batch.insert(c.get_int("batch_size"));
    EXPECT_EQ(Config::from_json(json::parse(c.to_string())), c);
  }
  EXPECT_EQ(batch.size(), 3u);
  expect_input_error([] { builtin_space("nope"); }, {"'nope'", "hparams"});
}

}  // namespace
}  // namespace fhist::space
