// The one-shot raw-pointer API: an SqPipeline for one step, its mask and errors copied to the caller.
#include "sq/quant/sq_api.hpp"

#include <vector>

#include "quant/sq_steps.hpp"
#include "sq/core/error.hpp"
#include "sq/quant/pipeline.hpp"

namespace sq::quant {

std::int64_t unit_count(const SqSegment* segments, int segment_count, Granularity granularity) {
  std::int64_t units = 0;
  for (int l = 0; l < segment_count; ++l) {
    units += granularity == Granularity::element ? segments[l].rows * segments[l].cols : segments[l].rows;
  }
  return units;
}

void stochastic_quantize(float* hybrid, std::uint8_t* mask, double* errors, const float* weights,
                         const SqSegment* segments, int segment_count, const SqOptions& options, std::uint64_t step,
                         Device device, StreamHandle stream) {
  SQ_CHECK(segment_count >= 0 && (segment_count == 0 || segments != nullptr),
           "stochastic_quantize: need " << segment_count << " segments");
  SqPipeline pipeline(std::vector<SqSegment>(segments, segments + segment_count), options, device);
  pipeline.run(weights, hybrid, step, stream);
  pipeline.check_finite(stream);
  const std::int64_t units = pipeline.units();
  if (mask && units) {
    const std::vector<std::uint8_t> h_mask = pipeline.mask_to_host(stream);
    copy_to_device(device, mask, h_mask.data(), h_mask.size(), stream);
  }
  if (errors && units) {
    const std::vector<double> h_errors = pipeline.errors_to_host(stream);
    copy_to_device(device, errors, h_errors.data(), h_errors.size() * sizeof(double), stream);
  }
}

}  // namespace sq::quant
