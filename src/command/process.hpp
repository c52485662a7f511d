#pragma once
// A child process run through /bin/sh -c, in a process group of its own, with its standard output and error read
// line by line. The command objective runs a user's training script with it. No Torch.
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>

namespace fhist::command {

struct ProcessOptions {
  std::string command;                      // run as /bin/sh -c COMMAND
  std::map<std::string, std::string> env;   // added to (or replacing in) this process's environment
  std::string cwd;                          // empty: this process's
};

// What the line callbacks say.
enum class LineAction { kContinue, kStop };

struct ProcessResult {
  bool exited = false;    // true: it exited with `status`; false: a signal ended it (`signal`)
  int status = 0;
  int signal = 0;
  bool stopped = false;   // on_stdout or should_stop asked to stop it, or the timeout passed: it was killed
  bool timed_out = false;
};

// Runs `options.command` and feeds its output to the callbacks, a line at a time (without the newline; a last line
// without one too), from the calling thread. `should_stop` is asked at least every 100 ms; when it (or on_stdout)
// says stop, or `timeout_seconds` (> 0) pass, the whole process group gets SIGTERM, then SIGKILL after
// `grace_seconds`. Throws EnvironmentError when the process cannot be started (no /bin/sh, no file descriptors).
ProcessResult run_process(const ProcessOptions& options, const std::function<LineAction(const std::string&)>& on_stdout,
                          const std::function<void(const std::string&)>& on_stderr,
                          const std::function<bool()>& should_stop, double timeout_seconds, double grace_seconds = 5.0);

// "exit status 3", "killed by signal 9 (Killed)".
std::string describe(const ProcessResult& r);

}  // namespace fhist::command
