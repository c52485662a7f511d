// fhist: hyperparameter and architecture search with feature-history performance estimation.
#include <fmt/format.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "core/errors.hpp"
#include "exec/mpi.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fhist — performance estimation via feature histories (Cao, Wang & Kitani) for HPO and NAS"};
  app.set_version_flag("--version", std::string("fhist ") + FHIST_VERSION);
  app.require_subcommand(1);
  fhist::cli::register_train(app);
  fhist::cli::register_estimate(app);
  fhist::cli::register_search(app);
  fhist::cli::register_model_info(app);
  fhist::cli::register_report(app);
  fhist::cli::register_table(app);
  fhist::cli::register_data(app);
  // Prints the error (naming the MPI rank under mpirun) and returns the exit code; under mpirun it ends every rank
  // instead, so none waits forever for this one.
  auto fail = [&app](int code, const std::string& message) {
    if (!message.empty()) {
      fmt::print(stderr, "{}{}: error: {}\n", fhist::cli::error_prefix(app), fhist::exec::mpi_rank_note(), message);
    }
    fhist::exec::abort_mpi_job(code);
    return code;
  };
  try {
    const auto unknown = fhist::cli::unknown_command(app, argc, argv);
    if (!unknown.empty()) {
      fmt::print(stderr, "fhist: error: {}\n", unknown);
      return fhist::cli::kExitUsage;
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fhist::cli::report_parse_error(app, e);
  } catch (const fhist::cli::Interrupted& e) {
    return fail(128 + e.signal, "");
  } catch (const fhist::InputError& e) {
    return fail(fhist::cli::kExitUsage, e.what());
  } catch (const fhist::Error& e) {
    return fail(fhist::cli::kExitFailure, e.what());
  } catch (const c10::Error& e) {
    return fail(fhist::cli::kExitFailure, std::string("internal error in LibTorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(fhist::cli::kExitFailure, e.what());
  }
  return 0;
}
