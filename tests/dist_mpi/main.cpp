// main() of the data-parallel suite, run under mpirun (ctest label mpi): every rank runs every test; rank 0 prints
// gtest's report, the other ranks print only their failures (prefixed with the rank); the exit status is 1 when
// any rank failed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "dist_mpi/mpi_world.hpp"
#include "sq/dist/world.hpp"

namespace {
std::unique_ptr<sq::dist::Collective> g_world;

class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed()) {
      std::fprintf(stderr, "rank %d: %s:%d: %s\n", rank_, r.file_name() ? r.file_name() : "?", r.line_number(),
                   r.message());
    }
  }

 private:
  int rank_;
};
}  // namespace

namespace sq::test {
dist::Collective& mpi_world() {
  return *g_world;
}
}  // namespace sq::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  sq::dist::WorldOptions options;
  // A test that leaves one rank behind ends the job instead of hanging it (the stuck-rank scenario sets 3 s).
  options.timeout_s = 120;
  for (int i = 1; i < argc; ++i) {  // --dist-timeout=S (after gtest's own flags), as train_cifar's option
    const std::string arg = argv[i];
    if (arg.rfind("--dist-timeout=", 0) == 0) options.timeout_s = std::atof(arg.c_str() + 15);
  }
  g_world = sq::dist::make_mpi_collective(options);
  if (g_world->rank() != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(g_world->rank()));
  }
  std::int64_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  g_world->all_reduce_sum(&failed, 1);
  if (g_world->rank() == 0 && failed > 0) std::fprintf(stderr, "%lld rank(s) failed\n", (long long)failed);
  g_world.reset();
  return failed > 0 ? 1 : 0;
}
