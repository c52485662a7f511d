#pragma once
// NAS-Bench-201 cells the space tests (arch strings) and the nas tests (networks) share.
#include <string>

namespace fhist::testing {

inline const std::string kNb201Best =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";
inline const std::string kNb201AllNone = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
inline const std::string kNb201AllConv3 =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
// Every op once or more: used where the whole forward/backward path should be exercised.
inline const std::string kNb201AllOps =
    "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|";

}  // namespace fhist::testing
