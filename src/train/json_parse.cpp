// parse_json: nlohmann's parser with a callback that tracks depth and the keys of every open object.
#include "train/json_parse.hpp"

#include <set>
#include <vector>

#include "sq/core/error.hpp"

namespace sq::train::detail {

Json parse_json(const std::string& text, const std::string& source, const JsonLimits& limits) {
  // One entry per open container: the keys seen so far (unused for arrays).
  std::vector<std::set<std::string>> open;
  const Json::parser_callback_t track = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        // Refused before the container exists: the partial value is never deeper than max_depth.
        SQ_CHECK(static_cast<int>(open.size()) < limits.max_depth,
                 source << ": JSON nests deeper than " << limits.max_depth
                        << " levels of objects/arrays (SQ-CUDA files nest a few levels: corrupt or not such a file)");
        open.emplace_back();
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end: open.pop_back(); break;
      case Json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        SQ_CHECK(open.empty() || open.back().insert(key).second,
                 source << ": key '" << key.substr(0, 60) << "' appears twice in one JSON object (remove one)");
        break;
      }
      case Json::parse_event_t::value: break;
    }
    return true;
  };
  try {
    return Json::parse(text, track, /*allow_exceptions=*/true, limits.allow_comments);
  } catch (const Json::exception& e) {
    // parse_error (syntax) or out_of_range (a number too large for any JSON number type); nlohmann quotes the
    // offending token, which may be the whole document: keep the start.
    std::string what = e.what();
    if (what.size() > 200) what = what.substr(0, 200) + "...";
    SQ_FAIL(source << ": not valid JSON (" << what << ")");
  }
}

std::string json_excerpt(const Json& value, std::size_t max_chars) {
  std::string text = value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars) + "...";
}

}  // namespace sq::train::detail
