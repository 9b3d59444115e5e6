// The version of this build of SQ-CUDA, recorded in metrics and printed by --version.
#pragma once

#include <string>

namespace sq {

// "git describe" of the source tree at build time; "unknown" outside a git checkout.
std::string version();

}  // namespace sq
