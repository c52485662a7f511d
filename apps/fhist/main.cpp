// fhist: hyperparameter and architecture search with feature-history performance estimation.
#include <fmt/format.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "core/errors.hpp"

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
    return 128 + e.signal;
  } catch (const fhist::InputError& e) {
    fmt::print(stderr, "{}: error: {}\n", fhist::cli::error_prefix(app), e.what());
    return fhist::cli::kExitUsage;
  } catch (const fhist::Error& e) {
    fmt::print(stderr, "{}: error: {}\n", fhist::cli::error_prefix(app), e.what());
    return fhist::cli::kExitFailure;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "{}: internal error in LibTorch: {}\n", fhist::cli::error_prefix(app),
               e.what_without_backtrace());
    return fhist::cli::kExitFailure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", fhist::cli::error_prefix(app), e.what());
    return fhist::cli::kExitFailure;
  }
  return 0;
}
