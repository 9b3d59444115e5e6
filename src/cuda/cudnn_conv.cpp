// cuDNN convolution plan: descriptors, algorithm choice (once per shape) and the three convolution calls.
#include "cuda/cudnn_conv.hpp"

#include <array>
#include <sstream>
#include <vector>

#include "cuda/cuda_libraries.hpp"

namespace sq::nn::detail {

namespace {
// Algorithms needing more workspace than this are skipped (cuDNN always offers one that needs little).
constexpr std::size_t kMaxWorkspaceBytes = std::size_t(1) << 30;

cudnnMathType_t requested_math(MathMode math) {
  // Strict fp32 must exclude TF32 tensor cores; CUDNN_DEFAULT_MATH would allow them on fp32 data since Ampere.
  return math == MathMode::tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

// FFT and Winograd algorithms compute the convolution in a transformed domain: faster, but their rounding is not
// that of fp32 sums of products, so strict fp32 mode leaves them out (TF32 mode may use them).
bool transform_based(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
bool transform_based(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}
bool transform_based(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

// The first (fastest) usable result (in fp32 mode: no tensor-op algorithm; the descriptor keeps CUDNN_FMA_MATH) of
// cudnnFind / cudnnGet_v7, both sorted by expected time.
template <class Perf>
bool pick(const std::vector<Perf>& results, int count, const ExecutionContext& ctx, Perf* chosen) {
  for (int i = 0; i < count; ++i) {
    const Perf& r = results[static_cast<std::size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > kMaxWorkspaceBytes) continue;
    if (ctx.deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
    if (ctx.math == MathMode::fp32 &&
        ((r.mathType != CUDNN_FMA_MATH && r.mathType != CUDNN_DEFAULT_MATH) || transform_based(r.algo))) {
      continue;
    }
    *chosen = r;
    return true;
  }
  return false;
}

cudnnConvolutionDescriptor_t make_conv_desc(const ConvShape& s, cudnnMathType_t math) {
  cudnnConvolutionDescriptor_t desc = nullptr;
  SQ_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&desc));
  SQ_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(desc, s.pad, s.pad, s.stride, s.stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
  SQ_CUDNN_CHECK(cudnnSetConvolutionMathType(desc, math));
  return desc;
}

std::string shape_text(const ConvShape& s) {
  std::ostringstream out;
  out << "input [" << s.n << ", " << s.c << ", " << s.h << ", " << s.w << "], " << s.out_channels << " filters "
      << s.kernel << "x" << s.kernel << " stride " << s.stride << " pad " << s.pad;
  return out.str();
}
}  // namespace

CudnnConvolution::CudnnConvolution(ExecutionContext& ctx, const ConvShape& s) {
  SQ_CHECK(ctx.cuda != nullptr, "Conv2d on " << ctx.device.str() << " needs a context from make_context()");
  // A constructor that throws runs no destructor: release what was created so far before passing the error on.
  try {
    create(ctx, s);
  } catch (...) {
    destroy_descriptors();
    throw;
  }
}

void CudnnConvolution::create(ExecutionContext& ctx, const ConvShape& s) {
  cudnnHandle_t handle = ctx.cuda->cudnn;
  forward_only_ = ctx.forward_only;
  SQ_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
  SQ_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
  SQ_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
  SQ_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c, s.h, s.w));
  SQ_CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.out_channels, s.out_h, s.out_w));
  SQ_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.out_channels, s.c, s.kernel,
                                            s.kernel));
  const cudnnMathType_t math = requested_math(ctx.math);
  fwd_desc_ = make_conv_desc(s, math);
  bwd_data_desc_ = make_conv_desc(s, math);
  bwd_filter_desc_ = make_conv_desc(s, math);

  int n_out = 0, h_out = 0, w_out = 0, c_out = 0;
  SQ_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(fwd_desc_, x_desc_, w_desc_, &n_out, &c_out, &h_out, &w_out));
  SQ_CHECK(n_out == s.n && c_out == s.out_channels && h_out == s.out_h && w_out == s.out_w,
           "cuDNN disagrees on the output shape of the convolution " << shape_text(s));

  // Algorithms are found once per (shape, math mode, determinism) and context: ResNets repeat a handful of shapes.
  std::ostringstream key;
  key << s.n << ',' << s.c << ',' << s.h << ',' << s.w << ',' << s.out_channels << ',' << s.kernel << ',' << s.stride
      << ',' << s.pad << ',' << int(ctx.math) << ',' << int(ctx.deterministic) << ',' << int(forward_only_);
  auto cached = ctx.cuda->conv_algorithms.find(key.str());
  if (cached != ctx.cuda->conv_algorithms.end()) {
    const std::array<int, 6>& c = cached->second;
    fwd_algo_ = static_cast<cudnnConvolutionFwdAlgo_t>(c[0]);
    bwd_data_algo_ = static_cast<cudnnConvolutionBwdDataAlgo_t>(c[1]);
    bwd_filter_algo_ = static_cast<cudnnConvolutionBwdFilterAlgo_t>(c[2]);
    fwd_math_ = static_cast<cudnnMathType_t>(c[3]);
    bwd_data_math_ = static_cast<cudnnMathType_t>(c[4]);
    bwd_filter_math_ = static_cast<cudnnMathType_t>(c[5]);
  } else {
    find_algorithms(ctx, s);
    ctx.cuda->conv_algorithms[key.str()] = {int(fwd_algo_), int(bwd_data_algo_), int(bwd_filter_algo_),
                                            int(fwd_math_), int(bwd_data_math_), int(bwd_filter_math_)};
  }
  SQ_CUDNN_CHECK(cudnnSetConvolutionMathType(fwd_desc_, fwd_math_));
  SQ_CUDNN_CHECK(cudnnSetConvolutionMathType(bwd_data_desc_, bwd_data_math_));
  SQ_CUDNN_CHECK(cudnnSetConvolutionMathType(bwd_filter_desc_, bwd_filter_math_));
  SQ_CUDNN_CHECK(
      cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc_, w_desc_, fwd_desc_, y_desc_, fwd_algo_, &fwd_bytes_));
  if (!forward_only_) {
    SQ_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w_desc_, y_desc_, bwd_data_desc_, x_desc_,
                                                                bwd_data_algo_, &bwd_data_bytes_));
    SQ_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x_desc_, y_desc_, bwd_filter_desc_, w_desc_,
                                                                  bwd_filter_algo_, &bwd_filter_bytes_));
  }
  std::size_t need = fwd_bytes_;
  if (bwd_data_bytes_ > need) need = bwd_data_bytes_;
  if (bwd_filter_bytes_ > need) need = bwd_filter_bytes_;
  ctx.cuda->reserve_workspace(need);
}

