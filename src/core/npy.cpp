#include "core/npy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>

#include "core/errors.hpp"
#include "core/fs.hpp"

namespace fhist {

std::size_t npy_itemsize(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat16: return 2;
    case NpyDType::kFloat32: return 4;
    case NpyDType::kFloat64: return 8;
    case NpyDType::kInt64: return 8;
    case NpyDType::kInt32: return 4;
    case NpyDType::kUInt8: return 1;
    case NpyDType::kInt16: return 2;
    case NpyDType::kInt8: return 1;
    case NpyDType::kUInt16: return 2;
    case NpyDType::kUInt32: return 4;
    case NpyDType::kUInt64: return 8;
    case NpyDType::kBool: return 1;
  }
  return 0;
}

const char* npy_descr(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::kFloat16: return "<f2";
    case NpyDType::kFloat32: return "<f4";
    case NpyDType::kFloat64: return "<f8";
    case NpyDType::kInt64: return "<i8";
    case NpyDType::kInt32: return "<i4";
    case NpyDType::kUInt8: return "|u1";
    case NpyDType::kInt16: return "<i2";
    case NpyDType::kInt8: return "|i1";
    case NpyDType::kUInt16: return "<u2";
    case NpyDType::kUInt32: return "<u4";
    case NpyDType::kUInt64: return "<u8";
    case NpyDType::kBool: return "|b1";
  }
  return "";
}

std::int64_t NpyArray::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

namespace {

NpyDType parse_descr(const std::string& descr, const std::string& path) {
  for (auto d : {NpyDType::kFloat16, NpyDType::kFloat32, NpyDType::kFloat64, NpyDType::kInt64, NpyDType::kInt32,
                 NpyDType::kUInt8, NpyDType::kInt16, NpyDType::kInt8, NpyDType::kUInt16, NpyDType::kUInt32,
                 NpyDType::kUInt64, NpyDType::kBool}) {
    if (descr == npy_descr(d)) return d;
  }
  // One-byte types have no byte order; NumPy writes '|', other writers '<'.
  if (descr == "<u1") return NpyDType::kUInt8;
  if (descr == "<i1") return NpyDType::kInt8;
  if (descr == "<b1") return NpyDType::kBool;
  throw DataError(fmt::format("{}: unsupported NPY dtype '{}' (expected one of <f2 <f4 <f8, <i8 <i4 <i2 |i1, <u8 <u4 "
                              "<u2 |u1, |b1, little-endian)",
                              path, descr));
}

constexpr std::uint32_t kMaxHeaderBytes = 10000;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\n") - b + 1);
}

