// Collective: the few collectives data-parallel training needs (all-reduce, all-gather, broadcast, abort) over a
// world of ranks, on host memory. MPI implements it (src/dist/mpi_collective.cpp, SQ_ENABLE_MPI); a world of one
// (SelfCollective) is the identity, so single-process code paths need no MPI. docs/DISTRIBUTED.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sq::dist {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every rank's `data` becomes the elementwise sum over ranks (in place; identical on every rank).
  virtual void all_reduce_sum(float* data, std::int64_t n) = 0;
  virtual void all_reduce_sum(double* data, std::int64_t n) = 0;
  virtual void all_reduce_sum(std::int64_t* data, std::int64_t n) = 0;
  // out[r] = rank r's value.
  virtual std::vector<std::uint64_t> all_gather(std::uint64_t value) = 0;
  virtual void broadcast(void* data, std::int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends the whole job (every rank) after printing `message` on stderr, prefixed with this rank.
  [[noreturn]] virtual void abort(const std::string& message, int exit_code) = 0;
  virtual std::string describe() const = 0;  // "MPI (Open MPI v4.1.4), 2 ranks" / "1 process"
};

// A world of one process: every collective is the identity.
class SelfCollective final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(float*, std::int64_t) override {}
  void all_reduce_sum(double*, std::int64_t) override {}
  void all_reduce_sum(std::int64_t*, std::int64_t) override {}
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return {value}; }
  void broadcast(void*, std::int64_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message, int exit_code) override;
  std::string describe() const override { return "1 process"; }
};

}  // namespace sq::dist
