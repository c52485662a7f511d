#pragma once
// How many intra-op threads a process should train with when the user does not say.

namespace fhist {

// The CPUs this process may run on: its affinity mask (what `nproc` counts; a batch system's cgroup or
// `taskset` narrows it), not every core of the machine. At least 1.
int usable_cores();

// The default of --threads: OMP_NUM_THREADS when set (its first value: OpenMP allows "4,2"), as LibTorch and
// PyTorch take it, else usable_cores(). Two trainings whose threads add up to more than the cores take several
// times as long as one after the other (OpenMP's workers wait on each other), so a batch system's setting wins.
// InputError naming the variable for a value that is not a whole number >= 1.
int default_threads();

}  // namespace fhist
