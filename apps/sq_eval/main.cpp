// sq_eval: evaluates a checkpoint (see --help; the work is in sq::deploy::eval_main so the tests run the same code).
#include <iostream>

#include "sq/deploy/evaluate.hpp"

int main(int argc, char** argv) {
  return sq::deploy::eval_main(argc, argv, std::cout, std::cerr);
}
