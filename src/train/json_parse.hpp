// The one way SQ-CUDA reads JSON documents it did not write in this process (config files, checkpoint headers,
// checkpoint metadata): nesting depth bounded at parse (deep documents are refused before anything recursive
// touches them), duplicate object keys refused (the JSON spec leaves them undefined; nlohmann keeps the last),
// and error messages quote at most a short excerpt of a value.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace sq::train::detail {

using Json = nlohmann::ordered_json;

struct JsonLimits {
  int max_depth = 32;           // objects and arrays nested deeper than this are refused
  bool allow_comments = false;  // accept // and /* */ comments (config files do; checkpoint headers do not)
};

// Parses `text`; throws sq::Error naming `source` and the problem (syntax, depth, duplicate key). A UTF-8 byte order
// mark at the start is skipped (nlohmann's lexer does that).
Json parse_json(const std::string& text, const std::string& source, const JsonLimits& limits = {});

// At most `max_chars` of the compact serialisation of `value`, with "..." when cut (safe for any parsed value:
// depth is bounded by parse_json).
std::string json_excerpt(const Json& value, std::size_t max_chars = 60);

}  // namespace sq::train::detail
