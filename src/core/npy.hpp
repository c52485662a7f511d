#pragma once
// NumPy .npy reader/writer (format versions 1.0-3.0, little-endian, C order). No Torch: tensors convert in
// estimate/npy_tensor.hpp. See docs/decisions/0002-npy.md for why this is hand-written.
#include <cstdint>
#include <string>
#include <vector>

namespace fhist {

// The dtypes fhist reads (little-endian); the last six are integer label types a user's y_*.npy may hold.
enum class NpyDType { kFloat16, kFloat32, kFloat64, kInt64, kInt32, kUInt8, kInt16, kInt8, kUInt16, kUInt32, kUInt64,
                      kBool };

std::size_t npy_itemsize(NpyDType dtype);
const char* npy_descr(NpyDType dtype);  // e.g. "<f4"

struct NpyArray {
  NpyDType dtype = NpyDType::kFloat32;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> data;  // prod(shape) * itemsize bytes, C order

  std::int64_t numel() const;
};

// Throws DataError naming the file and what was wrong (magic, header, dtype, Fortran order, size).
NpyArray read_npy(const std::string& path);
// Writes atomically (temporary file, then rename). Throws DataError if the file cannot be written.
void write_npy(const std::string& path, const NpyArray& array);

}  // namespace fhist
