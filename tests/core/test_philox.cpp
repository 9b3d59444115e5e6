// Host Philox4x32-10 against cuRAND's reference values and its own stateful/stateless consistency.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "sq/core/philox.hpp"

namespace {

TEST(Philox, MatchesCurandReferenceValuesFromDevice) {
  // Read on an H200 with curand_init(42, subsequence, 0) + curand_uniform (DEVICE.md).
  EXPECT_EQ(sq::PhiloxState(42, 0, 0).next_uniform(), 0.612959862f);
  EXPECT_EQ(sq::PhiloxState(42, 1, 0).next_uniform(), 0.0100588445f);
  EXPECT_EQ(sq::philox_uniform_at(42, 0, 0), 0.612959862f);
  EXPECT_EQ(sq::philox_uniform_at(42, 1, 0), 0.0100588445f);
}

TEST(Philox, MatchesRandom123KnownAnswerVectors) {
  // Known-answer vectors of Philox4x32-10 published with Random123 (kat_vectors): counter, key -> output.
  const sq::PhiloxCounter zero = sq::philox4x32_10({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(zero.x, 0x6627e8d5u);
  EXPECT_EQ(zero.y, 0xe169c58du);
  EXPECT_EQ(zero.z, 0xbc57ac4cu);
  EXPECT_EQ(zero.w, 0x9b00dbd8u);
  const sq::PhiloxCounter ones =
      sq::philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  EXPECT_EQ(ones.x, 0x408f276du);
  EXPECT_EQ(ones.y, 0x41c83b0eu);
  EXPECT_EQ(ones.z, 0xa20bc7c6u);
  EXPECT_EQ(ones.w, 0x6d5451fdu);
  const sq::PhiloxCounter pi =
      sq::philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  EXPECT_EQ(pi.x, 0xd16cfe09u);
  EXPECT_EQ(pi.y, 0x94fdccebu);
  EXPECT_EQ(pi.z, 0x5001e420u);
  EXPECT_EQ(pi.w, 0x24126ea1u);
}

TEST(Philox, StatelessAccessEqualsSequentialDraws) {
  for (std::uint64_t seed : {0ull, 42ull, 0x123456789abcdefull}) {
    for (std::uint64_t subsequence : {0ull, 1ull, 7ull, (1ull << 40) + 3}) {
      sq::PhiloxState state(seed, subsequence, 0);
      for (std::uint64_t offset = 0; offset < 37; ++offset) {
        EXPECT_EQ(state.next_uniform(), sq::philox_uniform_at(seed, subsequence, offset))
            << "seed " << seed << " subsequence " << subsequence << " offset " << offset;
      }
    }
  }
}

TEST(Philox, OffsetInitEqualsSkippingDraws) {
  for (std::uint64_t offset = 0; offset < 11; ++offset) {
    sq::PhiloxState skipped(7, 3, 0);
    for (std::uint64_t i = 0; i < offset; ++i) skipped.next_u32();
    sq::PhiloxState direct(7, 3, offset);
    for (int i = 0; i < 9; ++i) EXPECT_EQ(direct.next_u32(), skipped.next_u32()) << "offset " << offset;
  }
}

TEST(Philox, Curand4ReturnsTheNextFourWordsAtEveryAlignment) {
  for (std::uint64_t offset = 0; offset < 8; ++offset) {
    sq::PhiloxState words(99, 5, offset);
    sq::PhiloxState quad(99, 5, offset);
    const sq::PhiloxCounter four = quad.next_u32x4();
    // cuRAND's curand4 hands out the four words starting at the current position.
    EXPECT_EQ(four.x, words.next_u32());
    EXPECT_EQ(four.y, words.next_u32());
    EXPECT_EQ(four.z, words.next_u32());
    EXPECT_EQ(four.w, words.next_u32());
  }
}

TEST(Philox, UniformsLieInHalfOpenUnitIntervalAndCoverIt) {
  EXPECT_GT(sq::philox_u32_to_uniform(0u), 0.0f);
  EXPECT_LE(sq::philox_u32_to_uniform(0xffffffffu), 1.0f);
  double sum = 0.0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = sq::philox_uniform_at(1234, 0, static_cast<std::uint64_t>(i));
    ASSERT_GT(u, 0.0f);
    ASSERT_LE(u, 1.0f);
    sum += u;
  }
  // Mean of U(0,1) has standard error 1/sqrt(12 n) ~ 6.5e-4; 5 sigma.
  EXPECT_NEAR(sum / n, 0.5, 5 * 6.5e-4);
}

TEST(Philox, SubsequencesAreDistinctStreams) {
  std::vector<float> a, b;
  for (int i = 0; i < 16; ++i) {
    a.push_back(sq::philox_uniform_at(5, 10, i));
    b.push_back(sq::philox_uniform_at(5, 11, i));
  }
  EXPECT_NE(a, b);
}

}  // namespace
