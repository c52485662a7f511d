// The device rules of a study on a host without a GPU: the count and the error messages are what LibTorch reports
// on a GPU host (C10_CUDA_CHECK, CUDNN_CHECK, TORCH_CUDABLAS_CHECK, the caching allocator).
#include "study/devices.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.hpp"

namespace fhist::study {
namespace {

std::string refusal(const std::string& devices, int count, bool resuming) {
  try {
    check_device_indices(devices, count, resuming, "runs/a.db");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Devices, AnIndexThisHostLacksIsRefusedBeforeAnyTrial) {
  EXPECT_EQ(refusal("cuda:0,cuda:1", 2, false), "");
  EXPECT_EQ(refusal("cuda", 1, true), "");
  EXPECT_EQ(refusal("cpu", 0, true), "");
  const auto fresh = refusal("cuda:1", 1, false);
  EXPECT_NE(fresh.find("--device cuda:1: this host has 1 CUDA device (cuda:0) (use --device cuda:0)"),
            std::string::npos)
      << fresh;
  // A journal written on a 4-GPU host, resumed on a 2-GPU one: say which journal, what this host has, and the way on.
  const auto resumed = refusal("cuda:0,cuda:3", 2, true);
  EXPECT_NE(resumed.find("runs/a.db ran on --device cuda:0,cuda:3"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("2 CUDA devices (cuda:0..cuda:1)"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("resume with --device cuda:0"), std::string::npos) << resumed;
  EXPECT_NE(refusal("cuda:x", 2, false).find("'cuda:x' is not a device"), std::string::npos);
  EXPECT_NE(refusal("cuda:99999999", 2, false).find("is not a device"), std::string::npos);
}

TEST(Devices, TheDeviceFailingIsToldFromTheConfigurationFailing) {
  // The device or its runtime: the search stops, a resume reruns the job.
  EXPECT_TRUE(is_device_fault("CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be "
                              "asynchronously reported at some other API call"));
  EXPECT_TRUE(is_device_fault("CUDA error: uncorrectable ECC error encountered"));
  EXPECT_TRUE(is_device_fault("CUDA error: unspecified launch failure"));
  EXPECT_TRUE(is_device_fault("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR"));
  EXPECT_TRUE(is_device_fault("CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm( handle, opa, "
                              "opb, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc)`"));
  // The configuration on this machine: the trial is recorded failed and the search goes on.
  EXPECT_FALSE(is_device_fault("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity; "
                               "77.01 GiB already allocated)"));
  EXPECT_FALSE(is_device_fault("CUDA error: out of memory"));
  EXPECT_FALSE(is_device_fault("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"));
  EXPECT_FALSE(is_device_fault("mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)"));
  EXPECT_FALSE(is_device_fault("Given input size: (8x1x1). Calculated output size: (8x0x0). Output size is too small"));
}

}  // namespace
}  // namespace fhist::study
