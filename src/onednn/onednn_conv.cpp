// OnednnConvolution (onednn_conv.hpp): three oneDNN convolution primitives and their staging, set up once.
#include "onednn/onednn_conv.hpp"

#include <sstream>

#include "onednn/onednn_runtime.hpp"
#include "sq/core/error.hpp"

namespace sq::nn::detail {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

struct OnednnConvolution::Plan {
  bool bias = false;
  std::string fwd_impl, bwd_data_impl, bwd_weights_impl;
  onednn::Scratchpad scratchpad;
  // forward
  onednn::Staged fwd_x, fwd_w, fwd_y;
  memory fwd_b;
  onednn::Call fwd;
  // backward weights: x (the forward's staged copy when the layouts agree), dy, dw, db
  onednn::Staged bww_x, bww_dy, bww_dw;
  bool bww_x_from_forward = false, bww_dy_from_bwd_data = false;
  memory bww_db;
  onednn::Call bww;
  // backward data: dy, w, dx
  onednn::Staged bwd_dy, bwd_w, bwd_dx;
  onednn::Call bwd;
  const float* staged_x = nullptr;  // the input whose copy fwd_x.internal holds
};

OnednnConvolution::OnednnConvolution(const OnednnConvShape& s) : plan_(std::make_unique<Plan>()) {
  Plan& p = *plan_;
  p.bias = s.bias;
  dnnl::engine& eng = onednn::cpu_engine();
  const memory::dims x_dims = {s.n, s.c, s.h, s.w}, w_dims = {s.k, s.c, s.kernel, s.kernel},
                     y_dims = {s.n, s.k, s.out_h, s.out_w}, b_dims = {s.k};
  const memory::dims strides = {s.stride, s.stride}, pad_l = {s.padding, s.padding};
  // Right padding that gives exactly out_h x out_w (the framework's floor((h + 2p - k) / s) + 1).
  const memory::dims pad_r = {(s.out_h - 1) * s.stride + s.kernel - s.h - s.padding,
                              (s.out_w - 1) * s.stride + s.kernel - s.w - s.padding};
  const memory::desc x_user(x_dims, f32, tag::nchw), w_user(w_dims, f32, tag::oihw), y_user(y_dims, f32, tag::nchw),
      b_user(b_dims, f32, tag::x);
  const memory::desc x_any(x_dims, f32, tag::any), w_any(w_dims, f32, tag::any), y_any(y_dims, f32, tag::any);
  const dnnl::primitive_attr attr = onednn::user_scratchpad_attr();
  const auto direct = dnnl::algorithm::convolution_direct;

  const auto fwd_desc = s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, direct, x_any,
                                                                 w_any, b_user, y_any, strides, pad_l, pad_r)
                               : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, direct, x_any,
                                                                 w_any, y_any, strides, pad_l, pad_r);
  const dnnl::convolution_forward::primitive_desc fwd_pd(fwd_desc, attr, eng);
  const auto bww_desc =
      s.bias ? dnnl::convolution_backward_weights::desc(direct, x_any, w_any, b_user, y_any, strides, pad_l, pad_r)
             : dnnl::convolution_backward_weights::desc(direct, x_any, w_any, y_any, strides, pad_l, pad_r);
  const dnnl::convolution_backward_weights::primitive_desc bww_pd(bww_desc, attr, eng, fwd_pd);
  const dnnl::convolution_backward_data::desc bwd_desc(direct, x_any, w_any, y_any, strides, pad_l, pad_r);
  const dnnl::convolution_backward_data::primitive_desc bwd_pd(bwd_desc, attr, eng, fwd_pd);
  p.fwd_impl = onednn::implementation(fwd_pd);
  p.bwd_data_impl = onednn::implementation(bwd_pd);
  p.bwd_weights_impl = onednn::implementation(bww_pd);

  p.scratchpad.reserve(fwd_pd.scratchpad_desc());
  p.scratchpad.reserve(bww_pd.scratchpad_desc());
  p.scratchpad.reserve(bwd_pd.scratchpad_desc());
  p.scratchpad.allocate();

  p.fwd_x = onednn::stage(x_user, fwd_pd.src_desc(), true);
  p.fwd_w = onednn::stage(w_user, fwd_pd.weights_desc(), true);
  p.fwd_y = onednn::stage(y_user, fwd_pd.dst_desc(), false);
  std::vector<std::pair<int, memory>> fwd_args = {{DNNL_ARG_SRC, p.fwd_x.operand()},
                                                  {DNNL_ARG_WEIGHTS, p.fwd_w.operand()},
                                                  {DNNL_ARG_DST, p.fwd_y.operand()},
                                                  {DNNL_ARG_SCRATCHPAD, p.scratchpad.bind(fwd_pd.scratchpad_desc())}};
  if (s.bias) {
    p.fwd_b = memory(b_user, eng, DNNL_MEMORY_NONE);
    fwd_args.push_back({DNNL_ARG_BIAS, p.fwd_b});
  }
  p.fwd = onednn::Call(dnnl::convolution_forward(fwd_pd), fwd_args);

  p.bwd_dy = onednn::stage(y_user, bwd_pd.diff_dst_desc(), true);
  p.bwd_w = onednn::stage(w_user, bwd_pd.weights_desc(), true);
  p.bwd_dx = onednn::stage(x_user, bwd_pd.diff_src_desc(), false);
  p.bwd = onednn::Call(dnnl::convolution_backward_data(bwd_pd),
                       {{DNNL_ARG_DIFF_DST, p.bwd_dy.operand()},
                        {DNNL_ARG_WEIGHTS, p.bwd_w.operand()},
                        {DNNL_ARG_DIFF_SRC, p.bwd_dx.operand()},
                        {DNNL_ARG_SCRATCHPAD, p.scratchpad.bind(bwd_pd.scratchpad_desc())}});

  // Backward weights reads x in the forward's layout and dy in backward-data's when they agree (one reorder each).
  p.bww_x_from_forward = p.fwd_x.staged() && bww_pd.src_desc() == fwd_pd.src_desc();
  p.bww_dy_from_bwd_data = p.bwd_dy.staged() && bww_pd.diff_dst_desc() == bwd_pd.diff_dst_desc();
  if (!p.bww_x_from_forward) p.bww_x = onednn::stage(x_user, bww_pd.src_desc(), true);
  if (!p.bww_dy_from_bwd_data) p.bww_dy = onednn::stage(y_user, bww_pd.diff_dst_desc(), true);
  p.bww_dw = onednn::stage(w_user, bww_pd.diff_weights_desc(), false);
  std::vector<std::pair<int, memory>> bww_args = {
      {DNNL_ARG_SRC, p.bww_x_from_forward ? p.fwd_x.internal : p.bww_x.operand()},
      {DNNL_ARG_DIFF_DST, p.bww_dy_from_bwd_data ? p.bwd_dy.internal : p.bww_dy.operand()},
      {DNNL_ARG_DIFF_WEIGHTS, p.bww_dw.operand()},
      {DNNL_ARG_SCRATCHPAD, p.scratchpad.bind(bww_pd.scratchpad_desc())}};
  if (s.bias) {
    p.bww_db = memory(b_user, eng, DNNL_MEMORY_NONE);
    bww_args.push_back({DNNL_ARG_DIFF_BIAS, p.bww_db});
  }
  p.bww = onednn::Call(dnnl::convolution_backward_weights(bww_pd), bww_args);
}