// Deterministic mode skips cudnnFind: its choice depends on timings, so two runs could pick different algorithms
// (different bits); the heuristics of cudnnGet..._v7 are a function of shape and device. `find` and `get` are the
// direction's cudnnFind... / cudnnGet..._v7 calls with the descriptors bound: (capacity, &count, results).
namespace {
// `capacity` is cudnnGet...AlgorithmMaxCount for the handle: the *_ALGO_COUNT enumerators count algorithms, not
// results, and cuDNN may return more results than that (tensor-core variants), which would be cut off.
template <class Perf, class Find, class Get>
Perf choose_algorithm(const ExecutionContext& ctx, int capacity, Find find, Get get, const char* direction,
                      const ConvShape& s) {
  SQ_CHECK(capacity > 0, "cuDNN reports no " << direction << " algorithm at all for " << shape_text(s));
  std::vector<Perf> results(static_cast<std::size_t>(capacity));
  int count = 0;
  Perf chosen{};
  bool ok = false;
  if (!ctx.deterministic) {
    SQ_CUDNN_CHECK(find(capacity, &count, results.data()));
    ok = pick(results, count, ctx, &chosen);
  }
  if (!ok) {
    SQ_CUDNN_CHECK(get(capacity, &count, results.data()));
    ok = pick(results, count, ctx, &chosen);
  }
  SQ_CHECK(ok,
           "no cuDNN " << direction << " algorithm fits the math mode / determinism asked for, for " << shape_text(s));
  return chosen;
}
}  // namespace

