// Forbidden combinations (ConfigSpace's ForbiddenAndConjunction of equals / in clauses), in code and in space files.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>

#include "core/errors.hpp"
#include "space/space.hpp"
#include "test_util.hpp"

namespace fhist::space {
namespace {

using nlohmann::json;

// The scikit-learn LinearSVC example: penalty "l1" with loss "hinge" is not supported, nor l1 at the two smallest C.
SearchSpace svc_space() {
  return SearchSpace("svc",
                     {Param::categorical("penalty", {"l1", "l2"}), Param::categorical("loss", {"hinge", "squared"}),
                      Param::integer("c_exp", -2, 2), Param::real("tol", 1e-5, 1e-3, true)},
                     {}, {Forbidden{{{"penalty", {"l1"}}, {"loss", {"hinge"}}}}, Forbidden{{{"penalty", {"l1"}}, {"c_exp", {-2, -1}}}}});
}

TEST(Forbidden, SampleNeverTakesACombinationAndKeepsTheRest) {
  const SearchSpace s = svc_space();
  Rng rng(11);
  std::map<std::string, int> seen;
  for (int i = 0; i < 2000; ++i) {
    const Config c = s.sample(rng);
    ASSERT_TRUE(s.satisfies_constraints(c)) << c.to_string();
    ASSERT_NO_THROW(s.validate(c)) << c.to_string();
    const bool l1 = c.get_string("penalty") == "l1";
    EXPECT_FALSE(l1 && c.get_string("loss") == "hinge") << c.to_string();
    EXPECT_FALSE(l1 && c.get_int("c_exp") < 0) << c.to_string();
    ++seen[c.get_string("penalty") + "/" + c.get_string("loss")];
  }
  // Of the 20 penalty x loss x c_exp cells, l1 keeps squared x {0, 1, 2}: 3 cells against l2's 10.
  EXPECT_EQ(seen.count("l1/hinge"), 0u);
  EXPECT_GT(seen["l1/squared"], 300);
  EXPECT_LT(seen["l1/squared"], 620);
  EXPECT_GT(seen["l2/hinge"], 600);
  EXPECT_GT(seen["l2/squared"], 600);
}

TEST(Forbidden, ValidateNamesTheCombination) {
  const SearchSpace s = svc_space();
  const Config ok({{"penalty", "l1"}, {"loss", "squared"}, {"c_exp", 0}, {"tol", 1e-4}});
  EXPECT_NO_THROW(s.validate(ok));
  Config bad = ok;
  bad.set("c_exp", -1);
  const std::string e = testing::input_error_message([&] { s.validate(bad); });
  EXPECT_NE(e.find("forbidden[1] (penalty = \"l1\" and c_exp in [-2,-1])"), std::string::npos) << e;
  EXPECT_FALSE(s.satisfies_constraints(bad));
}

TEST(Forbidden, ACombinationOfAnInactiveParameterIsNotTaken) {
  Param depth = Param::integer("depth", 1, 4);
  depth.conditions = {Condition{"model", {"mlp"}}};
  const SearchSpace s("m", {Param::categorical("model", {"cnn", "mlp"}), depth},
                      {}, {Forbidden{{{"model", {"cnn"}}, {"depth", {1}}}}});
  EXPECT_NO_THROW(s.validate(Config(std::map<std::string, json>{{"model", "cnn"}})));  // depth is absent: the combination is not taken
  Rng rng(2);
  int cnn = 0;
  for (int i = 0; i < 200; ++i) cnn += s.sample(rng).get_string("model") == "cnn";
  EXPECT_GT(cnn, 60);
}

TEST(Forbidden, RoundTripsThroughJsonAndFiles) {
  const SearchSpace s = svc_space();
  const json j = s.to_json();
  ASSERT_TRUE(j.contains("forbidden"));
  EXPECT_EQ(j["forbidden"][0], json::parse(R"({"penalty": "l1", "loss": "hinge"})"));
  EXPECT_EQ(j["forbidden"][1], json::parse(R"({"penalty": "l1", "c_exp": [-2, -1]})"));
  const SearchSpace back = SearchSpace::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  ASSERT_EQ(back.forbidden().size(), 2u);

  testing::TempDir dir;
  const std::string path = dir.str("svc.json");
  std::ofstream(path) << R"({"name": "svc", "params": [
      {"name": "penalty", "type": "categorical", "choices": ["l1", "l2"]},
      {"name": "loss", "type": "categorical", "choices": ["hinge", "squared"]}],
    "forbidden": [{"penalty": "l1", "loss": ["hinge"]}]})";
  const SearchSpace f = SearchSpace::from_file(path);
  Rng rng(4);
  for (int i = 0; i < 100; ++i) {
    const Config c = f.sample(rng);
    EXPECT_FALSE(c.get_string("penalty") == "l1" && c.get_string("loss") == "hinge") << c.to_string();
  }
  // A combination that forbids every configuration: sampling gives up, naming it.
  const SearchSpace none("none", {Param::categorical("a", {"x"})}, {}, {Forbidden{{{"a", {"x"}}}}});
  try {
    none.sample(rng, 50);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("forbidden[0] (a = \"x\") rejected 50"), std::string::npos) << e.what();
  }
}

TEST(Forbidden, BadCombinationsNameTheFileAndField) {
  testing::TempDir dir;
  const std::string params = R"("params": [{"name": "m", "type": "categorical", "choices": ["a", "b"]},
                                           {"name": "n", "type": "int", "low": 1, "high": 3},
                                           {"name": "lr", "type": "float", "low": 0.01, "high": 0.1}])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("forbidden": {"m": "a"})", "forbidden: expected a list of combinations"},
      {R"("forbidden": [{}])", "forbidden[0]: expected an object of parameter names"},
      {R"("forbidden": [["m", "a"]])", "forbidden[0]: expected an object"},
      {R"("forbidden": [{"m": "a"}, {"zz": 1}])", "forbidden[1].zz: unknown parameter 'zz'"},
      {R"("forbidden": [{"m": "c"}])", "forbidden[0].m: \"c\" is not a value of 'm'"},
      {R"("forbidden": [{"m": "a", "n": [1, 4]}])", "forbidden[0].n[1]: 4 is not a value of 'n'"},
      {R"("forbidden": [{"lr": 0.05}])", "forbidden[0].lr: 'lr' is a float"},
      {R"("forbidden": [{"m": []}])", "forbidden[0].m: expected a value or a non-empty list"},
      {R"("forbidden": [{"m": {"in": ["a"]}}])", "forbidden[0].m: expected a number, a string or a list"},
      {R"("forbiden": [{"m": "a"}])", "forbiden: unknown field (expected name, params, forbidden)"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.str("bad" + std::to_string(i) + ".json");
    std::ofstream(path) << "{" << params << ", " << cases[i].first << "}";
    const std::string e = testing::input_error_message([&] { SearchSpace::from_file(path); });
    EXPECT_NE(e.find(path + ": " + cases[i].second), std::string::npos) << cases[i].first << " -> " << e;
  }
  // Built in code, the constructor checks the same.
  const std::string e = testing::input_error_message([] {
    SearchSpace("c", {Param::categorical("m", {"a"})}, {}, {Forbidden{{{"m", {"a"}}, {"m", {"a"}}}}});
  });
  EXPECT_NE(e.find("space 'c': forbidden[0].m: named twice"), std::string::npos) << e;
}

}  // namespace
}  // namespace fhist::space
