// VGG-9 and ResNet-56 weight shapes from SQ_SPEC section 8.
#include "network_shapes.hpp"

namespace sq::bench {
namespace {

void add(NetworkShapes& net, std::int64_t rows, std::int64_t cols) {
  net.segments.push_back({net.weights, rows, cols});
  net.weights += rows * cols;
}

void conv(NetworkShapes& net, std::int64_t in, std::int64_t out, std::int64_t k) {
  add(net, out, in * k * k);
}

}  // namespace

NetworkShapes vgg9_shapes() {
  NetworkShapes net{"vgg9", {}, 0};
  const std::int64_t channels[] = {3, 64, 64, 128, 128, 256, 256};
  for (int i = 0; i < 6; ++i) conv(net, channels[i], channels[i + 1], 3);
  add(net, 512, 256 * 4 * 4);  // three 2x2 max-pools: 32 -> 4
  add(net, 512, 512);
  add(net, 10, 512);
  return net;
}

NetworkShapes resnet56_shapes() {
  NetworkShapes net{"resnet56", {}, 0};
  conv(net, 3, 16, 3);
  std::int64_t in = 16;
  for (std::int64_t width : {16, 32, 64}) {
    for (int block = 0; block < 9; ++block) {
      conv(net, in, width, 3);
      conv(net, width, width, 3);
      if (in != width) conv(net, in, width, 1);  // projection shortcut
      in = width;
    }
  }
  add(net, 10, 64);
  return net;
}

}  // namespace sq::bench
