# Finds cuDNN. Honours CUDNN_ROOT (e.g. a Python wheel's nvidia/cudnn folder on the GPU machine), else looks
# under the CUDA toolkit. Defines CUDNN_FOUND, CUDNN_VERSION and the imported target CUDNN::cudnn.
# A given root is searched alone (NO_DEFAULT_PATH), and per directory (NAMES_PER_DIR): a wheel ships only the
# versioned libcudnn.so.9, and a plain libcudnn.so elsewhere (the toolkit's) must not win over it, or the header
# of one cuDNN would be built against the library of another.
if(NOT CUDNN_ROOT AND DEFINED ENV{CUDNN_ROOT})
  set(CUDNN_ROOT "$ENV{CUDNN_ROOT}")
endif()
set(_cudnn_names cudnn libcudnn.so.9)
if(CUDNN_ROOT)
  find_path(CUDNN_INCLUDE_DIR cudnn_version.h PATHS ${CUDNN_ROOT} PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_library(CUDNN_LIBRARY NAMES ${_cudnn_names} NAMES_PER_DIR PATHS ${CUDNN_ROOT} PATH_SUFFIXES lib lib64 lib/x64
               NO_DEFAULT_PATH)
else()
  set(_cudnn_hints ${CUDAToolkit_LIBRARY_ROOT} ${CUDAToolkit_TARGET_DIR} /usr/local/cuda)
  find_path(CUDNN_INCLUDE_DIR cudnn_version.h HINTS ${_cudnn_hints} PATH_SUFFIXES include)
  find_library(CUDNN_LIBRARY NAMES ${_cudnn_names} NAMES_PER_DIR HINTS ${_cudnn_hints} PATH_SUFFIXES lib lib64 lib/x64)
endif()

if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_INCLUDE_DIR}/cudnn_version.h")
  file(READ "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _cudnn_header)
  string(REGEX MATCH "#define CUDNN_MAJOR ([0-9]+)" _ "${_cudnn_header}")
  set(_major ${CMAKE_MATCH_1})
  string(REGEX MATCH "#define CUDNN_MINOR ([0-9]+)" _ "${_cudnn_header}")
  set(_minor ${CMAKE_MATCH_1})
  string(REGEX MATCH "#define CUDNN_PATCHLEVEL ([0-9]+)" _ "${_cudnn_header}")
  set(CUDNN_VERSION "${_major}.${_minor}.${CMAKE_MATCH_1}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR VERSION_VAR CUDNN_VERSION)

if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION "${CUDNN_LIBRARY}"
                                                INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
