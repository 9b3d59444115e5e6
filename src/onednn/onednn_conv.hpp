// Conv2d on oneDNN (the CPU's fast path, --cpu-conv onednn): forward, backward-data and backward-weights
// primitives created once per shape at setup, in the blocked layouts oneDNN prefers, with the reorders from and to
// the framework's NCHW / OIHW tensors and one user-managed scratchpad also made at setup. A call allocates nothing.
#pragma once

#include <memory>
#include <string>

namespace sq::nn::detail {

struct OnednnConvShape {
  int n, c, h, w;  // input (N, C, H, W)
  int k;           // output channels
  int kernel, stride, padding;
  int out_h, out_w;
  bool bias;
};

class OnednnConvolution {
 public:
  explicit OnednnConvolution(const OnednnConvShape& shape);
  ~OnednnConvolution();
  OnednnConvolution(const OnednnConvolution&) = delete;
  OnednnConvolution& operator=(const OnednnConvolution&) = delete;

  // y = conv(x, w) (+ b): x (N, C, H, W), w (K, C, kh, kw), b (K) or nullptr without bias, y (N, K, OH, OW).
  void forward(const float* x, const float* w, const float* b, float* y);
  // Overwrites dw (and db with bias) from the forward's x and dy, then dx from dy and w (dy is staged once for
  // both when their layouts agree).
  void backward(const float* x, const float* dy, const float* w, float* dw, float* db, float* dx);
  // "onednn fwd jit:avx512_core, bwd-data ..., bwd-weights ..."
  std::string describe() const;

 private:
  struct Plan;
  std::unique_ptr<Plan> plan_;
};

}  // namespace sq::nn::detail
