# Warnings policy: -Wall -Wextra as errors on host C++; nvcc passes them to the host compiler without -Werror
# (CUDA's own headers are not warning-clean under every g++).
function(sq_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Werror>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra --expt-relaxed-constexpr>)
endfunction()
