// The spec grammar, the options' JSON form (stored in journals) and the description `fhist data` prints.
#include <gtest/gtest.h>

#include "input/input.hpp"
#include "test_util.hpp"

namespace fhist::input {
namespace {

TEST(DataSpec, UserKindsAndBuiltins) {
  EXPECT_EQ(parse_source("folder:/a/b").kind, SourceKind::kFolder);
  EXPECT_EQ(parse_source("folder:/a/b").path, "/a/b");
  EXPECT_EQ(parse_source("npy:x").kind, SourceKind::kNpy);
  EXPECT_EQ(parse_source("csv:t.csv").kind, SourceKind::kCsv);
  EXPECT_EQ(parse_source("csv:C:/t.csv").path, "C:/t.csv");
  EXPECT_EQ(parse_source("fashion-mnist").kind, SourceKind::kBuiltin);
  EXPECT_EQ(parse_source("cifar10:/d").kind, SourceKind::kBuiltin);
  EXPECT_FALSE(is_user_data("mnist:/d"));
  EXPECT_TRUE(is_user_data("npy:/d"));
  FHIST_EXPECT_INPUT_ERROR(parse_source("csv:"), "csv needs a path");
}

TEST(DataSpec, ImageSize) {
  EXPECT_EQ(parse_image_size("28x32"), (std::pair<int, int>{28, 32}));
  EXPECT_EQ(parse_image_size("8X8"), (std::pair<int, int>{8, 8}));
  for (const char* bad : {"28", "x28", "28x", "0x5", "5x-1", "axb", "28x28x3", "5000x5"}) {
    FHIST_EXPECT_INPUT_ERROR(parse_image_size(bad), "--image-size");
  }
}

TEST(DataOptions, JsonRoundTripAndOldJournals) {
  DataOptions o;
  o.target = "label";
  o.image_height = 16;
  o.image_width = 24;
  o.image_channels = 3;
  o.skip_bad_images = true;
  o.csv_skip_rows = 2;
  o.csv_header = false;
  o.cache_dir = "/tmp/c";
  EXPECT_TRUE(DataOptions::from_json(o.to_json()) == o);
  EXPECT_FALSE(DataOptions::from_json(nlohmann::json::object()) == o);
  EXPECT_TRUE(DataOptions::from_json(nlohmann::json::object()) == DataOptions{});
  EXPECT_TRUE(DataOptions::from_json(nullptr) == DataOptions{});
}

TEST(Describe, CountsSplitsAndProblems) {
  Loaded d;
  d.spec = "npy:/x";
  d.classes = {"a", "b", "c"};
  d.train.shape = {31, 1, 8, 8};
  d.train.labels.assign(25, 0);
  d.train.labels.insert(d.train.labels.end(), {1, 1, 2, 2, 2, 2});
  Split val;
  val.shape = {2, 1, 8, 8};
  val.labels = {0, 1};
  d.val = val;
  const auto j = describe(d);
  EXPECT_EQ(j["kind"], "images");
  EXPECT_EQ(j["height"], 8);
  EXPECT_EQ(j["splits"]["train"]["classes"]["a"], 25);
  EXPECT_EQ(j["splits"]["val"]["size"], 2);
  EXPECT_FALSE(j["splits"].contains("test"));
  const auto problems = j["problems"].dump();
  EXPECT_NE(problems.find("class 'b' has only 2 training examples"), std::string::npos) << problems;
  EXPECT_NE(problems.find("class imbalance"), std::string::npos) << problems;
  EXPECT_NE(problems.find("class 'c' has no examples in the val split"), std::string::npos) << problems;
  EXPECT_EQ(problems.find("class 'a' has only"), std::string::npos) << problems;
}

}  // namespace
}  // namespace fhist::input
