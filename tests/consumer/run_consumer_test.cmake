# Installs the SQ-CUDA build into a scratch prefix, then configures, builds and runs tests/consumer against it.
file(REMOVE_RECURSE ${SQ_WORK_DIR})
set(_prefix ${SQ_WORK_DIR}/prefix)

function(sq_run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "command failed (${_rc}): ${ARGN}\n${_out}\n${_err}")
  endif()
  message(STATUS "${_out}")
endfunction()

set(_config_args)
if(SQ_CONFIG)
  set(_config_args --config ${SQ_CONFIG})
endif()
sq_run(${CMAKE_COMMAND} --install ${SQ_BUILD_DIR} --prefix ${_prefix} ${_config_args})
# The install tree holds headers only: no CMake templates beside the files generated from them.
file(GLOB_RECURSE _templates ${_prefix}/include/*.in)
if(_templates)
  message(FATAL_ERROR "the install tree holds build templates: ${_templates}")
endif()
foreach(_header sq/config.hpp sq/version.hpp)
  if(NOT EXISTS ${_prefix}/include/${_header})
    message(FATAL_ERROR "the install tree lacks include/${_header}")
  endif()
endforeach()
sq_run(${CMAKE_COMMAND} -S ${SQ_CONSUMER_SOURCE} -B ${SQ_WORK_DIR}/build -G ${SQ_GENERATOR}
       -DCMAKE_PREFIX_PATH=${_prefix} -DCMAKE_BUILD_TYPE=Release
       "-DCMAKE_CUDA_ARCHITECTURES=${SQ_CUDA_ARCHITECTURES}")
sq_run(${CMAKE_COMMAND} --build ${SQ_WORK_DIR}/build)
sq_run(${SQ_WORK_DIR}/build/sq_consumer)
