// Public API lookups and stories an outside user needs (issue 9): parameter <-> arena offset, SQ mask unit ->
// parameter, errors that name parameters, which seed drives SQ draws, when BN statistics exist, what
// Parameter::effective holds.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

#include "sq/core/error.hpp"
#include "sq/nn/models.hpp"
#include "sq/quant/pipeline.hpp"

namespace {

sq::quant::SqOptions twn_half() {
  sq::quant::SqOptions o;
  o.quantizer = sq::quant::Quantizer::twn;
  o.ratio = 0.5;
  o.seed = 11;
  return o;
}

std::unique_ptr<sq::nn::Model> small_cnn(sq::nn::ExecutionContext& ctx, const sq::quant::SqOptions& sq) {
  sq::nn::ModelSpec spec;
  spec.arch = "small_cnn";
  return sq::nn::build_model(spec, sq, ctx, 1);
}

TEST(ParameterLookup, OffsetsAndMaskUnitsMapToParameters) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  for (const sq::quant::Granularity g : {sq::quant::Granularity::channel, sq::quant::Granularity::element}) {
    sq::quant::SqOptions o = twn_half();
    o.granularity = g;
    const auto model = small_cnn(ctx, o);
    sq::nn::ParameterArena& arena = model->arena();
    const bool per_element = g == sq::quant::Granularity::element;
    std::int64_t units = 0;
    std::size_t segment = 0;
    for (const sq::nn::Parameter* p : arena.parameters()) {
      const std::int64_t offset = arena.offset_of(*p);
      // The offset is where the parameter's views sit in the arena's buffers.
      EXPECT_EQ(static_cast<const float*>(p->value.raw()), arena.values().data<float>() + offset) << p->name;
      EXPECT_EQ(&arena.parameter_at(offset), p);
      EXPECT_EQ(&arena.parameter_at(offset + p->value.numel() - 1), p);
      if (!p->quantized) {
        EXPECT_THROW(arena.units_of(*p, per_element), sq::Error);
        continue;
      }
      ASSERT_LT(segment, arena.quantized_segments().size());
      EXPECT_EQ(arena.quantized_segments()[segment++].offset, offset) << p->name;
      const sq::nn::ParameterArena::UnitRange r = arena.units_of(*p, per_element);
      EXPECT_EQ(r.begin, units) << p->name;
      EXPECT_EQ(r.end - r.begin, per_element ? p->value.numel() : p->rows()) << p->name;
      EXPECT_EQ(&arena.parameter_of_unit(r.begin, per_element), p);
      EXPECT_EQ(&arena.parameter_of_unit(r.end - 1, per_element), p);
      units = r.end;
    }
    EXPECT_EQ(units, model->pipeline()->units()) << "the ranges tile the pipeline's mask";
    EXPECT_THROW(arena.parameter_of_unit(units, per_element), sq::Error);
    EXPECT_THROW(arena.parameter_at(arena.numel()), sq::Error);
  }
}

TEST(ParameterLookup, NonFiniteWeightErrorsNameTheParameterNotAnOffset) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = small_cnn(ctx, twn_half());
  sq::nn::ParameterArena& arena = model->arena();
  const sq::nn::Parameter* second = nullptr;
  int quantized = 0;
  for (const sq::nn::Parameter* p : arena.parameters()) {
    if (p->quantized && ++quantized == 2) second = p;
  }
  ASSERT_NE(second, nullptr);
  float* v = arena.values().data<float>() + arena.offset_of(*second) + 2 * second->cols();  // row 2
  *v = std::numeric_limits<float>::quiet_NaN();
  std::string why;
  try {
    model->pipeline()->run(arena.values().data<float>(), arena.hybrid().data<float>(), 0, ctx.stream);
  } catch (const sq::Error& e) {
    why = e.message();
  }
  EXPECT_NE(why.find("NaN or Inf in " + second->name + ", row 2 (output channel)"), std::string::npos) << why;
  EXPECT_EQ(why.find("offset"), std::string::npos) << why;
  EXPECT_EQ(why.find("segment"), std::string::npos) << why;
}

// One seed story (docs/SQ_API.md "Seeds"): a Model's SQ draws are a function of SqOptions::seed and the step;
// ExecutionContext::seed drives dropout only. The trainer sets both to the run seed.
TEST(SeedStory, SqDrawsFollowSqOptionsSeedNotTheContextSeed) {
  auto mask_of = [](std::uint64_t ctx_seed, std::uint64_t sq_seed) {
    sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
    ctx.seed = ctx_seed;
    sq::quant::SqOptions o = twn_half();
    o.seed = sq_seed;
    const auto model = small_cnn(ctx, o);
    sq::nn::ParameterArena& arena = model->arena();
    model->pipeline()->run(arena.values().data<float>(), arena.hybrid().data<float>(), 5, ctx.stream);
    return model->pipeline()->mask_to_host(ctx.stream);
  };
  const std::vector<std::uint8_t> base = mask_of(1, 11);
  EXPECT_EQ(mask_of(999, 11), base) << "the context seed does not change SQ draws";
  bool differs = false;
  for (std::uint64_t s = 12; s < 20 && !differs; ++s) differs = mask_of(1, s) != base;
  EXPECT_TRUE(differs) << "SqOptions::seed does";
}

// Documented in models.hpp: BN running statistics are allocated by Model::setup; Parameter::effective is the
// hybrid W~ for quantized parameters (rewritten by the SQ pipeline) and the master values for the rest.
TEST(ModelLifecycle, BatchNormBuffersExistAfterSetupAndEffectiveIsDocumented) {
  sq::nn::ExecutionContext ctx = sq::nn::make_context(sq::Device::cpu());
  const auto model = small_cnn(ctx, twn_half());
  for (const sq::nn::NamedBuffer& b : model->buffers()) {
    EXPECT_EQ(b.tensor->numel(), 0) << b.name << " exists before setup";
  }
  model->setup(4, ctx);
  const std::vector<sq::nn::NamedBuffer> buffers = model->buffers();
  ASSERT_FALSE(buffers.empty());
  for (const sq::nn::NamedBuffer& b : buffers) EXPECT_GT(b.tensor->numel(), 0) << b.name;
  for (const sq::nn::Parameter* p : model->arena().parameters()) {
    EXPECT_EQ(p->effective.raw() == p->value.raw(), !p->quantized) << p->name;
  }
}

}  // namespace
