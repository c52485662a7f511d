// fhist built without MPI (FHIST_ENABLE_MPI off, or no MPI found): --executor mpi says how to get it.
#include "core/errors.hpp"
#include "exec/mpi.hpp"

namespace fhist::exec {

namespace {
[[noreturn]] void missing() {
  throw EnvironmentError("this fhist was built without MPI: install Open MPI (apt-get install libopenmpi-dev "
                         "openmpi-bin; scripts/install-deps.sh does) and rebuild, or use --executor thread");
}
}  // namespace

bool built_with_mpi() { return false; }
void abort_mpi_job(int) {}
std::string mpi_rank_note() { return {}; }
MpiSession::MpiSession() { missing(); }
MpiSession::~MpiSession() = default;
int MpiSession::workers() const { missing(); }
std::unique_ptr<Executor> make_mpi_executor(EpochSink&, const nlohmann::json&, std::function<bool()>) { missing(); }
void serve_mpi_worker(const MakeWorkerObjective&) { missing(); }

}  // namespace fhist::exec
