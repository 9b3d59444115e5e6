// sq_infer (see --help; the work is in sq::deploy::infer_main so the tests run the same code).
#include <iostream>

#include "sq/deploy/inference.hpp"

int main(int argc, char** argv) {
  return sq::deploy::infer_main(argc, argv, std::cout, std::cerr);
}
