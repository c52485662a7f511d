#pragma once
// In-memory image classification datasets.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fhist::data {

struct Dataset {
  std::string name;            // e.g. "fashion-mnist"
  torch::Tensor images;        // uint8 [N, C, H, W]
  torch::Tensor labels;        // int64 [N], in [0, num_classes)
  std::int64_t num_classes = 0;
  std::vector<float> mean;     // per channel, on the [0, 1] scale
  std::vector<float> std;

  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  std::int64_t channels() const { return images.size(1); }
  std::int64_t height() const { return images.size(2); }
  std::int64_t width() const { return images.size(3); }
};

struct TrainTest {
  Dataset train;
  Dataset test;
};

// Parses a dataset spec and loads it:
//   fashion-mnist               /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)
//   fashion-mnist:DIR, mnist:DIR  the four original IDX files (raw or .gz) in DIR
//   cifar10:DIR                 data_batch_{1..5}.bin + test_batch.bin (DIR or DIR/cifar-10-batches-bin)
//   cifar100:DIR                train.bin + test.bin (DIR or DIR/cifar-100-binary)
// Throws InputError for an unknown spec, DataError for missing or corrupt files.
TrainTest load_dataset(const std::string& spec);

// Known dataset names, for help texts.
std::vector<std::string> dataset_names();

// The rows `indices` (int64) of `ds`, as a new dataset.
Dataset subset(const Dataset& ds, const torch::Tensor& indices);

struct TrainVal {
  Dataset train;
  Dataset val;
};

// Seeded split of a training set into disjoint train / validation parts of the given sizes (the official test set
// stays separate). Throws InputError if a size is not positive or train_size + val_size exceeds the set.
TrainVal split_train_val(const Dataset& ds, std::int64_t train_size, std::int64_t val_size, std::uint64_t seed);

// Both sets together (train first), e.g. for a final retrain on train + validation.
Dataset concat(const Dataset& a, const Dataset& b);

}  // namespace fhist::data
