// The bad-input cases' way to run LibTorch's commands (train, estimate, evaluate, model-info, data) without paying
// LibTorch's start-up per case: it loads fhist's LibTorch part (libfhist-torch.so) once, then runs each command line
// in a forked child through that part's main, exactly what fhist's launcher hands such a command line to
// (apps/fhist/main.cpp). ~0.7 s of CPU per case became a few milliseconds: 117 cases, most of the test's cost.
// Protocol: one JSON object per line on stdin, {"args": [...], "cwd": DIR, "timeout": SECONDS}; one per line on stdout,
// {"status": "exit" | "signal" | "timeout", "code": N, "out": stdout and stderr together}.
// Usage: fhist_fork_runner LIBFHIST_TORCH
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "torch_runtime.hpp"

namespace {

[[noreturn]] void child(const nlohmann::json& job, fhist::cli::TorchRuntime& runtime, int out_fd) {
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) _exit(125);
  close(out_fd);
  if (chdir(job.at("cwd").get<std::string>().c_str()) != 0) _exit(125);
  std::vector<std::string> args = {"fhist"};
  for (const auto& a : job.at("args")) args.push_back(a.get<std::string>());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = runtime.main(static_cast<int>(args.size()), argv.data());
  std::fflush(nullptr);
  std::cout.flush();
  std::cerr.flush();
  _exit(rc);
}

nlohmann::json run(const nlohmann::json& job, fhist::cli::TorchRuntime& runtime) {
  int fds[2];
  if (pipe(fds) != 0) return {{"status", "error"}, {"code", -1}, {"out", "pipe failed"}};
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child(job, runtime, fds[1]);
  }
  close(fds[1]);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(job.value("timeout", 60.0));
  bool timed_out = false;
  char buf[65536];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const auto n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out) return {{"status", "timeout"}, {"code", 0}, {"out", out}};
  if (WIFSIGNALED(status)) return {{"status", "signal"}, {"code", WTERMSIG(status)}, {"out", out}};
  return {{"status", "exit"}, {"code", WEXITSTATUS(status)}, {"out", out}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s LIBFHIST_TORCH\n", argv[0]);
    return 2;
  }
  void* handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  auto* entry = handle ? reinterpret_cast<fhist::cli::TorchRuntime* (*)()>(dlsym(handle, "fhist_torch_runtime"))
                       : nullptr;
  if (entry == nullptr) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  auto& runtime = *entry();
  std::string line;
  while (std::getline(std::cin, line)) {
    // The replacement character keeps a message with bytes that are not UTF-8 (a bad file's name) printable.
    const auto result = run(nlohmann::json::parse(line), runtime);
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  }
  return 0;
}
