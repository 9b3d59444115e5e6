// Test hooks of the oneDNN backends (no oneDNN header needed): whether a primitive is executing anywhere in the
// process right now, and how many have run. tests/train/test_step_allocations.cpp attributes heap allocations
// with them: oneDNN 2.6's C API builds a std::unordered_map of the arguments and std::function thread bodies in every
// execute (inside libdnnl, freed before it returns); everything outside those calls must allocate nothing.
#pragma once

namespace sq::onednn {

bool executing();
unsigned long long executions();

}  // namespace sq::onednn
