// fhist: hyperparameter and architecture search with feature-history performance estimation.
#include <fmt/format.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "commands.hpp"
#include "core/errors.hpp"
#include "exec/mpi.hpp"

namespace {

// glibc's defaults hand LibTorch's large activation buffers back to the kernel after each use (mmap above a moving
// threshold, and trimming the heap's top), so every batch page-faults its memory in again: on 2 CPU cores that was
// 40-60% of the time of a small network's training (ResNet-18 x0.25, 1000 images, 3 epochs: 10.5 s -> 5.7 s; the
// 4-epoch CNN of e2e.table: 5.0 s -> 1.6 s; peak memory unchanged: 764 -> 758-766 MB, 351 -> 350 MB). Keep freed memory in the process instead.
void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);   // glibc's largest: buffers below it come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // give the heap's free top back only past 1 GiB
  mallopt(M_TOP_PAD, 256 << 20);         // and grow it in large steps
#endif
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_memory();
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
