# cmake/SqVersion.cmake stamps "unknown" for a tree that is not a git checkout (a source tarball), and
# `git describe` for one that is.
#   cmake -DSQ_SOURCE_DIR=<repo> -DWORK_DIR=<scratch> -P version_outside_git.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/tarball)
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK_DIR}/tarball -DOUTPUT=${WORK_DIR}/tarball.cpp
                -P ${SQ_SOURCE_DIR}/cmake/SqVersion.cmake RESULT_VARIABLE _rc)
file(READ ${WORK_DIR}/tarball.cpp _text)
if(NOT _rc EQUAL 0 OR NOT _text MATCHES "return \"unknown\";")
  message(FATAL_ERROR "outside a git checkout the version is not 'unknown':\n${_text}")
endif()
find_program(_git git)
if(_git AND EXISTS ${SQ_SOURCE_DIR}/.git)
  execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${SQ_SOURCE_DIR} -DOUTPUT=${WORK_DIR}/checkout.cpp
                  -P ${SQ_SOURCE_DIR}/cmake/SqVersion.cmake)
  execute_process(COMMAND ${_git} -C ${SQ_SOURCE_DIR} describe --always --dirty --tags
                  OUTPUT_VARIABLE _describe OUTPUT_STRIP_TRAILING_WHITESPACE)
  file(READ ${WORK_DIR}/checkout.cpp _text)
  string(FIND "${_text}" "return \"${_describe}\";" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "in the checkout the version is not '${_describe}':\n${_text}")
  endif()
endif()
file(REMOVE_RECURSE ${WORK_DIR})