// The text of `key`'s value in the header's dict literal ({'descr': '<f4', 'fortran_order': False, 'shape': (2,)}):
// a quoted string, a parenthesised tuple or a bare word, found by scanning (a regex over a long header recursed
// until the stack overflowed: issue 24).
std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) throw DataError(fmt::format("{}: NPY header has no '{}'", path, key));
  std::size_t i = at + key.size() + 2;
  while (i < header.size() && (header[i] == ' ' || header[i] == ':')) ++i;
  if (i >= header.size()) throw DataError(fmt::format("{}: NPY header's '{}' has no value", path, key));
  std::size_t end = i;
  if (header[i] == '\'') {
    end = header.find('\'', i + 1);
  } else if (header[i] == '(') {
    end = header.find(')', i + 1);
  } else {
    end = header.find_first_of(",} ", i);
    if (end == std::string::npos) end = header.size();
    return header.substr(i, end - i);
  }
  if (end == std::string::npos) throw DataError(fmt::format("{}: NPY header's '{}' is not closed", path, key));
  return header.substr(i, end - i + 1);
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open NPY file", path));
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::int64_t>(in.tellg());
  in.seekg(0);

  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() != 8 || std::string(magic, 6) != "\x93NUMPY") {
    throw DataError(fmt::format("{}: not an NPY file (expected magic \\x93NUMPY in the first 6 bytes)", path));
  }
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint32_t header_len = 0;
  int len_bytes = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
    len_bytes = 2;
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    len_bytes = 4;
  } else {
    throw DataError(fmt::format("{}: unsupported NPY format version {} (expected 1, 2 or 3)", path, major));
  }
  // In 64 bits: 8 + len_bytes + header_len in 32 wraps for header_len near 2^32 (found by libFuzzer).
  const std::int64_t data_offset = std::int64_t{8} + len_bytes + static_cast<std::int64_t>(header_len);
  if (!in || data_offset > file_size) {
    throw DataError(fmt::format("{}: truncated NPY header (file has {} bytes, header needs {})", path, file_size,
                                data_offset));
  }
  // NumPy itself refuses headers over 10,000 bytes (np.load's max_header_size): a longer one is no array it wrote.
  if (header_len > kMaxHeaderBytes) {
    throw DataError(fmt::format("{}: NPY header of {} bytes (NumPy reads at most {}; not an array NumPy wrote)", path,
                                header_len, kMaxHeaderBytes));
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);

  NpyArray out;
  const auto descr = header_value(header, "descr", path);
  if (descr.size() < 2 || descr.front() != '\'' || descr.back() != '\'') {
    throw DataError(fmt::format("{}: NPY header's 'descr' is not a quoted dtype such as '<f4'", path));
  }
  out.dtype = parse_descr(descr.substr(1, descr.size() - 2), path);
  const auto fortran = header_value(header, "fortran_order", path);
  if (fortran != "False" && fortran != "True") {
    throw DataError(fmt::format("{}: NPY header's 'fortran_order' is '{}' (expected True or False)", path, fortran));
  }
  if (fortran == "True") {
    throw DataError(fmt::format("{}: Fortran-ordered NPY arrays are not supported (save with np.ascontiguousarray)",
                                path));
  }
  const auto shape = header_value(header, "shape", path);
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    throw DataError(fmt::format("{}: NPY header's 'shape' is not a tuple such as (2, 3)", path));
  }
  const std::string dims = shape.substr(1, shape.size() - 2);
  // "(2, 3)", "(3,)" or "()": comma-separated non-negative integers, a trailing comma allowed.
  std::vector<std::string> tokens;
  for (std::size_t begin = 0;;) {
    const auto comma = dims.find(',', begin);
    tokens.push_back(trim(dims.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin)));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (!t.empty() && t.size() <= 18 && t.find_first_not_of("0123456789") == std::string::npos) {
      out.shape.push_back(std::stoll(t));
    } else if (i + 1 != tokens.size() || !t.empty()) {
      // Only the last may be empty: "(3,)" and "()".
      throw DataError(fmt::format("{}: NPY shape ({}): expected non-negative whole numbers", path, dims));
    }
  }

  // The bytes the shape needs, refusing a shape whose byte count would overflow.
  const std::int64_t actual = file_size - data_offset;
  std::int64_t expected = static_cast<std::int64_t>(npy_itemsize(out.dtype));
  if (std::find(out.shape.begin(), out.shape.end(), 0) != out.shape.end()) {
    expected = 0;
  } else {
    for (auto d : out.shape) {
      if (expected > std::numeric_limits<std::int64_t>::max() / d) {
        throw DataError(fmt::format("{}: truncated NPY data (shape ({}) needs more than 2^63 bytes, file holds {})",
                                    path, dims, actual));
      }
      expected *= d;
    }
  }
  if (actual < expected) {
    throw DataError(fmt::format("{}: truncated NPY data (shape needs {} bytes, file holds {})", path, expected, actual));
  }
  out.data.resize(static_cast<std::size_t>(expected));
  in.read(reinterpret_cast<char*>(out.data.data()), expected);
  if (in.gcount() != expected) throw DataError(fmt::format("{}: read error", path));
  return out;
}

void write_npy(const std::string& path, const NpyArray& array) {
  const auto expected = static_cast<std::size_t>(array.numel()) * npy_itemsize(array.dtype);
  if (array.data.size() != expected) {
    throw Error(fmt::format("write_npy({}): {} data bytes for a shape that needs {}", path, array.data.size(), expected));
  }
  std::string shape;
  for (std::size_t i = 0; i < array.shape.size(); ++i) {
    if (i > 0) shape += ", ";
    shape += std::to_string(array.shape[i]);
  }
  if (array.shape.size() == 1) shape += ",";  // numpy writes (3,) for one dimension
  std::string header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", npy_descr(array.dtype), shape);
  // Version 1.0: magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending '\n'.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');

  write_file_atomically(path, [&](std::ostream& out) {
    out.write("\x93NUMPY\x01\x00", 8);
    const auto len = static_cast<std::uint16_t>(header.size());
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(len_bytes, 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(array.data.data()), static_cast<std::streamsize>(array.data.size()));
  });
}

}  // namespace fhist
