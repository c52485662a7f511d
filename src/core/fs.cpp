#include "core/fs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"

namespace fhist {

std::string temp_path_for(const std::string& path) {
  return fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
}

int create_temp_file(const std::string& tmp_path) {
  ::unlink(tmp_path.c_str());  // removes a symlink itself, not its target
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw EnvironmentError(fmt::format("{}: cannot create ({})", tmp_path, std::strerror(errno)));
  return fd;
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
  // Composed in memory (these are small files), then written through a descriptor that create_temp_file opened.
  std::ostringstream text;
  write(text);
  const std::string bytes = text.str();
  const std::string tmp = temp_path_for(path);
  const int fd = create_temp_file(tmp);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const int why = errno;
  ::close(fd);
  if (done != bytes.size()) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw EnvironmentError(fmt::format("{}: write failed ({}; disk full?); the previous file is intact", path,
                                       std::strerror(why)));
  }
  commit_file(tmp, path);
}

}  // namespace fhist
