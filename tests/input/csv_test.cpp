// csv:FILE: tables of numbers with a class column, and every way a user's table can be wrong.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "input/input.hpp"
#include "test_util.hpp"

namespace fhist::input {
namespace {

namespace fs = std::filesystem;


class CsvTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto p = tmp_.str(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  static DataOptions target(const std::string& t) {
    DataOptions o;
    o.target = t;
    return o;
  }
  static float at(const Split& s, std::size_t i) {
    float v;
    std::memcpy(&v, s.values.data + i * 4, 4);
    return v;
  }
  fhist::testing::TempDir tmp_;
};

TEST_F(CsvTest, ReadsFeaturesAndClassesInNumericOrder) {
  const auto f = write("t.csv", "a,label,b\n1.5,10,2\n-3,9,4e1\n0.25,10,-1\n");
  const auto d = load_csv(f, target("label"));
  EXPECT_TRUE(d.tabular);
  ASSERT_EQ(d.train.shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_TRUE(d.train.float32);
  EXPECT_EQ(d.features, (std::vector<std::string>{"a", "b"}));
  // 9 < 10 numerically although "10" < "9" as text.
  EXPECT_EQ(d.classes, (std::vector<std::string>{"9", "10"}));
  EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_FLOAT_EQ(at(d.train, 0), 1.5f);
  EXPECT_FLOAT_EQ(at(d.train, 1), 2.0f);
  EXPECT_FLOAT_EQ(at(d.train, 3), 40.0f);
  EXPECT_FLOAT_EQ(at(d.train, 5), -1.0f);
  EXPECT_FALSE(d.val.has_value());
  EXPECT_FALSE(d.test.has_value());
}

TEST_F(CsvTest, TextClassesQuotedFieldsAndCrLf) {
  const auto f = write("t.csv", "x,\"kind, long\"\r\n1,\"b, c\"\r\n2,a\r\n3,\"b, c\"\r\n");
  const auto d = load_csv(f, target("kind, long"));
  EXPECT_EQ(d.classes, (std::vector<std::string>{"a", "b, c"}));
  EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{1, 0, 1}));
}

TEST_F(CsvTest, SklearnLayoutWithSkipRowsNoHeaderAndLastColumn) {
  // sklearn's own files start with "n_samples,n_features,names..." and have no column names.
  const auto f = write("t.csv", "3,2,neg,pos\n1,2,0\n3,4,1\n5,6,1\n");
  DataOptions o = target("last");
  o.csv_skip_rows = 1;
  o.csv_header = false;
  const auto d = load_csv(f, o);
  EXPECT_EQ(d.features, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(d.train.labels, (std::vector<std::int64_t>{0, 1, 1}));
  o.target = "3";
  EXPECT_EQ(load_csv(f, o).train.labels, d.train.labels);
  EXPECT_FLOAT_EQ(at(d.train, 4), 5.0f);
}

TEST_F(CsvTest, GzipCompressedFileIsReadAsIs) {
  const auto p = tmp_.str("t.csv.gz");
  gzFile gz = gzopen(p.c_str(), "wb");
  const std::string text = "f,y\n1,a\n2,b\n";
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  const auto d = load_csv(p, target("y"));
  EXPECT_EQ(d.train.size(), 2);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"a", "b"}));
}

TEST_F(CsvTest, HoldoutSetsAsideAFixedTestSplit) {
  std::string text = "x,y\n";
  for (int i = 0; i < 10; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  const auto f = write("t.csv", text);
  DataOptions o = target("y");
  o.holdout = 0.3;
  const auto a = load("csv:" + f, o), b = load("csv:" + f, o);
  ASSERT_TRUE(a.test.has_value());
  EXPECT_EQ(a.test->size(), 3);
  EXPECT_EQ(a.train.size(), 7);
  // The same rows every time, each row once, and each keeps its label (y = x mod 2).
  std::vector<float> seen;
  for (const auto* s : {&a.train, &*a.test}) {
    for (std::int64_t i = 0; i < s->size(); ++i) {
      const float x = at(*s, static_cast<std::size_t>(i));
      seen.push_back(x);
      EXPECT_EQ(s->labels[static_cast<std::size_t>(i)], static_cast<std::int64_t>(x) % 2);
    }
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(std::memcmp(a.test->values.data, b.test->values.data, a.test->values.size), 0);
  o.holdout = 1.0;
  FHIST_EXPECT_INPUT_ERROR(load("csv:" + f, o), "expected a fraction in [0, 1)");
  o.holdout = 0.95;
  FHIST_EXPECT_INPUT_ERROR(load("csv:" + f, o), "leave no test or no training set");
}

TEST_F(CsvTest, RefusesWhatAUserMustFix) {
  const auto good = write("good.csv", "a,b,y\n1,2,0\n3,4,1\n");
  FHIST_EXPECT_INPUT_ERROR(load_csv(good, target("")), "--target COLUMN is required");
  FHIST_EXPECT_INPUT_ERROR(load_csv(good, target("yy")), "--target 'yy' is not a column (did you mean 'y'?)");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("nan.csv", "a,b,y\n1,2,0\n3,NaN,1\n"), target("y")),
                   "row 3, column 'b': missing value ('NaN')");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("empty.csv", "a,b,y\n1,,0\n3,4,1\n"), target("y")),
                   "row 2, column 'b': missing value");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("text.csv", "a,b,y\n1,2,0\n3,four,1\n"), target("y")),
                   "row 3, column 'b': 'four' is not a number");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("short.csv", "a,b,y\n1,2,0\n3,1\n"), target("y")),
                   "row 3 has 2 fields, the header has 3");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("one.csv", "a,y\n1,0\n3,0\n"), target("y")),
                   "holds 1 distinct value(s)");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("noclass.csv", "a,y\n1,0\n3,\n"), target("y")),
                   "row 3, column 'y': the class is missing");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("header.csv", "a,y\n"), target("y")), "none of them data");
  FHIST_EXPECT_INPUT_ERROR(load_csv(write("quote.csv", "a,y\n1,\"0\n"), target("y")), "unclosed quote");
  FHIST_EXPECT_INPUT_ERROR(load_csv(tmp_.str("missing.csv"), target("y")), "cannot open");
}

}  // namespace
}  // namespace fhist::input
