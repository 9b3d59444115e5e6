# Installs headers, libsq_cuda and a package config so that find_package(sq_cuda) works from an install tree.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS sq_cuda EXPORT sq_cudaTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# config.hpp.in is the template of the generated config.hpp installed below, not a header.
install(DIRECTORY include/sq DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} PATTERN "*.in" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/generated/sq/config.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sq)
install(EXPORT sq_cudaTargets NAMESPACE sq:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sq_cuda)
if(SQ_ENABLE_CUDA)
  install(FILES cmake/FindCUDNN.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sq_cuda)
endif()

configure_package_config_file(cmake/sq_cudaConfig.cmake.in ${PROJECT_BINARY_DIR}/sq_cudaConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sq_cuda)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sq_cudaConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sq_cudaConfig.cmake ${PROJECT_BINARY_DIR}/sq_cudaConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sq_cuda)
