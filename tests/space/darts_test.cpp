// DARTS genotypes as text and as a search space (no Torch; the network is tests/nas/darts_test.cpp's).
#include "space/darts.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.hpp"

namespace fhist::space {
namespace {

// genotypes.py's DARTS_V2, verbatim.
const char* const kDartsV2Text =
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=[2, 3, 4, 5])";

std::string replace_first(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string error_of(const std::string& text) {
  try {
    parse_genotype(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(DartsGenotype, DartsV2TextRoundTrip) {
  EXPECT_EQ(parse_genotype(kDartsV2Text), darts_v2());
  EXPECT_EQ(to_string(darts_v2()), kDartsV2Text);
  EXPECT_EQ(parse_genotype(to_string(darts_v2())), darts_v2());
  // genotypes.py writes most concats as range(2, 6); double quotes, newlines and trailing commas are Python too.
  std::string alt = replace_first(kDartsV2Text, "normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)");
  alt = replace_first(alt, "reduce_concat=[2, 3, 4, 5]", "reduce_concat = range(2,6),\n");
  alt = replace_first(alt, "('sep_conv_3x3', 0)", "(\"sep_conv_3x3\", 0,)");
  EXPECT_EQ(parse_genotype(alt), darts_v2());
}

TEST(DartsGenotype, MalformedTextNamesTheOffendingToken) {
  const std::string v2 = kDartsV2Text;
  const std::vector<std::pair<std::string, std::string>> cases = {
      // {text, what the message must contain}
      {replace_first(v2, "'dil_conv_3x3'", "'dil_conv_7x7'"), "'dil_conv_7x7'"},  // unknown op
      {replace_first(v2, "('sep_conv_3x3', 0), ", ""), "'normal' has 7"},         // 7 pairs
      {replace_first(v2, "('max_pool_3x3', 0), ", "('max_pool_3x3', 0), ('max_pool_3x3', 0), "),
       "'reduce' has 9"},                                                                         // 9 pairs
      {replace_first(v2, "('sep_conv_3x3', 1)", "('sep_conv_3x3', 2)"), "input 2 of normal[1]"},  // node 2: 0..1
      {replace_first(v2, "('dil_conv_3x3', 2)", "('dil_conv_3x3', 6)"), "at '6'"},                // node 5: 0..4
      {replace_first(v2, "('skip_connect', 0)", "('skip_connect', -1)"), "at '-1'"},              // negative input
      {replace_first(v2, "('sep_conv_3x3', 0)", "('sep_conv_3x3' 0)"), "expected ',' at '0'"},    // syntax
      {replace_first(v2, "('sep_conv_3x3', 0)", "(sep_conv_3x3, 0)"), "at 'sep_conv_3x3'"},       // unquoted op
      {replace_first(v2, "normal_concat", "normal_concatt"), "'normal_concatt'"},                 // unknown field
      {replace_first(v2, ", reduce_concat=[2, 3, 4, 5]", ""), "missing field 'reduce_concat'"},
      {replace_first(v2, "reduce_concat", "normal_concat"), "repeated field at 'normal_concat'"},
      {replace_first(v2, "normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4, 6]"), "at '6'"},
      {replace_first(v2, "normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 3]"), "concat index 3 is repeated"},
      {replace_first(v2, "reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 7)"), "at '7'"},
      {replace_first(v2, "reduce_concat=[2, 3, 4, 5]", "reduce_concat=[]"), "empty concat"},
      {replace_first(v2, "reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(1, 6)"), "at '1'"},
      {replace_first(v2, "Genotype(", "Genotyp("), "at 'Genotyp'"},
      {v2 + " extra", "at 'extra'"},
      {replace_first(v2, "'max_pool_3x3', 1)]", "'max_pool_3x3, 1)]"), "unterminated string"},
      {v2.substr(0, v2.size() - 1), "at 'end of text'"},
      {"", "at 'end of text'"},
      {replace_first(v2, "('skip_connect', 2)", "('skip_connect', 2.5)"), "at '2.'"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string msg = error_of(text);
    EXPECT_NE(msg.find(needle), std::string::npos) << "text: " << text << "\nmessage: " << msg;
  }
}

TEST(DartsGenotype, ValidateGenotypeRejectsWhatTheParserRejects) {
  auto g = darts_v2();
  g.normal[7].second = 5;
  EXPECT_THROW(validate_genotype(g), InputError);
  g = darts_v2();
  g.reduce.pop_back();
  EXPECT_THROW(validate_genotype(g), InputError);
  g = darts_v2();
  g.reduce_concat = {};
  EXPECT_THROW(validate_genotype(g), InputError);
  g = darts_v2();
  g.normal[0].first = "conv_3x3";
  EXPECT_THROW(validate_genotype(g), InputError);
}

TEST(DartsSpace, SampledGenotypesAreValidAndRoundTrip) {
  space::Rng rng(42);
  const auto space = darts_space();
  EXPECT_EQ(space.dims(), 32u);
  std::set<std::string> ops_seen;
  std::set<int> node5_inputs;
  for (int t = 0; t < 1000; ++t) {
    const auto g = sample_genotype(rng);
    ASSERT_NO_THROW(validate_genotype(g));
    EXPECT_EQ(g.normal_concat, (std::vector<int>{2, 3, 4, 5}));
    EXPECT_EQ(g.reduce_concat, (std::vector<int>{2, 3, 4, 5}));
    for (const auto* edges : {&g.normal, &g.reduce}) {
      ASSERT_EQ(edges->size(), 8u);
      for (int k = 0; k < 8; k += 2) EXPECT_NE((*edges)[k].second, (*edges)[k + 1].second);
      for (const auto& [op, in] : *edges) {
        EXPECT_NE(op, "none");
        ops_seen.insert(op);
      }
      node5_inputs.insert((*edges)[6].second);
    }
    EXPECT_EQ(parse_genotype(to_string(g)), g);
    const auto config = darts_config(g);
    EXPECT_NO_THROW(space.validate(config));
    EXPECT_EQ(darts_genotype_from_config(config), g);
  }
  EXPECT_EQ(ops_seen.size(), 7u);
  EXPECT_EQ(node5_inputs, (std::set<int>{0, 1, 2, 3, 4}));
  // The space's own rejection sampler yields the same kind of genotype.
  for (int t = 0; t < 100; ++t) {
    const auto config = space.sample(rng);
    EXPECT_EQ(darts_config(darts_genotype_from_config(config)), config);
  }
}

TEST(DartsSpace, ConfigRejectsWhatTheSpaceCannotHold) {
  auto g = darts_v2();
  g.normal[0].first = "none";
  EXPECT_THROW(darts_config(g), InputError);
  g = darts_v2();
  g.normal[1].second = 0;  // node 2 reads input 0 twice
  try {
    darts_config(g);
    FAIL() << "duplicate inputs accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("normal_2_inputs_differ"), std::string::npos) << e.what();
  }
  g = darts_v2();
  g.reduce_concat = {2, 3, 4};
  EXPECT_THROW(darts_config(g), InputError);
  auto config = darts_config(darts_v2());
  config.set("reduce_3_in_b", 3);  // node 3 reads 0..2
  EXPECT_THROW(darts_genotype_from_config(config), InputError);
}

}  // namespace
}  // namespace fhist::space
