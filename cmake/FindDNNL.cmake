# Finds oneDNN (Debian's libdnnl-dev; DNNL_ROOT hint) without its package config, which also demands OpenCL's
# CMake module. Defines DNNL_FOUND, DNNL_VERSION, DNNL_CPU_RUNTIME (OMP, TBB, SEQ...) and the imported target
# DNNL::dnnl.
set(_dnnl_hints ${DNNL_ROOT} $ENV{DNNL_ROOT})
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp HINTS ${_dnnl_hints} PATH_SUFFIXES include)
find_library(DNNL_LIBRARY NAMES dnnl HINTS ${_dnnl_hints} PATH_SUFFIXES lib lib64)

if(DNNL_INCLUDE_DIR AND EXISTS "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h")
  file(READ "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h" _dnnl_header)
  string(REGEX MATCH "#define DNNL_VERSION_MAJOR ([0-9]+)" _ "${_dnnl_header}")
  set(_major ${CMAKE_MATCH_1})
  string(REGEX MATCH "#define DNNL_VERSION_MINOR ([0-9]+)" _ "${_dnnl_header}")
  set(_minor ${CMAKE_MATCH_1})
  string(REGEX MATCH "#define DNNL_VERSION_PATCH ([0-9]+)" _ "${_dnnl_header}")
  set(DNNL_VERSION "${_major}.${_minor}.${CMAKE_MATCH_1}")
endif()
if(DNNL_INCLUDE_DIR AND EXISTS "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_config.h")
  file(READ "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_config.h" _dnnl_config)
  string(REGEX MATCH "#define DNNL_CPU_RUNTIME DNNL_RUNTIME_([A-Z]+)" _ "${_dnnl_config}")
  set(DNNL_CPU_RUNTIME ${CMAKE_MATCH_1})
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DNNL REQUIRED_VARS DNNL_LIBRARY DNNL_INCLUDE_DIR VERSION_VAR DNNL_VERSION)

if(DNNL_FOUND AND NOT TARGET DNNL::dnnl)
  add_library(DNNL::dnnl UNKNOWN IMPORTED)
  set_target_properties(DNNL::dnnl PROPERTIES IMPORTED_LOCATION "${DNNL_LIBRARY}"
                                              INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
endif()
mark_as_advanced(DNNL_INCLUDE_DIR DNNL_LIBRARY)
