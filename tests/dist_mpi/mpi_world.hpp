// The MPI world of the data-parallel suite (tests/dist_mpi/main.cpp starts it; every rank runs every test).
#pragma once

#include "sq/dist/collective.hpp"

namespace sq::test {
dist::Collective& mpi_world();
}
