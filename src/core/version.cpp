// sq::version(): the build stamps SQ_VERSION_STRING when it knows it; "unknown" otherwise.
#include "sq/version.hpp"

namespace sq {

std::string version() {
#ifdef SQ_VERSION_STRING
  return SQ_VERSION_STRING;
#else
  return "unknown";
#endif
}

}  // namespace sq
