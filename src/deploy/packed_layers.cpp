// Packed-network layers. On the host: conv = im2col per image + packed_gemm_columns; FC = packed_gemm_rows; the
// rest reuse the training framework's CPU kernels (src/cpu); full-precision weights use the same sgemm as
// training. On a CUDA device: conv and FC (packed or fp32 weights) are kernels/packed.cu's implicit GEMM, BN its
// channel_affine, the rest the training framework's kernels (pool.cu, activation.cu), all on the legacy default
// stream (PackedNetwork::forward's copy of the logits to the host waits for them).
#include "deploy/packed_layers.hpp"

#include <cstring>

#include "cpu/activation.hpp"
#include "cpu/bias.hpp"
#include "cpu/im2col.hpp"
#include "cpu/pool.hpp"
#include "nn/gemm.hpp"
#include "sq/config.hpp"
#include "sq/core/error.hpp"

#if SQ_WITH_CUDA
#include "activation.cuh"
#include "packed.cuh"
#include "pool.cuh"
#define SQ_PACKED_GPU(...) __VA_ARGS__
#else
// A CPU-only build never makes a GPU layer (PackedNetwork::load refuses a CUDA device first).
#define SQ_PACKED_GPU(...) SQ_FAIL("this build of SQ-CUDA has no CUDA")
#endif

namespace sq::deploy::detail {
namespace {

const nn::ExecutionContext& cpu_context() {
  static const nn::ExecutionContext ctx = nn::make_context(Device::cpu());
  return ctx;
}

class Conv final : public Layer {
 public:
  Conv(LayerWeight w, int in, int out, int kernel, int stride, int pad, Device device)
      : w_(w), in_(in), out_(out), kernel_(kernel), stride_(stride), pad_(pad), device_(device) {}
  Shape setup(const Shape& x) override {
    SQ_CHECK(x.size() == 4 && x[1] == in_, "packed conv expects [N, " << in_ << ", H, W], got " << shape_str(x));
    h_ = static_cast<int>(x[2]);
    w_in_ = static_cast<int>(x[3]);
    oh_ = (h_ + 2 * pad_ - kernel_) / stride_ + 1;
    ow_ = (w_in_ + 2 * pad_ - kernel_) / stride_ + 1;
    if (device_.is_cpu()) columns_ = Tensor({w_.cols, std::int64_t(oh_) * ow_}, DType::f32, Device::cpu());
    y_ = Tensor({x[0], out_, oh_, ow_}, DType::f32, device_);
    return y_.shape();
  }
  const Tensor& forward(const Tensor& x) override {
    if (device_.is_cuda()) {
      sq::detail::ConvGeometry g;
      g.n = x.dim(0);
      g.c = in_;
      g.h = h_;
      g.w = w_in_;
      g.kernel = kernel_;
      g.stride = stride_;
      g.pad = pad_;
      g.out_h = oh_;
      g.out_w = ow_;
      SQ_PACKED_GPU(gpu::packed_conv_forward(y_.data<float>(), w_.gemm(), w_.bias, x.data<float>(), g, nullptr));
      return y_;
    }
    const std::int64_t ohw = std::int64_t(oh_) * ow_, in_size = std::int64_t(in_) * h_ * w_in_;
    float* col = columns_.data<float>();
    for (std::int64_t n = 0; n < x.dim(0); ++n) {
      float* y = y_.data<float>() + n * out_ * ohw;
      cpu::im2col(col, ohw, x.data<float>() + n * in_size, in_, h_, w_in_, kernel_, stride_, pad_, oh_, ow_);
      if (w_.packed) {
        packed_gemm_columns(y, w_.codes, w_.bias, col, ohw);
      } else {
        nn::detail::gemm(cpu_context(), false, false, out_, ohw, w_.cols, 1.f, w_.fp32, w_.cols, col, ohw, 0.f, y, ohw);
        if (w_.bias) cpu::bias_add(y, w_.bias, 1, out_, ohw);
      }
    }
    return y_;
  }

