#include "core/fs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"

namespace fhist {

std::string temp_path_for(const std::string& path) {
  return fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
}

void commit_file(const std::string& tmp_path, const std::string& path) {
  std::error_code ec;
  const int fd = ::open(tmp_path.c_str(), O_RDONLY);
  if (fd >= 0) {
    // A failed fsync means the data may never reach the disk: keep the old file rather than a doubtful new one.
    const int synced = ::fsync(fd);
    const int why = errno;
    ::close(fd);
    if (synced != 0 && why != EINVAL) {
      std::filesystem::remove(tmp_path, ec);
      throw EnvironmentError(fmt::format("{}: cannot flush to disk ({}); the previous file is intact", path,
                                         std::strerror(why)));
    }
  }
  std::filesystem::rename(tmp_path, path, ec);
  if (ec) {
    std::filesystem::remove(tmp_path, ec);
    throw EnvironmentError(fmt::format("{}: cannot replace file: {}", path, ec.message()));
  }
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::string tmp = temp_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw EnvironmentError(fmt::format("{}: cannot write ({})", tmp, std::strerror(errno)));
    write(out);
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw EnvironmentError(fmt::format("{}: write failed (disk full?); the previous file is intact", path));
    }
  }
  commit_file(tmp, path);
}

}  // namespace fhist
