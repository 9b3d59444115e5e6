// Launcher detection from the environment, and the world's collective (MPI or a world of one).
#include "sq/dist/world.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "sq/core/error.hpp"

namespace sq::dist {

namespace {
// An environment variable as a non-negative int, or -1 when unset or not a number.
int env_int(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return -1;
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  return (*end == '\0' && v >= 0 && v < (1L << 30)) ? static_cast<int>(v) : -1;
}
// The leading count of a variable such as SLURM's "2(x3),1" (tasks per node), or -1.
int env_leading_int(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value < '0' || *value > '9') return -1;
  const long v = std::strtol(value, nullptr, 10);
  return v >= 0 && v < (1L << 30) ? static_cast<int>(v) : -1;
}

// Ranks on this node, from the first variable set (the first of a SLURM per-node list, the nodes of a step being
// filled alike in the usual block distribution); else all of them.
int local_size(int size, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const int v = env_leading_int(name); v > 0) return std::min(v, size);
  }
  return size;
}
}  // namespace

LaunchInfo detect_launch() {
  LaunchInfo info;
  if (const int size = env_int("OMPI_COMM_WORLD_SIZE"); size > 0) {
    info.launcher = "Open MPI";
    info.size = size;
    info.rank = std::max(0, env_int("OMPI_COMM_WORLD_RANK"));
    info.local_rank = std::max(0, env_int("OMPI_COMM_WORLD_LOCAL_RANK"));
    info.local_size = local_size(size, {"OMPI_COMM_WORLD_LOCAL_SIZE"});
  } else if (const int pmi_size = env_int("PMI_SIZE"); pmi_size > 0) {
    info.launcher = "PMI";
    info.size = pmi_size;
    info.rank = std::max(0, env_int("PMI_RANK"));
    info.local_rank = std::max(0, env_int("MPI_LOCALRANKID"));
    if (const int slurm_local = env_int("SLURM_LOCALID"); slurm_local >= 0) info.local_rank = slurm_local;
    info.local_size = local_size(pmi_size, {"MPI_LOCALNRANKS", "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"});
  } else if (const int pmix_rank = env_int("PMIX_RANK"); pmix_rank >= 0) {
    info.launcher = "PMIx";
    info.rank = pmix_rank;
    info.size = std::max(1, env_int("SLURM_NTASKS"));
    info.local_rank = std::max(0, env_int("SLURM_LOCALID"));
    info.local_size = local_size(info.size, {"PMIX_LOCAL_SIZE", "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"});
  }
  return info;
}

[[noreturn]] void SelfCollective::abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "sq: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(exit_code);
}

std::unique_ptr<Collective> make_world(const LaunchInfo& launch, bool force_mpi, WorldOptions options) {
  if (!force_mpi && launch.size <= 1) return std::make_unique<SelfCollective>();
  SQ_CHECK(mpi_available(), "this process was started by " << (launch.launched() ? launch.launcher : "--distributed")
                                                           << " as rank " << launch.rank << " of " << launch.size
                                                           << ", but this build of SQ-CUDA has no MPI: install "
                                                              "libopenmpi-dev and openmpi-bin (scripts/common.sh "
                                                              "does) and configure again with -DSQ_ENABLE_MPI=ON");
  return make_mpi_collective(options);
}

}  // namespace sq::dist