 private:
  LayerWeight w_;
  int in_, out_, kernel_, stride_, pad_;
  Device device_;
  int h_ = 0, w_in_ = 0, oh_ = 0, ow_ = 0;
  Tensor columns_, y_;
};

class Linear final : public Layer {
 public:
  Linear(LayerWeight w, int in, int out, Device device) : w_(w), in_(in), out_(out), device_(device) {}
  Shape setup(const Shape& x) override {
    SQ_CHECK(x.size() == 2 && x[1] == in_, "packed linear expects [N, " << in_ << "], got " << shape_str(x));
    y_ = Tensor({x[0], out_}, DType::f32, device_);
    return y_.shape();
  }
  const Tensor& forward(const Tensor& x) override {
    const std::int64_t n = x.dim(0);
    float* y = y_.data<float>();
    if (device_.is_cuda()) {
      SQ_PACKED_GPU(gpu::packed_linear_forward(y, w_.gemm(), w_.bias, x.data<float>(), n, nullptr));
    } else if (w_.packed) {
      packed_gemm_rows(y, w_.codes, w_.bias, x.data<float>(), n);
    } else {
      nn::detail::gemm(cpu_context(), false, true, n, out_, in_, 1.f, x.data<float>(), in_, w_.fp32, in_, 0.f, y, out_);
      if (w_.bias) cpu::bias_add(y, w_.bias, n, out_, 1);
    }
    return y_;
  }

 private:
  LayerWeight w_;
  int in_, out_;
  Device device_;
  Tensor y_;
};

class Affine final : public Layer {
 public:
  Affine(const float* scale, const float* shift, int channels, Device device)
      : scale_(scale), shift_(shift), channels_(channels), device_(device) {}
  Shape setup(const Shape& x) override {
    SQ_CHECK((x.size() == 4 || x.size() == 2) && x[1] == channels_,
             "packed BN expects [N, " << channels_ << ", ...], got " << shape_str(x));
    inner_ = x.size() == 4 ? x[2] * x[3] : 1;
    y_ = Tensor(x, DType::f32, device_);
    return x;
  }
  const Tensor& forward(const Tensor& x) override {
    const float* in = x.data<float>();
    float* y = y_.data<float>();
    if (device_.is_cuda()) {
      SQ_PACKED_GPU(gpu::channel_affine(y, in, scale_, shift_, x.dim(0), channels_, inner_, nullptr));
      return y_;
    }
    for (std::int64_t n = 0; n < x.dim(0); ++n) {
      for (int c = 0; c < channels_; ++c) {
        const float s = scale_[c], b = shift_[c];
        const std::int64_t base = (n * channels_ + c) * inner_;
        for (std::int64_t i = 0; i < inner_; ++i) y[base + i] = sq::detail::channel_affine_value(in[base + i], s, b);
      }
    }
    return y_;
  }

 private:
  const float *scale_, *shift_;
  int channels_;
  Device device_;
  std::int64_t inner_ = 1;
  Tensor y_;
};

class Relu final : public Layer {
 public:
  explicit Relu(Device device) : device_(device) {}
  Shape setup(const Shape& x) override {
    y_ = Tensor(x, DType::f32, device_);
    return x;
  }
  const Tensor& forward(const Tensor& x) override {
    if (device_.is_cuda()) {
      SQ_PACKED_GPU(gpu::relu_forward(y_.data<float>(), x.data<float>(), x.numel(), nullptr));
    } else {
      cpu::relu_forward(y_.data<float>(), x.data<float>(), x.numel());
    }
    return y_;
  }

 private:
  Device device_;
  Tensor y_;
};

class MaxPool final : public Layer {
 public:
  MaxPool(int kernel, int stride, Device device) : kernel_(kernel), stride_(stride), device_(device) {}
  Shape setup(const Shape& x) override {
    SQ_CHECK(x.size() == 4, "packed maxpool expects [N, C, H, W], got " << shape_str(x));
    h_ = static_cast<int>(x[2]);
    w_ = static_cast<int>(x[3]);
    planes_ = x[0] * x[1];
    const std::int64_t oh = (h_ - kernel_) / stride_ + 1, ow = (w_ - kernel_) / stride_ + 1;
    y_ = Tensor({x[0], x[1], oh, ow}, DType::f32, device_);
    argmax_ = Tensor({x[0], x[1], oh, ow}, DType::i32, device_);
    return y_.shape();
  }
  const Tensor& forward(const Tensor& x) override {
    const int oh = static_cast<int>(y_.dim(2)), ow = static_cast<int>(y_.dim(3));
    if (device_.is_cuda()) {
      SQ_PACKED_GPU(gpu::maxpool2d_forward(y_.data<float>(), argmax_.data<std::int32_t>(), x.data<float>(), planes_, h_,
                                           w_, kernel_, stride_, oh, ow, nullptr));
    } else {
      cpu::maxpool2d_forward(y_.data<float>(), argmax_.data<std::int32_t>(), x.data<float>(), planes_, h_, w_, kernel_,
                             stride_, oh, ow);
    }
    return y_;
  }

