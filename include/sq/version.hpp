// The version of this build of SQ-CUDA, recorded in metrics and printed by every app's --version.
#pragma once

#include <string>

namespace sq {

// `git describe --always --dirty --tags` of the source tree at build time (stamped at every build by
// cmake/SqVersion.cmake into the generated sq_version.cpp); "unknown" when built outside a git checkout.
std::string version();

}  // namespace sq
