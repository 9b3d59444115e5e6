// Formatting and throwing of sq::Error.
#include "sq/core/error.hpp"

namespace sq {

std::string Error::format(const std::string& message, const char* file, int line, const std::string& expression) {
  std::ostringstream out;
  out << message << " [" << file << ":" << line;
  if (!expression.empty()) out << ": " << expression;
  out << "]";
  return out.str();
}

namespace detail {
void throw_error(const char* file, int line, const char* expression, const std::string& message) {
  throw Error(message, file, line, expression ? expression : "");
}
}  // namespace detail

}  // namespace sq
