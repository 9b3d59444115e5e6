// sq_export (see --help; the work is in sq::deploy::export_main so the tests run the same code).
#include <iostream>

#include "sq/deploy/packed.hpp"

int main(int argc, char** argv) {
  return sq::deploy::export_main(argc, argv, std::cout, std::cerr);
}
