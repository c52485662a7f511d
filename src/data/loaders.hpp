#pragma once
// File-format loaders. Each names the file and the expected vs. actual size or magic when a file is bad.
#include <string>

#include "data/dataset.hpp"

namespace fhist::data {

// IDX (MNIST / Fashion-MNIST) image file (magic 2051, uint8 [N, rows, cols]) and label file (magic 2049).
// Reads `path`, or `path`.gz if only that exists; gzip is detected by content, not name.
torch::Tensor read_idx_images(const std::string& path);  // uint8 [N, 1, rows, cols]
torch::Tensor read_idx_labels(const std::string& path);  // int64 [N]

// The four IDX files of an MNIST-layout directory.
TrainTest load_idx_dir(const std::string& dir, const std::string& name);

// CIFAR binary batches: records of <label>[3072] (CIFAR-10) or <coarse><fine>[3072] (CIFAR-100).
struct CifarBatch {
  torch::Tensor images;  // uint8 [N, 3, 32, 32]
  torch::Tensor labels;  // int64 [N]
};
CifarBatch read_cifar_batch(const std::string& path, bool cifar100);

TrainTest load_cifar10_dir(const std::string& dir);
TrainTest load_cifar100_dir(const std::string& dir);

}  // namespace fhist::data
