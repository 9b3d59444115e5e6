// train_cifar: trains the paper's low-bit CNNs with Stochastic Quantization (see --help; the work is in
// sq::train::train_cifar_main so the tests run the same code).
#include <iostream>

#include "sq/train/runner.hpp"

int main(int argc, char** argv) {
  return sq::train::train_cifar_main(argc, argv, std::cout, std::cerr);
}
