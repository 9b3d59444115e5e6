// Lists of the names a config key accepts: membership, and the comma-separated list its error messages show.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace sq::train::detail {

inline bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

inline std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& s : list) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace sq::train::detail
