// Hazard reports: where (file:line), who (kernel, block, thread) and what a thread waits at.
#include <cstdio>
#include <cstring>

#include "runtime/internal.hpp"

namespace sq::emu::detail {

namespace {
std::string short_path(const char* file) {
  if (file == nullptr) return "?";
  const std::string s(file);
  const std::size_t last = s.rfind('/');
  if (last == std::string::npos || last == 0) return s;
  const std::size_t before = s.rfind('/', last - 1);
  return before == std::string::npos ? s : s.substr(before + 1);
}

}  // namespace

std::string where(const Site& site) {
  return short_path(site.file) + ":" + std::to_string(site.line);
}

std::string coords(uint3 v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

std::string who(const BlockRun& b, const Fiber& f) {
  return "kernel " + std::string(b.kernel) + " block " + coords(b.block_idx) + " thread " + coords(f.idx);
}

const char* kind_name(WarpKind k) {
  switch (k) {
    case WarpKind::sync: return "__syncwarp";
    case WarpKind::shfl_idx: return "__shfl_sync";
    case WarpKind::shfl_up: return "__shfl_up_sync";
    case WarpKind::shfl_down: return "__shfl_down_sync";
    case WarpKind::shfl_xor: return "__shfl_xor_sync";
    case WarpKind::ballot: return "__ballot_sync";
    case WarpKind::all: return "__all_sync";
    case WarpKind::any: return "__any_sync";
  }
  return "?";
}

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string describe_wait(const BlockRun& b, const Fiber& f) {
  switch (f.state) {
    case State::ready: return "runnable";
    case State::exited: return "exited";
    case State::barrier:
      return "waits at the __syncthreads at " + where(f.site) + " (barrier #" + std::to_string(b.barriers + 1) + ")";
    case State::warp:
      return std::string("waits in ") + kind_name(f.post.kind) + " at " + where(f.site) + " with mask " +
             hex(f.post.mask);
  }
  return "?";
}

bool same_site(const Site& a, const Site& b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

}  // namespace sq::emu::detail
