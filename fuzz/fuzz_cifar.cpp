// Fuzz target for the CIFAR binary reader (sq::data::load_cifar_files). Input: [format][file count][file bytes].
// format bit 0: CIFAR-100 (two label bytes, 20/100 classes; bit 1 picks coarse) else CIFAR-10; bits 2-3: records
// per file - 1 (1..4, so the published size check can be met by small inputs). The file bytes are split evenly
// over 1 or 2 files. Any sq::Error is a clean refusal; anything else is a finding.
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "sq/core/error.hpp"
#include "sq/data/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sq::fuzz::InputReader in(data, size);
  const std::uint8_t format_bits = in.u8();
  const int file_count = 1 + (in.u8() & 1);
  const std::string bytes = in.rest();

  sq::data::CifarRecordFormat format;
  if (format_bits & 1) {
    format = {"CIFAR-100", {20, 100}, (format_bits & 2) ? 0 : 1, 0};
  } else {
    format = {"CIFAR-10", {10}, 0, 0};
  }
  format.records_per_file = 1 + ((format_bits >> 2) & 3);

  auto& folder = sq::fuzz::ScratchFolder::get();
  std::vector<std::string> files;
  const std::size_t part = bytes.size() / static_cast<std::size_t>(file_count);
  for (int f = 0; f < file_count; ++f) {
    const std::size_t begin = part * static_cast<std::size_t>(f);
    const std::size_t length = f + 1 == file_count ? bytes.size() - begin : part;
    files.push_back(folder.write("batch_" + std::to_string(f) + ".bin", bytes.substr(begin, length)));
  }
  try {
    const sq::data::Dataset set = sq::data::load_cifar_files(files, format, "fuzz");
    if (set.size() != format.records_per_file * file_count || set.channels() != 3 || set.height() != 32)
      __builtin_trap();
    const int classes = format.label_classes[static_cast<std::size_t>(format.label_index)];
    const std::int32_t* l = set.labels.data<std::int32_t>();
    for (std::int64_t i = 0; i < set.size(); ++i)
      if (l[i] < 0 || l[i] >= classes) __builtin_trap();
  } catch (const sq::Error&) {
  }
  return 0;
}
