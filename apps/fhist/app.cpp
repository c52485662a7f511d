// The program's main, shared by the launcher (the commands that need no LibTorch) and LibTorch's part (every command).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include <algorithm>

#include "commands.hpp"
#include "core/errors.hpp"
#include "exec/mpi.hpp"

namespace fhist::cli {

const std::vector<std::string>& launcher_commands() {
  static const std::vector<std::string> names = {"plan", "search", "report", "export",
                                                 "rank", "table",  "replay", "space"};
  return names;
}

void register_launcher_commands(CLI::App& app) {
  register_search(app);
  register_report(app);
  register_table(app);
  register_space(app);
}

int run_program(int argc, char** argv, const std::vector<Registrar>& commands,
                const std::function<std::string(const std::exception&)>& describe) {
  CLI::App app{"fhist — performance estimation via feature histories (Cao, Wang & Kitani) for HPO and NAS"};
  app.set_version_flag("--version", std::string("fhist ") + FHIST_VERSION);
  app.require_subcommand(1);
  for (const auto reg : commands) reg(app);
  // Prints the error (naming the MPI rank under mpirun) and returns the exit code; under mpirun it ends every rank
  // instead, so none waits forever for this one.
  auto fail = [&app](int code, const std::string& message) {
    if (!message.empty()) {
      fmt::print(stderr, "{}{}: error: {}\n", error_prefix(app), exec::mpi_rank_note(), message);
    }
    exec::abort_mpi_job(code);
    return code;
  };
  try {
    const auto unknown = unknown_command(app, argc, argv);
    if (!unknown.empty()) {
      fmt::print(stderr, "fhist: error: {}\n", unknown);
      return kExitUsage;
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e);
  } catch (const Interrupted& e) {
    return fail(128 + e.signal, "");
  } catch (const InputError& e) {
    return fail(kExitUsage, e.what());
  } catch (const Error& e) {
    return fail(kExitFailure, e.what());
  } catch (const std::exception& e) {
    return fail(kExitFailure, describe ? describe(e) : std::string(e.what()));
  }
  return 0;
}

}  // namespace fhist::cli
