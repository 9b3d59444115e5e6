// Sgd: dispatches the one-launch arena update to the CUDA kernel or its host twin.
#include "sq/train/optimizer.hpp"

#include "cpu/sgd.hpp"
#include "sq/config.hpp"

#if SQ_WITH_CUDA
#include "sgd.cuh"
#include "sq/core/cuda_check.hpp"
#endif

namespace sq::train {

Sgd::Sgd(nn::ParameterArena& arena, SgdOptions options) : arena_(&arena), options_(options) {
  SQ_CHECK(arena.numel() > 0, "Sgd: the parameter arena is empty (bind it before building the optimiser)");
  SQ_CHECK(
      options.momentum >= 0.f && options.weight_decay >= 0.f,
      "Sgd: momentum " << options.momentum << " and weight decay " << options.weight_decay << " must be non-negative");
  velocity_ = Tensor::zeros({arena.numel()}, DType::f32, arena.device());
}

void Sgd::step(float lr, StreamHandle stream) {
  float* values = arena_->values().data<float>();
  const float* grads = arena_->grads().data<float>();
  float* velocity = velocity_.data<float>();
  if (arena_->device().is_cpu()) {
    cpu::sgd_momentum_update(values, velocity, grads, arena_->numel(), arena_->decayed_end(), lr, options_.momentum,
                             options_.weight_decay);
    return;
  }
#if SQ_WITH_CUDA
  cuda::sgd_momentum_update(values, velocity, grads, arena_->numel(), arena_->decayed_end(), lr, options_.momentum,
                            options_.weight_decay, reinterpret_cast<cudaStream_t>(stream));
#else
  (void)stream;
  SQ_FAIL("Sgd::step on " << arena_->device().str() << " in a build without CUDA");
#endif
}

void Sgd::step_device_lr(const float* lr, StreamHandle stream) {
  SQ_CHECK(lr != nullptr, "Sgd::step_device_lr: null learning-rate pointer");
  if (arena_->device().is_cpu()) {
    step(*lr, stream);
    return;
  }
#if SQ_WITH_CUDA
  cuda::sgd_momentum_update_device_lr(arena_->values().data<float>(), velocity_.data<float>(),
                                      arena_->grads().data<float>(), arena_->numel(), arena_->decayed_end(), lr,
                                      options_.momentum, options_.weight_decay, reinterpret_cast<cudaStream_t>(stream));
#else
  SQ_FAIL("Sgd::step_device_lr on " << arena_->device().str() << " in a build without CUDA");
#endif
}

void Sgd::reset(StreamHandle stream) {
  if (arena_->device().is_cpu()) {
    velocity_.fill_zero();
    return;
  }
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaMemsetAsync(velocity_.raw(), 0, velocity_.bytes(), reinterpret_cast<cudaStream_t>(stream)));
#else
  (void)stream;
#endif
}

}  // namespace sq::train
