#pragma once
// In-memory image classification datasets.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "input/input.hpp"

namespace fhist::data {

struct Dataset {
  std::string name;            // e.g. "fashion-mnist", "folder:/data/cats"
  // uint8 [N, C, H, W] (0..255), or float32 [N, C, H, W] (a user's float arrays as they are); a table of numbers is
  // float32 [N, F, 1, 1], so its per-channel normalisation is the per-feature standardisation.
  torch::Tensor images;
  torch::Tensor labels;        // int64 [N], in [0, num_classes)
  std::int64_t num_classes = 0;
  std::vector<float> mean;     // per channel, on the [0, 1] scale
  std::vector<float> std;
  bool tabular = false;        // feature rows (csv, 2-D npy): no image augmentation applies
  std::vector<std::string> classes;  // class index -> name, for a user's data (empty for the built-in sets)

  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  std::int64_t channels() const { return images.size(1); }
  std::int64_t height() const { return images.size(2); }
  std::int64_t width() const { return images.size(3); }
};

struct TrainTest {
  Dataset train;
  Dataset test;  // empty (size 0) when the data has no test split
  Dataset val;   // the data's own validation split; empty (size 0) when validation is carved from train
};

// Parses a dataset spec and loads it:
//   fashion-mnist               /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)
//   fashion-mnist:DIR, mnist:DIR  the four original IDX files (raw or .gz) in DIR
//   cifar10:DIR                 data_batch_{1..5}.bin + test_batch.bin (DIR or DIR/cifar-10-batches-bin)
//   cifar100:DIR                train.bin + test.bin (DIR or DIR/cifar-100-binary)
//   folder:DIR, npy:DIR, csv:FILE  the user's own data, read by input::load with `options`
// Throws InputError for an unknown spec or bad user data, DataError for missing or corrupt built-in files.
TrainTest load_dataset(const std::string& spec, const input::DataOptions& options = {},
                       const input::ProgressFn& progress = {});

// Known dataset names, for help texts.
std::vector<std::string> dataset_names();

// The rows `indices` (int64) of `ds`, as a new dataset.
Dataset subset(const Dataset& ds, const torch::Tensor& indices);

// `size` rows of `ds` drawn with `seed` (no repeats, kept in their order); size <= ds.size().
Dataset draw(const Dataset& ds, std::int64_t size, std::uint64_t seed);

struct TrainVal {
  Dataset train;
  Dataset val;
};

// Seeded split of a training set into disjoint train / validation parts of the given sizes (the official test set
// stays separate). Throws InputError if a size is not positive or train_size + val_size exceeds the set.
TrainVal split_train_val(const Dataset& ds, std::int64_t train_size, std::int64_t val_size, std::uint64_t seed);

struct Splits {
  Dataset train, val, test;  // test: empty when the data has none
};

// The train / validation / test sets a run uses. Sizes of 0 mean "auto": for a built-in set 8000 / 2000; for a
// user's data every example of its own train (and val) split, or, when validation is carved from train, 20% of it
// (at least one example) for validation and the rest for training. With the data's own val split, a size below the
// split's takes a seeded subset. A user's data is normalised with the per-channel (per-feature) mean and std of the
// training set this returns. Throws InputError for sizes the data cannot give.
Splits make_splits(const TrainTest& tt, std::int64_t train_size, std::int64_t val_size, std::uint64_t seed);

// Both sets together (train first), e.g. for a final retrain on train + validation.
Dataset concat(const Dataset& a, const Dataset& b);

}  // namespace fhist::data
