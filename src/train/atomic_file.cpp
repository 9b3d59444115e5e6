// Crash-safe file replacement (POSIX): mkstemp in the target's directory, fsync, rename, fsync of the directory.
#include "train/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sq/core/error.hpp"

namespace sq::train {
namespace {

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

void write_all(int fd, const void* data, std::size_t bytes, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    SQ_CHECK(n > 0, "cannot write " << path << ": " << errno_text() << " (disk full or read-only?)");
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void write_file_atomically(const std::string& path, const std::function<void(int fd)>& write) {
  SQ_CHECK(!path.empty(), "empty output path");
  const std::string dir = directory_of(path);
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  SQ_CHECK(fd >= 0, "cannot create a temp file beside " << path << ": " << errno_text() << " (does directory " << dir
                                                        << " exist and is it writable?)");
  const std::string tmp_path(name.data());
  try {
    write(fd);
    SQ_CHECK(::fchmod(fd, 0644) == 0, "cannot set permissions of " << tmp_path << ": " << errno_text());
    SQ_CHECK(::fsync(fd) == 0, "cannot fsync " << tmp_path << ": " << errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp_path.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp_path.c_str());
    SQ_FAIL("cannot close " << tmp_path << ": " << why);
  }
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp_path.c_str());
    SQ_FAIL("cannot rename " << tmp_path << " to " << path << ": " << why);
  }
  // The rename is durable only once the directory entry is on disk.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  SQ_CHECK(dir_fd >= 0, "cannot open directory " << dir << " to fsync it: " << errno_text());
  const int rc = ::fsync(dir_fd);
  const std::string why = rc != 0 ? errno_text() : "";
  ::close(dir_fd);
  SQ_CHECK(rc == 0, "cannot fsync directory " << dir << ": " << why);
}

}  // namespace sq::train