void CudnnConvolution::find_algorithms(const ExecutionContext& ctx, const ConvShape& s) {
  cudnnHandle_t h = ctx.cuda->cudnn;
  int fwd_count = 0, bwd_data_count = 0, bwd_filter_count = 0;
  SQ_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &fwd_count));
  SQ_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &bwd_data_count));
  SQ_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &bwd_filter_count));
  // Strict fp32 keeps CUDNN_FMA_MATH on the descriptor whatever the perf record says.
  const auto math = [&](cudnnMathType_t chosen) { return ctx.math == MathMode::fp32 ? CUDNN_FMA_MATH : chosen; };
  const auto fwd = choose_algorithm<cudnnConvolutionFwdAlgoPerf_t>(
      ctx, fwd_count,
      [&](int n, int* count, cudnnConvolutionFwdAlgoPerf_t* r) {
        return cudnnFindConvolutionForwardAlgorithm(h, x_desc_, w_desc_, fwd_desc_, y_desc_, n, count, r);
      },
      [&](int n, int* count, cudnnConvolutionFwdAlgoPerf_t* r) {
        return cudnnGetConvolutionForwardAlgorithm_v7(h, x_desc_, w_desc_, fwd_desc_, y_desc_, n, count, r);
      },
      "forward", s);
  fwd_algo_ = fwd.algo;
  fwd_math_ = math(fwd.mathType);
  if (forward_only_) {
    // Never run; set to valid values so the descriptors and describe() stay well defined.
    bwd_data_algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
    bwd_filter_algo_ = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
    bwd_data_math_ = bwd_filter_math_ = requested_math(ctx.math);
    return;
  }
  const auto bwd_data = choose_algorithm<cudnnConvolutionBwdDataAlgoPerf_t>(
      ctx, bwd_data_count,
      [&](int n, int* count, cudnnConvolutionBwdDataAlgoPerf_t* r) {
        return cudnnFindConvolutionBackwardDataAlgorithm(h, w_desc_, y_desc_, bwd_data_desc_, x_desc_, n, count, r);
      },
      [&](int n, int* count, cudnnConvolutionBwdDataAlgoPerf_t* r) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w_desc_, y_desc_, bwd_data_desc_, x_desc_, n, count, r);
      },
      "backward-data", s);
  const auto bwd_filter = choose_algorithm<cudnnConvolutionBwdFilterAlgoPerf_t>(
      ctx, bwd_filter_count,
      [&](int n, int* count, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
        return cudnnFindConvolutionBackwardFilterAlgorithm(h, x_desc_, y_desc_, bwd_filter_desc_, w_desc_, n, count, r);
      },
      [&](int n, int* count, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x_desc_, y_desc_, bwd_filter_desc_, w_desc_, n, count,
                                                             r);
      },
      "backward-filter", s);
  bwd_data_algo_ = bwd_data.algo;
  bwd_data_math_ = math(bwd_data.mathType);
  bwd_filter_algo_ = bwd_filter.algo;
  bwd_filter_math_ = math(bwd_filter.mathType);
}

CudnnConvolution::~CudnnConvolution() {
  destroy_descriptors();
}

void CudnnConvolution::destroy_descriptors() noexcept {
  // Destroy functions only fail on invalid handles; nothing to report from a destructor.
  if (fwd_desc_) (void)cudnnDestroyConvolutionDescriptor(fwd_desc_);
  if (bwd_data_desc_) (void)cudnnDestroyConvolutionDescriptor(bwd_data_desc_);
  if (bwd_filter_desc_) (void)cudnnDestroyConvolutionDescriptor(bwd_filter_desc_);
  if (w_desc_) (void)cudnnDestroyFilterDescriptor(w_desc_);
  if (y_desc_) (void)cudnnDestroyTensorDescriptor(y_desc_);
  if (x_desc_) (void)cudnnDestroyTensorDescriptor(x_desc_);
  fwd_desc_ = bwd_data_desc_ = bwd_filter_desc_ = nullptr;
  w_desc_ = nullptr;
  x_desc_ = y_desc_ = nullptr;
}

void CudnnConvolution::forward(const ExecutionContext& ctx, const float* x, const float* w, float* y) const {
  const float one = 1.f, zero = 0.f;
  SQ_CUDNN_CHECK(cudnnConvolutionForward(ctx.cuda->cudnn, &one, x_desc_, x, w_desc_, w, fwd_desc_, fwd_algo_,
                                         ctx.cuda->workspace.raw(), fwd_bytes_, &zero, y_desc_, y));
}

void CudnnConvolution::backward_data(const ExecutionContext& ctx, const float* dy, const float* w, float* dx) const {
  SQ_CHECK(!forward_only_, "cuDNN backward-data on a convolution set up forward-only");
  const float one = 1.f, zero = 0.f;
  SQ_CUDNN_CHECK(cudnnConvolutionBackwardData(ctx.cuda->cudnn, &one, w_desc_, w, y_desc_, dy, bwd_data_desc_,
                                              bwd_data_algo_, ctx.cuda->workspace.raw(), bwd_data_bytes_, &zero,
                                              x_desc_, dx));
}

void CudnnConvolution::backward_filter(const ExecutionContext& ctx, const float* x, const float* dy, float* dw) const {
  SQ_CHECK(!forward_only_, "cuDNN backward-filter on a convolution set up forward-only");
  const float one = 1.f, zero = 0.f;
  SQ_CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx.cuda->cudnn, &one, x_desc_, x, y_desc_, dy, bwd_filter_desc_,
                                                bwd_filter_algo_, ctx.cuda->workspace.raw(), bwd_filter_bytes_, &zero,
                                                w_desc_, dw));
}

std::string CudnnConvolution::describe() const {
  auto math = [](cudnnMathType_t m) {
    return m == CUDNN_FMA_MATH ? "fma" : m == CUDNN_DEFAULT_MATH ? "default" : "tensor-op";
  };
  std::ostringstream out;
  out << "fwd " << int(fwd_algo_) << " (" << math(fwd_math_) << "), bwd-data " << int(bwd_data_algo_) << " ("
      << math(bwd_data_math_) << "), bwd-filter " << int(bwd_filter_algo_) << " (" << math(bwd_filter_math_) << ")";
  return out.str();
}

}  // namespace sq::nn::detail
