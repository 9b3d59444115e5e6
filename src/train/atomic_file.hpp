// Crash-safe file replacement: write a temp file beside the target, fsync, rename over it, fsync the directory.
#pragma once

#include <functional>
#include <string>

namespace sq::train {

// Calls `write(fd)` to fill a temp file created in `path`'s directory, then makes it `path` atomically. On any
// failure the temp file is removed, `path` keeps its previous contents, and sq::Error names the file and errno.
// `write` must write every byte (see write_all) or throw.
void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write);

// Writes all `bytes` to `fd`, retrying short writes and EINTR; throws sq::Error naming `path` on failure.
void write_all(int fd, const void* data, std::size_t bytes, const std::string& path);

}  // namespace sq::train
