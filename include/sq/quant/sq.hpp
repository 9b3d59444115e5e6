// Everything of the SQ core: options, the per-step pipeline and the raw-pointer API.
#pragma once

#include "sq/quant/options.hpp"
#include "sq/quant/pipeline.hpp"
#include "sq/quant/sq_api.hpp"
