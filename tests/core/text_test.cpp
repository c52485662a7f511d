// Name suggestions in error messages.
#include <gtest/gtest.h>

#include "core/text.hpp"

using namespace fhist;

TEST(Text, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("epoch", "epochs"), 1u);
  EXPECT_EQ(edit_distance("widthmult", "width_mult"), 1u);
}

TEST(Text, Suggestions) {
  const std::vector<std::string> keys = {"lr", "weight_decay", "momentum", "batch_size", "width_mult"};
  EXPECT_EQ(nearest_name("widthmult", keys), "width_mult");
  EXPECT_EQ(nearest_name("weight-decay", keys), "weight_decay");
  EXPECT_EQ(nearest_name("batchsize", keys), "batch_size");
  EXPECT_EQ(nearest_name("dropout", keys), "");  // nothing close: no suggestion rather than a wrong one
  EXPECT_EQ(did_you_mean("momentun", keys), " (did you mean 'momentum'?)");
  EXPECT_EQ(did_you_mean("zzz", keys), "");
}