 private:
  int kernel_, stride_;
  Device device_;
  int h_ = 0, w_ = 0;
  std::int64_t planes_ = 0;
  Tensor y_, argmax_;
};

class GlobalAvgPool final : public Layer {
 public:
  explicit GlobalAvgPool(Device device) : device_(device) {}
  Shape setup(const Shape& x) override {
    SQ_CHECK(x.size() == 4, "packed global pool expects [N, C, H, W], got " << shape_str(x));
    hw_ = x[2] * x[3];
    y_ = Tensor({x[0], x[1]}, DType::f32, device_);
    return y_.shape();
  }
  const Tensor& forward(const Tensor& x) override {
    if (device_.is_cuda()) {
      SQ_PACKED_GPU(gpu::global_avgpool_forward(y_.data<float>(), x.data<float>(), y_.numel(), hw_, nullptr));
    } else {
      cpu::global_avgpool_forward(y_.data<float>(), x.data<float>(), y_.numel(), hw_);
    }
    return y_;
  }

 private:
  Device device_;
  std::int64_t hw_ = 0;
  Tensor y_;
};

class Flatten final : public Layer {
 public:
  Shape setup(const Shape& x) override {
    shape_ = {x[0], shape_numel(x) / x[0]};
    return shape_;
  }
  const Tensor& forward(const Tensor& x) override {
    view_ = x.view(0, shape_);
    return view_;
  }

 private:
  Shape shape_;
  Tensor view_;
};

class Block final : public Layer {
 public:
  Block(Layers body, Layers shortcut, Device device)
      : body_(std::move(body)), shortcut_(std::move(shortcut)), device_(device) {}
  Shape setup(const Shape& x) override {
    Shape s = x, t = x;
    for (auto& l : body_) s = l->setup(s);
    for (auto& l : shortcut_) t = l->setup(t);
    SQ_CHECK(s == t, "packed block: main path " << shape_str(s) << " and shortcut " << shape_str(t) << " differ");
    y_ = Tensor(s, DType::f32, device_);
    return s;
  }
  const Tensor& forward(const Tensor& x) override {
    const Tensor* main = &x;
    for (auto& l : body_) main = &l->forward(*main);
    const Tensor* shortcut = &x;
    for (auto& l : shortcut_) shortcut = &l->forward(*shortcut);
    float* y = y_.data<float>();
    if (device_.is_cuda()) {
      SQ_PACKED_GPU(gpu::add(y, main->data<float>(), shortcut->data<float>(), y_.numel(), nullptr);
                    gpu::relu_forward(y, y, y_.numel(), nullptr));
    } else {
      cpu::add(y, main->data<float>(), shortcut->data<float>(), y_.numel());
      cpu::relu_forward(y, y, y_.numel());
    }
    return y_;
  }

 private:
  Layers body_, shortcut_;
  Device device_;
  Tensor y_;
};

}  // namespace

std::unique_ptr<Layer> make_conv(LayerWeight w, int in, int out, int kernel, int stride, int pad, Device device) {
  return std::make_unique<Conv>(w, in, out, kernel, stride, pad, device);
}
std::unique_ptr<Layer> make_linear(LayerWeight w, int in, int out, Device device) {
  return std::make_unique<Linear>(w, in, out, device);
}
std::unique_ptr<Layer> make_affine(const float* scale, const float* shift, int channels, Device device) {
  return std::make_unique<Affine>(scale, shift, channels, device);
}
std::unique_ptr<Layer> make_relu(Device device) {
  return std::make_unique<Relu>(device);
}
std::unique_ptr<Layer> make_maxpool(int kernel, int stride, Device device) {
  return std::make_unique<MaxPool>(kernel, stride, device);
}
std::unique_ptr<Layer> make_global_avg_pool(Device device) {
  return std::make_unique<GlobalAvgPool>(device);
}
std::unique_ptr<Layer> make_flatten() {
  return std::make_unique<Flatten>();
}
std::unique_ptr<Layer> make_block(Layers body, Layers shortcut, Device device) {
  return std::make_unique<Block>(std::move(body), std::move(shortcut), device);
}

}  // namespace sq::deploy::detail
