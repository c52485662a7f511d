// Files fhist writes in folders others may share: temporary files and their commit never follow a symlink.
#include "core/fs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "test_util.hpp"

namespace fhist {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(Fs, AtomicWriteNeverFollowsASymlinkAtItsTemporaryName) {
  testing::TempDir dir;
  std::ofstream(dir.str("victim")) << "precious";
  const auto target = dir.str("settings.json");
  // Someone who guesses the temporary name (path.tmp.PID) points it at another file.
  std::filesystem::create_symlink(dir.str("victim"), temp_path_for(target));
  write_file_atomically(target, [](std::ostream& os) { os << "{\"a\": 1}\n"; });
  EXPECT_EQ(slurp(dir.str("victim")), "precious");
  EXPECT_EQ(slurp(target), "{\"a\": 1}\n");
  EXPECT_FALSE(std::filesystem::exists(temp_path_for(target)));
  // A crashed run's temporary file of the same name is replaced, not appended to.
  std::ofstream(temp_path_for(target)) << "half a file from before";
  write_file_atomically(target, [](std::ostream& os) { os << "new"; });
  EXPECT_EQ(slurp(target), "new");
}

TEST(Fs, CreateTempFileNamesWhatItCannotCreate) {
  testing::TempDir dir;
  const int fd = create_temp_file(dir.str("t.tmp"));
  EXPECT_GE(fd, 0);
  ::close(fd);
  try {
    create_temp_file(dir.str("no/such/folder/t.tmp"));
    FAIL() << "created a file in a folder that does not exist";
  } catch (const EnvironmentError& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/folder/t.tmp: cannot create"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fhist
