// sq::Error and SQ_CHECK: every failure in SQ-CUDA is an exception carrying file:line, the failing expression and why.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace sq {

class Error : public std::runtime_error {
 public:
  Error(std::string message, const char* file, int line, std::string expression)
      : std::runtime_error(format(message, file, line, expression)),
        message_(std::move(message)),
        file_(file),
        line_(line),
        expression_(std::move(expression)) {}

  // The reason alone, without location (what a CLI prints to a user).
  const std::string& message() const noexcept { return message_; }
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  const std::string& expression() const noexcept { return expression_; }

 private:
  static std::string format(const std::string& message, const char* file, int line, const std::string& expression);

  std::string message_;
  const char* file_;
  int line_;
  std::string expression_;
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const char* expression, const std::string& message);
}  // namespace detail

}  // namespace sq

// SQ_CHECK(cond, streamable message): precondition check; the message may use <<, e.g. SQ_CHECK(n > 0, "n=" << n).
#define SQ_CHECK(cond, msg)                                                         \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::ostringstream sq_check_stream_;                                          \
      sq_check_stream_ << msg;                                                      \
      ::sq::detail::throw_error(__FILE__, __LINE__, #cond, sq_check_stream_.str()); \
    }                                                                               \
  } while (0)

// SQ_FAIL(streamable message): unconditional error.
#define SQ_FAIL(msg)                                                          \
  do {                                                                        \
    std::ostringstream sq_fail_stream_;                                       \
    sq_fail_stream_ << msg;                                                   \
    ::sq::detail::throw_error(__FILE__, __LINE__, "", sq_fail_stream_.str()); \
  } while (0)
