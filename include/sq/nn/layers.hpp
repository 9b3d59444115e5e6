// All layers of sq::nn, for models and users.
#pragma once

#include "sq/nn/activation.hpp"
#include "sq/nn/basic_block.hpp"
#include "sq/nn/batchnorm.hpp"
#include "sq/nn/context.hpp"
#include "sq/nn/conv2d.hpp"
#include "sq/nn/dropout.hpp"
#include "sq/nn/flatten.hpp"
#include "sq/nn/linear.hpp"
#include "sq/nn/loss.hpp"
#include "sq/nn/module.hpp"
#include "sq/nn/parameter.hpp"
#include "sq/nn/pool.hpp"
#include "sq/nn/sequential.hpp"
