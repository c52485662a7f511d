#include "core/cpus.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "core/errors.hpp"

namespace fhist {
namespace {

// Sets OMP_NUM_THREADS for one test and puts back what the process had.
class OmpNumThreads {
 public:
  explicit OmpNumThreads(const char* value) {
    if (const char* old = std::getenv("OMP_NUM_THREADS")) old_ = old;
    if (value) {
      setenv("OMP_NUM_THREADS", value, 1);
    } else {
      unsetenv("OMP_NUM_THREADS");
    }
  }
  ~OmpNumThreads() {
    if (old_) {
      setenv("OMP_NUM_THREADS", old_->c_str(), 1);
    } else {
      unsetenv("OMP_NUM_THREADS");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(Cpus, UsableCoresAreAtLeastOneAndNoMoreThanTheMachineHas) {
  const int n = usable_cores();
  EXPECT_GE(n, 1);
  if (std::thread::hardware_concurrency() > 0) EXPECT_LE(n, static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(Cpus, DefaultThreadsFollowOmpNumThreads) {
  {
    OmpNumThreads env(nullptr);
    EXPECT_EQ(default_threads(), usable_cores());
  }
  {
    OmpNumThreads env("");
    EXPECT_EQ(default_threads(), usable_cores());
  }
  {
    OmpNumThreads env("7");
    EXPECT_EQ(default_threads(), 7);
  }
  {
    OmpNumThreads env("4,2");  // OpenMP's nested list: the outer level
    EXPECT_EQ(default_threads(), 4);
  }
}

TEST(Cpus, BadOmpNumThreadsIsNamed) {
  for (const char* bad : {"0", "-1", "two", "3x", " 3", "99999999"}) {
    OmpNumThreads env(bad);
    try {
      default_threads();
      ADD_FAILURE() << "accepted OMP_NUM_THREADS=" << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("OMP_NUM_THREADS='" + std::string(bad) + "'"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace fhist
