# `cmake --install build --prefix DIR` installs the libraries of src/, their
# headers and a CMake package, so that a project of one's own can use them:
#
#   find_package(libtorch_ddp 0.1 CONFIG REQUIRED)   # -DCMAKE_PREFIX_PATH=DIR
#   target_link_libraries(app PRIVATE libtorch_ddp::distributed)
#
# One target per folder of src/ (tutorial_distributed -> libtorch_ddp::distributed),
# each carrying LibTorch and its headers' include folder, DIR/include/libtorch_ddp,
# so that includes read as they do here: "distributed/distributed_data_parallel.h".
# examples/byom/ is such a project.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TUTORIAL_PACKAGE libtorch_ddp)
set(TUTORIAL_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/${TUTORIAL_PACKAGE})
set(TUTORIAL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/${TUTORIAL_PACKAGE})

set(_tutorial_installed tutorial_torch tutorial_cxxopts)
set_target_properties(tutorial_torch PROPERTIES EXPORT_NAME torch)
set_target_properties(tutorial_cxxopts PROPERTIES EXPORT_NAME cxxopts)
foreach(folder core timeline data pipeline models train parallel distributed distributed_train)
  set_target_properties(tutorial_${folder} PROPERTIES EXPORT_NAME ${folder})
  list(APPEND _tutorial_installed tutorial_${folder})
endforeach()

install(TARGETS ${_tutorial_installed} EXPORT ${TUTORIAL_PACKAGE}_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/ DESTINATION ${TUTORIAL_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/generated/build_config.h
  DESTINATION ${TUTORIAL_INSTALL_INCLUDEDIR})
install(EXPORT ${TUTORIAL_PACKAGE}_targets NAMESPACE ${TUTORIAL_PACKAGE}::
  FILE ${TUTORIAL_PACKAGE}Targets.cmake DESTINATION ${TUTORIAL_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/${TUTORIAL_PACKAGE}Config.cmake.in
  ${PROJECT_BINARY_DIR}/${TUTORIAL_PACKAGE}Config.cmake
  INSTALL_DESTINATION ${TUTORIAL_INSTALL_CMAKEDIR})
# 0.x: only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/${TUTORIAL_PACKAGE}ConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/${TUTORIAL_PACKAGE}Config.cmake
  ${PROJECT_BINARY_DIR}/${TUTORIAL_PACKAGE}ConfigVersion.cmake
  DESTINATION ${TUTORIAL_INSTALL_CMAKEDIR})
