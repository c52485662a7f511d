#pragma once
// MPI across machines (Open MPI from Debian; optional at build time, FHIST_ENABLE_MPI): `mpirun -np N+1 fhist search
// ... --executor mpi`. Rank 0 runs the scheduler, the sampler and the journal (its only writer); ranks 1..N train
// one job at a time and send each epoch's row and the outcome back. Checkpoints live beside the journal, which must
// be on a file system every rank sees, so a promoted trial continues on any rank.
// Fault model: under standard MPI a rank that dies ends the whole job, and so does an error on any rank (it prints
// its message, then MPI_Abort: docs/decisions/0008); the journal then holds everything finished, and `--resume`
// (under mpirun, with any number of ranks) reruns the jobs that were running from their last checkpoint.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "exec/executor.hpp"

namespace fhist::exec {

// False when fhist was built without MPI: the functions below then throw EnvironmentError saying so.
bool built_with_mpi();

// A command that ends with an error under mpirun takes the whole job down (MPI_Abort with `exit_code`): no rank is
// left waiting for one that is gone (rank 0 for a worker that could not build its objective, workers for a rank 0
// that refused its journal). Call it after printing the error. Nothing happens outside mpirun or after MPI_Finalize.
void abort_mpi_job(int exit_code);
// " (MPI rank R of N)" under mpirun, else "": errors say which rank they come from.
std::string mpi_rank_note();

// MPI_Init_thread / MPI_Finalize around a command. Leaving by an exception does not finalize: the error is printed,
// then abort_mpi_job ends every rank.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  // The worker ranks (size - 1). InputError for a single rank: there is no one to train.
  int workers() const;

 private:
  int rank_ = 0, size_ = 1;
};

// Rank 0: an executor whose workers are ranks 1..size-1 (InputError for a single rank). Each worker first receives
// `hello` (what it needs to build its objective). Epoch rows the workers send are written to `journal` as they come.
// `interrupted` (thread-safe; may be empty) is asked while wait_any waits: once true, the workers' jobs are cancelled
// (a SIGTERM that reached rank 0 alone, as a batch system sends it, stops the jobs on every rank).
std::unique_ptr<Executor> make_mpi_executor(EpochSink& journal, const nlohmann::json& hello,
                                            std::function<bool()> interrupted = {});

// Ranks 1..N: receives hello, builds the objective with `make` (given a sink that sends epochs to rank 0 and a
// predicate that turns true when rank 0 cancels the running job), and runs every job it is sent until rank 0 stops
// it. Returns then.
// A worker rank's index among the workers on its own node, which picks its device from the --device list: the
// node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID: `local_rank`, -1 when none is set),
// less one on rank 0's node (rank 0 trains nothing and is the first rank there under Open MPI's mappings). Without a
// local rank: world rank - 1 (one node). So `--map-by node` gives each node's workers cuda:0, cuda:1, ... in turn.
int node_worker_index(int world_rank, int local_rank, bool on_rank0_node);
// The intra-op threads of one job on a worker rank: the search's --threads shared by the workers on this node, as
// the thread executor shares them among its workers (at least 1). `local_size`: the ranks on this node
// (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS, SLURM_NTASKS_PER_NODE; -1 when none is set: one node, `world_size`).
// threads <= 0 (not set) gives 0: the worker keeps its process's setting.
int node_job_threads(int threads, int world_size, int local_size, bool on_rank0_node);

using MakeWorkerObjective = std::function<std::unique_ptr<Objective>(
    const nlohmann::json& hello, EpochSink& sink, std::function<bool()> cancelled)>;
void serve_mpi_worker(const MakeWorkerObjective& make);

}  // namespace fhist::exec
