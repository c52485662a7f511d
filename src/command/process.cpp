#include "command/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "core/errors.hpp"

extern char** environ;  // NOLINT: POSIX's own global, read once per spawn

namespace fhist::command {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxLine = 1 << 20;  // a longer line without a newline is passed on in pieces

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (pipe2(fd, O_CLOEXEC) != 0) throw EnvironmentError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void close_end(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

// Splits what a pipe delivers into lines.
struct LineReader {
  std::string buf;
  bool open = true;
  template <class F>
  void feed(const char* data, std::size_t n, F&& emit) {
    buf.append(data, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      emit(buf.substr(start, nl - start));
    }
    buf.erase(0, start);
    if (buf.size() > kMaxLine) {
      emit(buf);
      buf.clear();
    }
  }
  template <class F>
  void finish(F&& emit) {
    if (!buf.empty()) emit(buf);
    buf.clear();
    open = false;
  }
};

}  // namespace

ProcessResult run_process(const ProcessOptions& options, const std::function<LineAction(const std::string&)>& on_stdout,
                          const std::function<void(const std::string&)>& on_stderr,
                          const std::function<bool()>& should_stop, double timeout_seconds, double grace_seconds) {
  // The environment: this process's, with options.env added or replacing.
  std::vector<std::string> env_text;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos && options.env.count(kv.substr(0, eq)) > 0) continue;
    env_text.push_back(kv);
  }
  for (const auto& [k, v] : options.env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_text) envp.push_back(s.data());
  envp.push_back(nullptr);

  Pipe out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A group of its own: a stop reaches the script's own children (data loader workers) too, and the terminal's
  // Ctrl-C reaches fhist only, which then stops its jobs in order.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, defaults;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = options.command;
  std::array<char*, 4> argv = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw EnvironmentError(fmt::format("cannot start /bin/sh -c '{}': {}", options.command, std::strerror(rc)));
  out.close_end(1);
  err.close_end(1);

  ProcessResult result;
  LineReader out_lines, err_lines;
  bool stop = false;
  auto emit_out = [&](const std::string& line) {
    if (!stop && on_stdout(line) == LineAction::kStop) stop = true;
  };
  auto emit_err = [&](const std::string& line) { on_stderr(line); };
  const auto t0 = Clock::now();
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  int wstatus = 0;
  bool reaped = false;
  std::optional<Clock::time_point> exited_at, term_sent;
  std::array<char, 65536> chunk{};
  while (true) {
    if (!stop && should_stop && should_stop()) stop = true;
    if (!stop && timeout_seconds > 0 && since(t0) > timeout_seconds) stop = result.timed_out = true;
    if (stop && !term_sent && !reaped) {
      kill(-pid, SIGTERM);
      term_sent = Clock::now();
    }
    if (term_sent && !reaped && since(*term_sent) > grace_seconds) kill(-pid, SIGKILL);
    if (!reaped && waitpid(pid, &wstatus, WNOHANG) == pid) {
      reaped = true;
      exited_at = Clock::now();
    }
    const bool pipes_open = out_lines.open || err_lines.open;
    if (reaped && !pipes_open) break;
    // The script exited but something it started still holds the pipes: a second to drain, then the group goes.
    if (exited_at && since(*exited_at) > 1.0) {
      kill(-pid, SIGKILL);
      break;
    }
    if (!pipes_open) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    std::array<pollfd, 2> fds = {pollfd{out_lines.open ? out.fd[0] : -1, POLLIN, 0},
                                 pollfd{err_lines.open ? err.fd[0] : -1, POLLIN, 0}};
    const int n = poll(fds.data(), fds.size(), 100);
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      LineReader& lr = i == 0 ? out_lines : err_lines;
      const ssize_t got = read(fds[i].fd, chunk.data(), chunk.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        if (i == 0) lr.finish(emit_out);
        else lr.finish(emit_err);
      } else if (i == 0) {
        lr.feed(chunk.data(), static_cast<std::size_t>(got), emit_out);
      } else {
        lr.feed(chunk.data(), static_cast<std::size_t>(got), emit_err);
      }
    }
  }
  if (out_lines.open) out_lines.finish(emit_out);
  if (err_lines.open) err_lines.finish(emit_err);
  result.stopped = stop;
  if (WIFEXITED(wstatus)) {
    result.exited = true;
    result.status = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.signal = WTERMSIG(wstatus);
  }
  return result;
}

std::string describe(const ProcessResult& r) {
  // A shell reports a child killed by signal N as status 128 + N.
  if (r.exited && r.status > 128 && r.status < 128 + 65) {
    return fmt::format("exit status {} (signal {}: {})", r.status, r.status - 128, strsignal(r.status - 128));
  }
  if (r.exited) return fmt::format("exit status {}", r.status);
  return fmt::format("killed by signal {} ({})", r.signal, strsignal(r.signal));
}

}  // namespace fhist::command
