// Fuzz target for the IDX reader (sq::data::load_idx). Input: [classes-1][flags][labels length, u16 LE][labels
// file][images file]. flags bit 0/1: name the labels/images file *.gz (a .gz name must hold gzip data).
// Built twice: fuzz_idx writes both files as they are (raw IDX, or gzip streams the mutator corrupts: zlib's error
// paths); fuzz_idx_gzip (SQ_FUZZ_GZIP_CONTENT) gzip-compresses them first, so mutations reach the IDX parser
// through the decompressing path. Any sq::Error is a clean refusal; anything else is a finding.
#include <cstdint>

#include "fuzz_input.hpp"
#include "sq/core/error.hpp"
#include "sq/data/dataset.hpp"

#ifdef SQ_FUZZ_GZIP_CONTENT
constexpr bool kGzipContent = true;
#else
constexpr bool kGzipContent = false;
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sq::fuzz::InputReader in(data, size);
  const int classes = in.u8() + 1;
  const std::uint8_t flags = in.u8();
  const std::string labels = in.take(in.u16());
  const std::string images = in.rest();
  auto& folder = sq::fuzz::ScratchFolder::get();
  const std::string labels_path = folder.write((flags & 1) ? "labels.gz" : "labels", labels, kGzipContent);
  const std::string images_path = folder.write((flags & 2) ? "images.gz" : "images", images, kGzipContent);
  try {
    const sq::data::Dataset set = sq::data::load_idx(images_path, labels_path, classes, "fuzz");
    // A data set that loads must be consistent: one label in range per image.
    if (set.labels.numel() != set.size() || set.images.dim(1) != 1) __builtin_trap();
    const std::int32_t* l = set.labels.data<std::int32_t>();
    for (std::int64_t i = 0; i < set.size(); ++i)
      if (l[i] < 0 || l[i] >= classes) __builtin_trap();
  } catch (const sq::Error&) {
  }
  return 0;
}
