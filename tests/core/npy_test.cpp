#include "core/npy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/errors.hpp"
#include "test_util.hpp"

namespace fhist {
namespace {

NpyArray make(NpyDType dt, std::vector<std::int64_t> shape) {
  NpyArray a;
  a.dtype = dt;
  a.shape = std::move(shape);
  a.data.resize(static_cast<std::size_t>(a.numel()) * npy_itemsize(dt));
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<unsigned char>(i * 7 + 3);
  return a;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Npy, RoundTripEveryDtypeAndRank) {
  testing::TempDir dir;
  for (auto dt : {NpyDType::kFloat16, NpyDType::kFloat32, NpyDType::kFloat64, NpyDType::kInt64, NpyDType::kInt32,
                  NpyDType::kUInt8, NpyDType::kInt16, NpyDType::kInt8, NpyDType::kUInt16, NpyDType::kUInt32,
                  NpyDType::kUInt64, NpyDType::kBool}) {
    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{5}, {3, 4}, {2, 3, 2}, {0, 7}}) {
      const auto a = make(dt, shape);
      write_npy(dir.str("a.npy"), a);
      const auto b = read_npy(dir.str("a.npy"));
      EXPECT_EQ(b.dtype, dt);
      EXPECT_EQ(b.shape, shape);
      EXPECT_EQ(b.data, a.data);
    }
  }
}

TEST(Npy, HeaderMatchesNumpyLayout) {
  testing::TempDir dir;
  write_npy(dir.str("a.npy"), make(NpyDType::kFloat32, {3, 4}));
  const auto bytes = slurp(dir.str("a.npy"));
  // numpy: magic, version 1.0, header padded so the data starts at a multiple of 64, '\n' last.
  ASSERT_GE(bytes.size(), 128u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(bytes[10 + header_len - 1], '\n');
  EXPECT_NE(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"), std::string::npos);
  write_npy(dir.str("b.npy"), make(NpyDType::kInt64, {6}));
  EXPECT_NE(slurp(dir.str("b.npy")).find("'shape': (6,)"), std::string::npos);
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, BadMagicNamesTheFile) {
  testing::TempDir dir;
  write_raw(dir.str("x.npy"), "PK\x03\x04 this is a zip file, not npy");
  const auto msg = error_of([&] { read_npy(dir.str("x.npy")); });
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
}

TEST(Npy, TruncatedDataReportsExpectedAndActualSize) {
  testing::TempDir dir;
  write_npy(dir.str("a.npy"), make(NpyDType::kFloat32, {10, 10}));
  auto bytes = slurp(dir.str("a.npy"));
  write_raw(dir.str("t.npy"), bytes.substr(0, bytes.size() - 13));
  const auto msg = error_of([&] { read_npy(dir.str("t.npy")); });
  EXPECT_NE(msg.find("t.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("400"), std::string::npos) << msg;  // expected bytes
  EXPECT_NE(msg.find("387"), std::string::npos) << msg;  // actual bytes
  write_raw(dir.str("h.npy"), bytes.substr(0, 40));
  EXPECT_NE(error_of([&] { read_npy(dir.str("h.npy")); }).find("header"), std::string::npos);
}

// Found by libFuzzer: a version-3 header length of 2^32 - 1 wrapped the 32-bit offset sum to 11, so the reader
// allocated 4 GiB for the header of a 35-byte file instead of calling it truncated.
TEST(Npy, HeaderLengthNear4GiBIsTruncatedNotAllocated) {
  testing::TempDir dir;
  write_raw(dir.str("w.npy"), std::string("\x93NUMPY\x03\x00\xff\xff\xff\xff", 12) + std::string(23, '\xff'));
  const auto msg = error_of([&] { read_npy(dir.str("w.npy")); });
  EXPECT_NE(msg.find("truncated NPY header"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4294967307"), std::string::npos) << msg;  // the bytes the header claims
}

// A v1 header: magic, version, 2-byte length, the dict text (padded with spaces to a multiple of 64), then the data.
std::string v1(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  const auto n = static_cast<std::uint16_t>(header.size());
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(n & 0xff) + static_cast<char>(n >> 8) + header + data;
}

TEST(Npy, HeaderParsedWithoutRecursionAndCappedAsNumpyDoes) {
  testing::TempDir dir;
  // Keys in another order, extra spaces, long padding under NumPy's 10,000-byte limit: read as written.
  write_raw(dir.str("order.npy"), v1("{'shape': ( 2 , ),  'fortran_order' : False, 'descr':'|u1', }" +
                                         std::string(8000, ' '),
                                     "\x05\x07"));
  const auto a = read_npy(dir.str("order.npy"));
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(a.data, (std::vector<unsigned char>{5, 7}));
  // A legal v1 file whose 'descr' is 40,000 characters long overflowed the stack of the regex that read it
  // (SIGSEGV); now it is refused as NumPy refuses it.
  write_raw(dir.str("long.npy"), v1("{'descr': '" + std::string(40000, 'x') + "', 'fortran_order': False, 'shape': (1,), }", "\x00"));
  const auto msg = error_of([&] { read_npy(dir.str("long.npy")); });
  EXPECT_NE(msg.find("NPY header of 40"), std::string::npos) << msg;
  EXPECT_NE(msg.find("NumPy reads at most 10000"), std::string::npos) << msg;
  write_raw(dir.str("open.npy"), v1("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)", "\x00\x00\x00\x00"));
  EXPECT_NE(error_of([&] { read_npy(dir.str("open.npy")); }).find("unsupported NPY dtype"), std::string::npos);
  write_raw(dir.str("noshape.npy"), v1("{'descr': '<f4', 'fortran_order': False, 'shape': 3}", "\x00\x00\x00\x00"));
  EXPECT_NE(error_of([&] { read_npy(dir.str("noshape.npy")); }).find("is not a tuple"), std::string::npos);
}

TEST(Npy, RejectsUnsupportedDtypeAndFortranOrder) {
  testing::TempDir dir;
  write_npy(dir.str("a.npy"), make(NpyDType::kFloat32, {2, 2}));
  auto bytes = slurp(dir.str("a.npy"));
  auto big = bytes;
  big.replace(big.find("<f4"), 3, ">f4");
  write_raw(dir.str("big.npy"), big);
  EXPECT_NE(error_of([&] { read_npy(dir.str("big.npy")); }).find(">f4"), std::string::npos);
  auto fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_raw(dir.str("f.npy"), fortran);
  EXPECT_NE(error_of([&] { read_npy(dir.str("f.npy")); }).find("Fortran"), std::string::npos);
  EXPECT_NE(error_of([&] { read_npy(dir.str("missing.npy")); }).find("missing.npy"), std::string::npos);
}

}  // namespace
}  // namespace fhist
