// kernels/augment.cu on the emulator against src/cpu/augment: random crops of a zero-padded image with flips
// (CIFAR), a centred pad with no draws (Fashion-MNIST), a shuffled order and the identity order, bit for bit.
#include <string>
#include <vector>

#include "cpu/augment.hpp"
#include "emu_kernels.hpp"
#include "emu_support.hpp"

namespace {

using namespace sq::emu::testing;
namespace detail = sq::detail;

TEST(EmuAugment, BatchesMatchTheTwinBitForBit) {
  struct Case {
    detail::AugmentGeometry g;
    int batch;
    bool shuffled;
  };
  const Case cases[] = {{{3, 32, 32, 32, 32, -4, -4, 8, 8, 1}, 5, true},
                        {{1, 28, 28, 32, 32, -2, -2, 0, 0, 0}, 3, false},
                        {{3, 9, 7, 6, 5, -1, 0, 3, 2, 1}, 7, true}};
  for (const Case& k : cases) {
    const int samples = 11;
    const std::uint64_t seed = suite_seed() + static_cast<std::uint64_t>(k.g.in_height);
    const std::size_t sample_bytes = static_cast<std::size_t>(k.g.channels * k.g.in_height * k.g.in_width);
    std::vector<std::uint8_t> images(sample_bytes * samples);
    for (std::size_t i = 0; i < images.size(); ++i) {
      images[i] = static_cast<std::uint8_t>(sq::philox_uniform_at(seed, 1, i) * 255.f);
    }
    std::vector<std::int32_t> labels(samples), order(samples);
    for (int i = 0; i < samples; ++i) {
      labels[static_cast<std::size_t>(i)] = i % 10;
      order[static_cast<std::size_t>(i)] = (i * 7 + 3) % samples;
    }
    detail::PixelNormalization norm{{0.49f, 0.48f, 0.45f, 0.f}, {0.25f, 0.24f, 0.26f, 1.f}};
    const std::int32_t* ord = k.shuffled ? order.data() : nullptr;
    const std::int64_t first = 2;
    const std::size_t out_n = static_cast<std::size_t>(k.batch * k.g.channels * k.g.out_height * k.g.out_width);
    std::vector<float> out(out_n);
    std::vector<std::int32_t> out_labels(static_cast<std::size_t>(k.batch));
    sq::cpu::augment_batch(out.data(), out_labels.data(), images.data(), labels.data(), ord, first, k.batch, k.g, norm,
                           seed, 4);
    in_every_schedule("augment " + std::to_string(k.g.in_height) + "x" + std::to_string(k.g.in_width), [&] {
      auto eout = poisoned<float>(out_n);
      auto elabels = poisoned<std::int32_t>(out_labels.size());
      sq::cuda_emu::augment_batch(eout.data(), elabels.data(), images.data(), labels.data(), ord, first, k.batch, k.g,
                                  norm, seed, 4, nullptr);
      EXPECT_TRUE(same_bits(out, eout)) << "images";
      EXPECT_TRUE(same_bits(out_labels, elabels)) << "labels";
      Bytes b;
      append(b, eout);
      append(b, elabels);
      return b;
    });
  }
}

}  // namespace
