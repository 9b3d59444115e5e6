// OnednnGemm (onednn_matmul.hpp): one strided oneDNN matmul, set up once.
#include "onednn/onednn_matmul.hpp"

#include "onednn/onednn_runtime.hpp"

namespace sq::nn::detail {

using dnnl::memory;

struct OnednnGemm::Plan {
  memory a, b, c;
  onednn::Scratchpad scratchpad;
  onednn::Call call;
};

OnednnGemm::OnednnGemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                       std::int64_t ldb, std::int64_t ldc)
    : plan_(std::make_unique<Plan>()) {
  Plan& p = *plan_;
  const auto f32 = memory::data_type::f32;
  // op(A)[i, j] sits at a[i * lda + j], or at a[j * lda + i] when transposed: the same matrix with swapped strides.
  const memory::desc a_md({m, k}, f32, trans_a ? memory::dims{1, lda} : memory::dims{lda, 1});
  const memory::desc b_md({k, n}, f32, trans_b ? memory::dims{1, ldb} : memory::dims{ldb, 1});
  const memory::desc c_md({m, n}, f32, memory::dims{ldc, 1});
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), onednn::user_scratchpad_attr(),
                                        onednn::cpu_engine());
  p.scratchpad.reserve(pd.scratchpad_desc());
  p.scratchpad.allocate();
  p.a = memory(a_md, onednn::cpu_engine(), DNNL_MEMORY_NONE);
  p.b = memory(b_md, onednn::cpu_engine(), DNNL_MEMORY_NONE);
  p.c = memory(c_md, onednn::cpu_engine(), DNNL_MEMORY_NONE);
  p.call = onednn::Call(dnnl::matmul(pd), {{DNNL_ARG_SRC, p.a},
                                           {DNNL_ARG_WEIGHTS, p.b},
                                           {DNNL_ARG_DST, p.c},
                                           {DNNL_ARG_SCRATCHPAD, p.scratchpad.bind(pd.scratchpad_desc())}});
}

OnednnGemm::~OnednnGemm() = default;

void OnednnGemm::run(const float* a, const float* b, float* c) {
  Plan& p = *plan_;
  onednn::set_handle(p.a, a);
  onednn::set_handle(p.b, b);
  onednn::set_handle(p.c, c);
  p.call.run();
}

}  // namespace sq::nn::detail
