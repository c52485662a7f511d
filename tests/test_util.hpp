#pragma once
// Shared helpers for tests: a scratch directory removed at the end of the test; the message of an InputError.
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/errors.hpp"

namespace fhist::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fhist-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& child = "") const { return (path_ / child).string(); }

 private:
  std::filesystem::path path_;
};

// The message of the InputError `f` throws, or "<no InputError>".
inline std::string input_error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}

}  // namespace fhist::testing

// The InputError that `expr` throws must contain `text` (gtest; prints the message it got).
#define FHIST_EXPECT_INPUT_ERROR(expr, text)                                                        \
  do {                                                                                              \
    const auto fhist_msg_ = fhist::testing::input_error_message([&] { static_cast<void>(expr); }); \
    EXPECT_NE(fhist_msg_.find(text), std::string::npos) << fhist_msg_;                              \
  } while (0)
