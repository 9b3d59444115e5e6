// Dataset helpers: class counts and slices.
#include "sq/data/dataset.hpp"

namespace sq::data {

Dataset slice(const Dataset& data, std::int64_t first, std::int64_t count) {
  SQ_CHECK(data.images.ndim() == 4 && data.images.device().is_cpu() && data.labels.device().is_cpu(),
           "slice: " << data.name << " must be a host data set of images [N, C, H, W]");
  SQ_CHECK(
      first >= 0 && count > 0 && first + count <= data.size(),
      "slice: samples [" << first << ", " << first + count << ") outside the " << data.size() << " of " << data.name);
  const std::int64_t per_image = data.images.numel() / data.size();
  Dataset out;
  out.images = data.images.view(first * per_image, {count, data.channels(), data.height(), data.width()}).clone();
  out.labels = data.labels.view(first, {count}).clone();
  out.classes = data.classes;
  out.name = data.name + "[" + std::to_string(first) + ":" + std::to_string(first + count) + "]";
  return out;
}

std::vector<std::int64_t> Dataset::class_counts() const {
  SQ_CHECK(labels.device().is_cpu(),
           name << ": class_counts reads host labels, these are on " << labels.device().str());
  std::vector<std::int64_t> counts(static_cast<std::size_t>(classes > 0 ? classes : 0), 0);
  const std::int32_t* l = labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < labels.numel(); ++i) {
    SQ_CHECK(l[i] >= 0 && l[i] < classes,
             name << ": label " << l[i] << " of sample " << i << " outside 0.." << classes - 1);
    ++counts[static_cast<std::size_t>(l[i])];
  }
  return counts;
}

}  // namespace sq::data
