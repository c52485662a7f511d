#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and CI output stay clean).
#include <chrono>
#include <cstdint>
#include <string>

namespace fhist {

class ProgressBar {
 public:
  // `enabled` defaults to isatty(stderr).
  ProgressBar(std::int64_t total, std::string label);
  ProgressBar(std::int64_t total, std::string label, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::int64_t done, const std::string& suffix = "");
  void finish();  // erases the bar so the next line prints cleanly

  static bool stderr_is_terminal();

 private:
  std::int64_t total_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace fhist
