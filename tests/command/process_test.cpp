// The child process behind the command objective: lines in order from both streams, exit status and signals, and
// stops (timeout, a stop request, a line callback) that end the whole process group within the grace period.
#include <gtest/gtest.h>

#include <chrono>

#include "command/process.hpp"

namespace fhist::command {
namespace {

struct Run {
  std::vector<std::string> out, err;
  ProcessResult result;
  double seconds = 0.0;
};

Run run(const std::string& cmd, double timeout = 0.0, std::function<bool()> stop = {},
        std::map<std::string, std::string> env = {}, std::string stop_on = "") {
  Run r;
  ProcessOptions p;
  p.command = cmd;
  p.env = std::move(env);
  const auto t0 = std::chrono::steady_clock::now();
  r.result = run_process(
      p,
      [&](const std::string& line) {
        r.out.push_back(line);
        return !stop_on.empty() && line == stop_on ? LineAction::kStop : LineAction::kContinue;
      },
      [&](const std::string& line) { r.err.push_back(line); }, stop, timeout, 1.0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

TEST(Process, LinesFromBothStreamsAndTheExitStatus) {
  const auto r = run("echo one; echo two >&2; printf 'three\\nlast without newline'; exit 3");
  EXPECT_EQ(r.out, (std::vector<std::string>{"one", "three", "last without newline"}));
  EXPECT_EQ(r.err, (std::vector<std::string>{"two"}));
  EXPECT_TRUE(r.result.exited);
  EXPECT_EQ(r.result.status, 3);
  EXPECT_FALSE(r.result.stopped);
  EXPECT_EQ(describe(r.result), "exit status 3");
}

TEST(Process, EnvironmentIsAddedAndStdinIsEmpty) {
  const auto r = run("echo \"$FHIST_X|$HOME\"; cat; echo done", 0.0, {}, {{"FHIST_X", "a b"}});
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[0].substr(0, 4), "a b|");
  EXPECT_NE(r.out[0], "a b|");  // HOME came from this process's environment
  EXPECT_EQ(r.out[1], "done");
}

TEST(Process, CommandNotFoundIsStatus127) {
  const auto r = run("fhist-no-such-program-here --x");
  EXPECT_TRUE(r.result.exited);
  EXPECT_EQ(r.result.status, 127);
  ASSERT_FALSE(r.err.empty());
  EXPECT_NE(r.err.back().find("not found"), std::string::npos);
}

TEST(Process, TimeoutKillsTheWholeGroup) {
  // The child's own child ignores SIGTERM: SIGKILL after the grace period ends it.
  const auto r = run("echo started; (trap '' TERM; sleep 30) & sleep 30", 0.5);
  EXPECT_TRUE(r.result.timed_out);
  EXPECT_TRUE(r.result.stopped);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(r.out, (std::vector<std::string>{"started"}));
}

TEST(Process, StopRequestAndLineCallbackStopIt) {
  const auto t0 = std::chrono::steady_clock::now();
  auto stop = [&] { return std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(300); };
  const auto a = run("sleep 30", 0.0, stop);
  EXPECT_TRUE(a.result.stopped);
  EXPECT_FALSE(a.result.timed_out);
  EXPECT_FALSE(a.result.exited);
  EXPECT_EQ(a.result.signal, 15);
  EXPECT_LT(a.seconds, 10.0);
  const auto b = run("echo a; echo bad; sleep 30; echo never", 0.0, {}, {}, "bad");
  EXPECT_TRUE(b.result.stopped);
  EXPECT_EQ(b.out, (std::vector<std::string>{"a", "bad"}));
  EXPECT_LT(b.seconds, 10.0);
}

TEST(Process, AChildThatOutlivesTheScriptDoesNotHoldTheJob) {
  // The script exits; a background child keeps its stdout open: the job ends about a second later anyway.
  const auto r = run("echo out; sleep 30 & exit 0");
  EXPECT_TRUE(r.result.exited);
  EXPECT_EQ(r.result.status, 0);
  EXPECT_EQ(r.out, (std::vector<std::string>{"out"}));
  EXPECT_LT(r.seconds, 10.0);
}

}  // namespace
}  // namespace fhist::command
