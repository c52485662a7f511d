// NAS-Bench-201 arch strings and the cell space (no Torch; the network is tests/nas/nb201_test.cpp's).
#include "space/nb201.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "core/errors.hpp"
#include "nb201_archs.hpp"
#include "test_util.hpp"

namespace fhist::space {
namespace {

using fhist::testing::input_error_message;
const std::string& kBest = fhist::testing::kNb201Best;
const std::string& kAllNone = fhist::testing::kNb201AllNone;
const std::string& kAllConv3 = fhist::testing::kNb201AllConv3;
const std::string& kAllOps = fhist::testing::kNb201AllOps;

TEST(Nb201Arch, RoundTripsArchStrings) {
  for (const auto& s :
       {kBest, kAllNone, kAllConv3, kAllOps,
        std::string("|skip_connect~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")}) {
    EXPECT_EQ(to_string(parse_nb201_arch(s)), s);
  }
  const auto a = parse_nb201_arch(kBest);
  const std::array<std::string, 6> want = {"nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3",
                                           "skip_connect", "nor_conv_3x3", "skip_connect"};
  EXPECT_EQ(a.ops, want);
  EXPECT_EQ(nb201_op_names().size(), 5u);
}

TEST(Nb201Arch, RejectsMalformedStringsNamingTheToken) {
  const std::string tail = "+|none~0|none~1|+|none~0|none~1|none~2|";
  // {string, a substring the message must contain (the offending token, quoted)}
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "got 1"},
      {"|none~0|+|none~0|none~1|", "got 2"},
      {kAllNone + "+|none~0|none~1|none~2|none~3|", "extra node '|none~0|none~1|none~2|none~3|'"},
      {kAllNone + "+", "extra node ''"},
      {"|conv_3x3~0|" + tail, "unknown op 'conv_3x3'"},
      {"|None~0|" + tail, "unknown op 'None'"},
      {"|~0|" + tail, "unknown op '' in edge '~0'"},
      {"|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 '|none~0|'"},
      {"|none~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 '|none~0|none~1|'"},
      {"|none~0|+|none~0|none~1|+|none~0|none~1|", "node 3 '|none~0|none~1|'"},
      {"|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "edge 'none~1'"},
      {"|none~0|+|none~0|none~x|+|none~0|none~1|none~2|", "edge 'none~x'"},
      {"|none~3|" + tail, "edge 'none~3'"},
      {"|none~00|" + tail, "edge 'none~00'"},
      {"|none0|" + tail, "edge 'none0'"},
      {"none~0|" + tail, "node 1 'none~0|'"},
      {" |none~0|" + tail, "node 1 ' |none~0|'"},
      {"|none~0|+|none~0|none~1|+|none~0|none~1|none~2", "node 3 '|none~0|none~1|none~2'"},
      {"|none~0|+|none~0none~1|+|none~0|none~1|none~2|", "node 2 '|none~0none~1|'"},
      {"|none~0||" + tail, "node 1 '|none~0||'"},
      {"|none~0|+|+|none~0|none~1|none~2|", "node 2 '|'"},
  };
  for (const auto& entry : bad) {
    SCOPED_TRACE(entry.first);
    const auto msg = input_error_message([&] { parse_nb201_arch(entry.first); });
    EXPECT_NE(msg.find(entry.second), std::string::npos) << msg;
  }
}

TEST(Nb201Space, ConfigErrorsNameTheField) {
  auto config = nb201_config(parse_nb201_arch(kBest));
  config.set("lr", 0.1);  // unrelated fields are ignored
  EXPECT_EQ(to_string(nb201_arch_from_config(config)), kBest);
  auto values = config.values();
  values.erase("edge_2_1");
  EXPECT_NE(input_error_message([&] { nb201_arch_from_config(space::Config(values)); }).find("edge_2_1"),
            std::string::npos);
  auto bad_op = config;
  bad_op.set("edge_3_2", "sep_conv_3x3");
  const auto msg = input_error_message([&] { nb201_arch_from_config(bad_op); });
  EXPECT_NE(msg.find("edge_3_2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sep_conv_3x3"), std::string::npos) << msg;
  auto not_string = config;
  not_string.set("edge_1_0", 3);
  EXPECT_NE(input_error_message([&] { nb201_arch_from_config(not_string); }).find("edge_1_0"), std::string::npos);
}

}  // namespace
}  // namespace fhist::space
