#pragma once
// File helpers shared by every module that saves state.
#include <functional>
#include <ostream>
#include <string>

namespace fhist {

// Writes `path` through a temporary file in the same directory, flushed and renamed over the target, so a crash
// leaves either the old file or the new one, never half of one. Creates missing parent directories.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Replaces `path` with the file at `tmp_path` (same directory) atomically, after flushing it to disk.
void commit_file(const std::string& tmp_path, const std::string& path);

// A temporary name beside `path` for use with commit_file.
std::string temp_path_for(const std::string& path);

// Creates `tmp_path` for writing, a new file of our own: whatever the name held before (a crashed run's temporary
// file, or a symlink someone placed in a shared folder to make fhist overwrite another file) is unlinked, never
// followed (O_EXCL | O_NOFOLLOW). Returns the descriptor; EnvironmentError naming the file if it cannot.
int create_temp_file(const std::string& tmp_path);

}  // namespace fhist