OnednnConvolution::~OnednnConvolution() = default;

void OnednnConvolution::forward(const float* x, const float* w, const float* b, float* y) {
  Plan& p = *plan_;
  onednn::set_handle(p.fwd_x.user, x);
  onednn::set_handle(p.fwd_w.user, w);
  onednn::set_handle(p.fwd_y.user, y);
  if (p.bias) onednn::set_handle(p.fwd_b, b);
  if (p.fwd_x.staged()) p.fwd_x.reorder.run();
  if (p.fwd_w.staged()) p.fwd_w.reorder.run();
  p.fwd.run();
  if (p.fwd_y.staged()) p.fwd_y.reorder.run();
  p.staged_x = x;
}

void OnednnConvolution::backward(const float* x, const float* dy, const float* w, float* dw, float* db, float* dx) {
  Plan& p = *plan_;
  onednn::set_handle(p.bwd_dy.user, dy);
  if (p.bwd_dy.staged()) p.bwd_dy.reorder.run();
  // backward weights
  if (p.bww_x_from_forward) {
    // The forward's staged copy of x is reused; a forward on another input since then would have replaced it.
    SQ_CHECK(p.staged_x == x, "oneDNN Conv2d: backward for an input other than the last forward's");
  } else {
    onednn::set_handle(p.bww_x.user, x);
    if (p.bww_x.staged()) p.bww_x.reorder.run();
  }
  if (!p.bww_dy_from_bwd_data) {
    onednn::set_handle(p.bww_dy.user, dy);
    if (p.bww_dy.staged()) p.bww_dy.reorder.run();
  }
  onednn::set_handle(p.bww_dw.user, dw);
  if (p.bias) onednn::set_handle(p.bww_db, db);
  p.bww.run();
  if (p.bww_dw.staged()) p.bww_dw.reorder.run();
  // backward data
  onednn::set_handle(p.bwd_w.user, w);
  if (p.bwd_w.staged()) p.bwd_w.reorder.run();
  onednn::set_handle(p.bwd_dx.user, dx);
  p.bwd.run();
  if (p.bwd_dx.staged()) p.bwd_dx.reorder.run();
}

std::string OnednnConvolution::describe() const {
  std::ostringstream out;
  out << "onednn fwd " << plan_->fwd_impl << ", bwd-data " << plan_->bwd_data_impl << ", bwd-weights "
      << plan_->bwd_weights_impl;
  return out.str();
}

}  // namespace sq::nn::detail
