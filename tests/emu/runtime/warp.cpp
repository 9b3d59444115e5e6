// Warp-synchronous operations (__syncwarp, shuffles, votes): every lane named in the mask must reach one of the same
// kind with the same mask; the last lane to arrive computes every lane's result and releases them. Masks naming
// the caller's absence, exited, missing or unnamed source lanes are hazards.
#include "runtime/internal.hpp"

namespace sq::emu::detail {

unsigned active_mask() {
  Fiber* f = running("__activemask");
  const BlockRun& b = *t_block;
  const int base = f->linear / 32 * 32;
  unsigned mask = 0;
  for (int lane = 0; lane < 32 && base + lane < b.threads; ++lane) {
    if ((*b.fibers)[static_cast<std::size_t>(base + lane)].state != State::exited) mask |= 1u << lane;
  }
  return mask;
}

std::uint64_t warp_op(Site site, WarpKind kind, unsigned mask, std::uint64_t value, int arg, int width) {
  Fiber* f = running(kind_name(kind));
  BlockRun& b = *t_block;
  std::vector<Fiber>& fibers = *b.fibers;
  const int lane = f->linear % 32, base = f->linear / 32 * 32;
  // Built only for a report: this is the emulator's hottest path.
  const auto op = [&] { return std::string(kind_name(kind)) + " at " + where(site) + " with mask " + hex(mask); };
  if (!((mask >> lane) & 1u)) fail_in_fiber(f, who(b, *f) + ": " + op() + " does not name the calling lane");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
    fail_in_fiber(f, who(b, *f) + ": " + op() + ": width " + std::to_string(width) + " is not a power of two <= 32");
  }
  bool complete = true;
  for (int l = 0; l < 32; ++l) {
    if (!((mask >> l) & 1u) || l == lane) continue;
    if (base + l >= b.threads) {
      fail_in_fiber(f, who(b, *f) + ": " + op() + " names lane " + std::to_string(l) + ", which does not exist (" +
                           std::to_string(b.threads) + " threads per block)");
    }
    const Fiber& other = fibers[static_cast<std::size_t>(base + l)];
    if (other.state == State::exited) {
      fail_in_fiber(f, who(b, *f) + ": " + op() + " names lane " + std::to_string(l) + " (thread " + coords(other.idx) +
                           "), which has exited");
    }
    if (other.state == State::warp && (other.post.mask != mask || other.post.kind != kind)) {
      fail_in_fiber(f, who(b, *f) + ": " + op() + " while lane " + std::to_string(l) + " " + describe_wait(b, other) +
                           ": lanes of one mask in different warp operations");
    }
    if (other.state != State::warp) complete = false;
  }
  f->post = {kind, mask, value, arg, width};
  f->site = site;
  f->state = State::warp;
  if (complete) {
    // Every named lane has posted: compute each lane's result and release them.
    unsigned votes = 0;
    for (int l = 0; l < 32; ++l) {
      if ((mask >> l) & 1u) votes |= (fibers[static_cast<std::size_t>(base + l)].post.value != 0 ? 1u : 0u) << l;
    }
    for (int l = 0; l < 32; ++l) {
      if (!((mask >> l) & 1u)) continue;
      Fiber& g = fibers[static_cast<std::size_t>(base + l)];
      const int w = g.post.width, a = g.post.arg, segment = l / w * w;
      int src = l;
      switch (kind) {
        case WarpKind::shfl_idx: src = segment + ((a % w) + w) % w; break;
        case WarpKind::shfl_up: src = l - segment >= a ? l - a : l; break;
        case WarpKind::shfl_down: src = l - segment + a < w ? l + a : l; break;
        case WarpKind::shfl_xor: src = (l ^ a) / w == l / w ? (l ^ a) : l; break;
        default: break;
      }
      if (src != l && !((mask >> src) & 1u)) {
        fail_in_fiber(f, who(b, g) + ": " + op() + " reads lane " + std::to_string(src) +
                             ", which the mask does not name (an inactive lane: undefined)");
      }
      switch (kind) {
        case WarpKind::sync: g.result = 0; break;
        case WarpKind::ballot: g.result = votes; break;
        case WarpKind::all: g.result = votes == mask ? 1 : 0; break;
        case WarpKind::any: g.result = votes != 0 ? 1 : 0; break;
        default: g.result = fibers[static_cast<std::size_t>(base + src)].post.value; break;
      }
      g.state = State::ready;
    }
    return f->result;
  }
  switch_to_scheduler(f, false);
  return f->result;
}

}  // namespace sq::emu::detail
