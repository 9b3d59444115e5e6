// The process world: launched by mpirun / srun (detected from the launcher's environment) or alone; and the
// Collective that connects its ranks. docs/DISTRIBUTED.md.
#pragma once

#include <memory>
#include <string>

#include "sq/dist/collective.hpp"

namespace sq::dist {

// What the launcher's environment says (no MPI call): Open MPI (OMPI_COMM_WORLD_*), PMI / PMIx (MPICH, srun
// --mpi=pmi2|pmix: PMI_SIZE / PMI_RANK, PMIX_RANK), else a world of one.
struct LaunchInfo {
  int size = 1;
  int rank = 0;
  int local_rank = 0;    // the rank among this node's processes: picks the GPU
  int local_size = 1;    // ranks on this node (the world's size when the launcher does not say): shares its cores
  std::string launcher;  // "Open MPI", "PMI", "PMIx" or "" (alone)
  bool launched() const { return !launcher.empty(); }
};
LaunchInfo detect_launch();

// True in builds with MPI (SQ_ENABLE_MPI and libopenmpi-dev found at configure time).
bool mpi_available();

struct WorldOptions {
  // Seconds a rank waits in one collective before it ends the job (a dead or stuck peer): no hang. 0: forever.
  double timeout_s = 300;
};

// The collective for this process: MPI when launched by a launcher with more than one rank (or `force_mpi`),
// else SelfCollective. Throws sq::Error (what to do) when MPI is wanted but this build has none.
// MPI is initialised once per process and finalised at exit.
std::unique_ptr<Collective> make_world(const LaunchInfo& launch, bool force_mpi = false, WorldOptions options = {});

// The MPI collective over MPI_COMM_WORLD (initialising MPI when needed); throws in builds without MPI.
std::unique_ptr<Collective> make_mpi_collective(WorldOptions options = {});

}  // namespace sq::dist
