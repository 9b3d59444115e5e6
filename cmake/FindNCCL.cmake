# Finds NCCL (GPU collectives for data-parallel training, docs/DISTRIBUTED.md). Honours NCCL_ROOT (e.g. a Python
# wheel's nvidia/nccl folder on the GPU machine), else looks under the CUDA toolkit, like FindCUDNN.cmake.
# Defines NCCL_FOUND, NCCL_VERSION and the imported target NCCL::nccl.
if(NOT NCCL_ROOT AND DEFINED ENV{NCCL_ROOT})
  set(NCCL_ROOT "$ENV{NCCL_ROOT}")
endif()
set(_nccl_names nccl libnccl.so.2)
if(NCCL_ROOT)
  find_path(NCCL_INCLUDE_DIR nccl.h PATHS ${NCCL_ROOT} PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_library(NCCL_LIBRARY NAMES ${_nccl_names} NAMES_PER_DIR PATHS ${NCCL_ROOT} PATH_SUFFIXES lib lib64
               NO_DEFAULT_PATH)
else()
  set(_nccl_hints ${CUDAToolkit_LIBRARY_ROOT} ${CUDAToolkit_TARGET_DIR} /usr/local/cuda)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY NAMES ${_nccl_names} NAMES_PER_DIR HINTS ${_nccl_hints} PATH_SUFFIXES lib lib64)
endif()

if(NCCL_INCLUDE_DIR AND EXISTS "${NCCL_INCLUDE_DIR}/nccl.h")
  file(READ "${NCCL_INCLUDE_DIR}/nccl.h" _nccl_header)
  string(REGEX MATCH "#define NCCL_MAJOR ([0-9]+)" _ "${_nccl_header}")
  set(_major ${CMAKE_MATCH_1})
  string(REGEX MATCH "#define NCCL_MINOR ([0-9]+)" _ "${_nccl_header}")
  set(_minor ${CMAKE_MATCH_1})
  string(REGEX MATCH "#define NCCL_PATCH ([0-9]+)" _ "${_nccl_header}")
  set(NCCL_VERSION "${_major}.${_minor}.${CMAKE_MATCH_1}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NCCL REQUIRED_VARS NCCL_LIBRARY NCCL_INCLUDE_DIR VERSION_VAR NCCL_VERSION)

if(NCCL_FOUND AND NOT TARGET NCCL::nccl)
  add_library(NCCL::nccl UNKNOWN IMPORTED)
  set_target_properties(NCCL::nccl PROPERTIES IMPORTED_LOCATION "${NCCL_LIBRARY}"
                                              INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}")
endif()
mark_as_advanced(NCCL_INCLUDE_DIR NCCL_LIBRARY)
