// SoftmaxCrossEntropy: one launch (kernels/loss.cu) or its host twin; scalars stay on the device until read.
#include "sq/nn/loss.hpp"

#include "cpu/loss.hpp"
#include "nn/layer_util.hpp"

#if SQ_WITH_CUDA
#include "loss.cuh"
#endif

namespace sq::nn {

void SoftmaxCrossEntropy::setup(std::int64_t batch, int classes, ExecutionContext& ctx) {
  SQ_CHECK(batch > 0 && classes > 0,
           "SoftmaxCrossEntropy: batch and classes must be positive (got " << batch << ", " << classes << ")");
  batch_ = batch;
  classes_ = classes;
  stream_ = ctx.stream;
  have_forward_ = false;
  loss_ = Tensor::zeros({1}, DType::f32, ctx.device);
  correct_ = Tensor::zeros({1}, DType::i32, ctx.device);
  grad_logits_ = Tensor({batch, classes}, DType::f32, ctx.device);
}

void SoftmaxCrossEntropy::forward(const Tensor& logits, const Tensor& labels, ExecutionContext& ctx) {
  detail::check_tensor(logits, grad_logits_.shape(), ctx, {"SoftmaxCrossEntropy"}, "logits");
  SQ_CHECK(
      labels.ndim() == 1 && labels.dim(0) == batch_ && labels.dtype() == DType::i32 && labels.device() == ctx.device,
      "SoftmaxCrossEntropy: labels must be int32 [" << batch_ << "] on " << ctx.device.str() << ", got "
                                                    << dtype_name(labels.dtype()) << " " << shape_str(labels.shape())
                                                    << " on " << labels.device().str());
  if (ctx.on_gpu()) {
#if SQ_WITH_CUDA
    gpu::softmax_xent_forward(loss_.data<float>(), correct_.data<std::int32_t>(), grad_logits_.data<float>(),
                              logits.data<float>(), labels.data<std::int32_t>(), static_cast<int>(batch_), classes_,
                              cuda_stream(ctx));
#endif
  } else {
    cpu::softmax_xent_forward(loss_.data<float>(), correct_.data<std::int32_t>(), grad_logits_.data<float>(),
                              logits.data<float>(), labels.data<std::int32_t>(), static_cast<int>(batch_), classes_);
  }
  have_forward_ = true;
}

const Tensor& SoftmaxCrossEntropy::backward(ExecutionContext& /*ctx*/) {
  SQ_CHECK(have_forward_, "SoftmaxCrossEntropy: backward before forward");
  return grad_logits_;
}

namespace {
void wait_for(const Tensor& t, StreamHandle stream) {
  if (!t.device().is_cuda()) return;
#if SQ_WITH_CUDA
  SQ_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)));
#else
  (void)stream;
#endif
}
}  // namespace

float SoftmaxCrossEntropy::read_loss() const {
  SQ_CHECK(loss_.defined() && loss_.numel() == 1, "SoftmaxCrossEntropy: read_loss() before setup()");
  wait_for(loss_, stream_);
  return loss_.to_vector<float>()[0];
}

std::int64_t SoftmaxCrossEntropy::read_correct() const {
  SQ_CHECK(correct_.defined() && correct_.numel() == 1, "SoftmaxCrossEntropy: read_correct() before setup()");
  wait_for(correct_, stream_);
  return correct_.to_vector<std::int32_t>()[0];
}

}  // namespace sq::nn
