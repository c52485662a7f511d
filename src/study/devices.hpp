#pragma once
// Which devices a study may use on this host, and which failures are the device's rather than the trial's. No Torch:
// the caller passes what it asked the runtime, so both rules are tested on machines without a GPU.
#include <string>

namespace fhist::study {

// Throws InputError when --device names a CUDA index this host does not have (cuda:3 with 2 GPUs). On a resume the
// message says which journal stored it and how to go on (a host with fewer GPUs used to fail every trial).
// cuda_devices: torch::cuda::device_count() on this host.
void check_device_indices(const std::string& devices, int cuda_devices, bool resuming, const std::string& journal);

// True when a LibTorch error message reports the device or its runtime failing (an illegal memory access, a launch
// failure, an ECC error, a cuDNN/cuBLAS/NCCL internal error): the search stops and a resume reruns the job. Out of
// memory and shape errors are facts about the configuration: false, and the trial is recorded failed.
bool is_device_fault(const std::string& message);

}  // namespace fhist::study
