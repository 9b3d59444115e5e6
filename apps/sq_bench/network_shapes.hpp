// Weight shapes of every conv and FC layer of the paper's CIFAR networks (SQ_SPEC section 8), laid out
// back to back as SQ segments (rows = output channels, cols = inputs per output).
#pragma once

#include <string>
#include <vector>

#include "sq/quant/options.hpp"

namespace sq::bench {

struct NetworkShapes {
  std::string name;
  std::vector<quant::SqSegment> segments;
  std::int64_t weights = 0;  // total elements
};

NetworkShapes vgg9_shapes();      // 6 convs 3x3 (64,64,128,128,256,256), FC 4096-512, 512-512, 512-10
NetworkShapes resnet56_shapes();  // conv16, 27 basic blocks (16/32/64), 2 projection 1x1 convs, FC 64-10

}  // namespace sq::bench
