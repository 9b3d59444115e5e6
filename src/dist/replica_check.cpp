// Cross-rank checks that the replicas are identical (weights, SQ masks): 64-bit hashes gathered and compared.
#include "sq/dist/replica_check.hpp"

#include <iomanip>
#include <sstream>
#include <vector>

#include "sq/core/error.hpp"
#include "sq/nn/models.hpp"

namespace sq::dist {

std::uint64_t hash_bytes(const void* data, std::int64_t bytes, std::uint64_t seed) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed;
  for (std::int64_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::uint64_t hash_floats(const float* data, std::int64_t n, std::uint64_t seed) {
  return hash_bytes(data, n * static_cast<std::int64_t>(sizeof(float)), seed);
}

std::uint64_t model_checksum(nn::Model& model, bool with_buffers) {
  const std::vector<float> values = model.arena().values().to_vector<float>();
  std::uint64_t h = hash_floats(values.data(), static_cast<std::int64_t>(values.size()));
  if (with_buffers) {
    for (const nn::NamedBuffer& b : model.buffers()) {
      const std::vector<float> v = b.tensor->to_vector<float>();
      h = hash_floats(v.data(), static_cast<std::int64_t>(v.size()), h);
    }
  }
  return h;
}

void check_identical(Collective& collective, std::uint64_t value, const std::string& what, std::uint64_t step,
                     const std::string& hint) {
  const std::vector<std::uint64_t> all = collective.all_gather(value);
  std::ostringstream differ;
  for (std::size_t r = 1; r < all.size(); ++r) {
    if (all[r] != all[0]) differ << " " << r << " (0x" << std::hex << all[r] << std::dec << ")";
  }
  SQ_CHECK(differ.str().empty(), what << " differ across ranks at step " << step << ": rank(s)" << differ.str()
                                      << " against rank 0 (0x" << std::hex << all[0] << std::dec << ")"
                                      << (hint.empty() ? "" : "; " + hint));
}

void check_replicas(Collective& collective, nn::Model& model, bool with_buffers, std::uint64_t step) {
  if (collective.size() == 1) return;
  check_identical(collective, model_checksum(model, with_buffers),
                  with_buffers ? "the weights and BN statistics" : "the weights", step,
                  "the replicas diverged (every rank must start from the same seed and apply the same averaged "
                  "gradients): check that all ranks run the same binary, configuration and data");
}

}  // namespace sq::dist
