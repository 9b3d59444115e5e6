// CudnnConvolution: the cuDNN side of one Conv2d shape: descriptors, the forward / backward-data /
// backward-filter algorithms chosen once (cudnnFind, filtered by math mode and determinism), and the workspace
// reserved in the context. Built in Conv2d::setup(); the three calls never allocate or synchronise. A forward-only
// context (ctx.forward_only: evaluation networks) chooses the forward algorithm alone.
#pragma once

#include <cudnn.h>

#include <string>

#include "sq/nn/context.hpp"

namespace sq::nn::detail {

struct ConvShape {
  int n, c, h, w;  // input
  int out_channels, kernel, stride, pad;
  int out_h, out_w;
};

class CudnnConvolution {
 public:
  CudnnConvolution(ExecutionContext& ctx, const ConvShape& shape);
  ~CudnnConvolution();
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  void forward(const ExecutionContext& ctx, const float* x, const float* w, float* y) const;
  void backward_data(const ExecutionContext& ctx, const float* dy, const float* w, float* dx) const;
  void backward_filter(const ExecutionContext& ctx, const float* x, const float* dy, float* dw) const;

  // "fwd 1 (tensor op), bwd-data 1, bwd-filter 3" for logs and benchmarks.
  std::string describe() const;

 private:
  // cudnnFind (benchmarks on the device) per direction, falling back to cudnnGet..._v7 heuristics; sets the algos
  // and math types.
  void find_algorithms(const ExecutionContext& ctx, const ConvShape& shape);
  void create(ExecutionContext& ctx, const ConvShape& shape);  // the constructor's work
  void destroy_descriptors() noexcept;  // the destructor's work; also run when the constructor throws

  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  // One convolution descriptor per direction: each carries the math type of the algorithm chosen for it.
  cudnnConvolutionDescriptor_t fwd_desc_ = nullptr, bwd_data_desc_ = nullptr, bwd_filter_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo_{};
  cudnnMathType_t fwd_math_{}, bwd_data_math_{}, bwd_filter_math_{};
  std::size_t fwd_bytes_ = 0, bwd_data_bytes_ = 0, bwd_filter_bytes_ = 0;
  bool forward_only_ = false;
};

}  // namespace sq::nn::detail
