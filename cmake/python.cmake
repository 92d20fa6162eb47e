# python.cmake — the Python package batchmd (issue #15; docs/python.md).
#
# Debian's /usr/bin/python3 is the interpreter (the first python3 on PATH may
# be another without numpy and ASE). BMD_WITH_PYTHON=OFF builds without it.
# Build tree: ${BMD_PYTHON_DIR}/batchmd/{*.py, _core.<EXT_SUFFIX>}; install:
# ${BMD_PYTHON_INSTALL_DIR}/batchmd (default lib/python3.X/dist-packages
# under the prefix, on Debian's path for /usr/local).
option(BMD_WITH_PYTHON "the Python package (needs python3-dev)" ON)
set(BMD_PYTHON_DIR ${CMAKE_BINARY_DIR}/python)
set(BMD_PYTHON_ON OFF)
if(BMD_WITH_PYTHON)
  if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module Development.Embed)
  if(Python3_Development.Module_FOUND)
    set(BMD_PYTHON_ON ON)
  else()
    message(STATUS "batchmd: building without the Python package (install python3-dev)")
  endif()
endif()

if(BMD_PYTHON_ON)
  set(BMD_PYTHON_INSTALL_DIR "lib/python${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}/dist-packages"
      CACHE STRING "where `make install` puts the batchmd package (relative to the prefix)")
  # the pure-Python modules, copied at configure time (an edit re-runs it)
  file(GLOB BMD_PY_MODULES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/python/batchmd/*.py)
  file(REMOVE_RECURSE ${BMD_PYTHON_DIR}/batchmd/__pycache__)
  foreach(f ${BMD_PY_MODULES})
    get_filename_component(n ${f} NAME)
    configure_file(${f} ${BMD_PYTHON_DIR}/batchmd/${n} COPYONLY)
  endforeach()
  file(GLOB BMD_PY_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/python/src/*.c)
  Python3_add_library(batchmd_python MODULE WITH_SOABI ${BMD_PY_SOURCES} $<TARGET_OBJECTS:batchmd_cli>)
  set_target_properties(batchmd_python PROPERTIES OUTPUT_NAME _core
    LIBRARY_OUTPUT_DIRECTORY ${BMD_PYTHON_DIR}/batchmd)
  target_include_directories(batchmd_python PRIVATE src app python/src)
  target_link_libraries(batchmd_python PRIVATE batchmd_static)
  # the extension's entry points for `model: {type: python}` (embed.c) are
  # exported; its own copy of libbatchmd binds to itself, not to a
  # libbatchmd.so the process may also have loaded
  target_compile_definitions(batchmd_python PRIVATE BMD_PYTHON_EXECUTABLE="${Python3_EXECUTABLE}")
  target_link_options(batchmd_python PRIVATE -Wl,-Bsymbolic)
  # what src/models/python_embed.c loads at run time for `model: {type:
  # python}` (libbatchmd never links libpython): libpython by its real file
  # (the soname's), and the extension, the build tree's or the installed one
  set(BMD_PYTHON_EMBED_LIB "")
  if(Python3_RUNTIME_LIBRARY_RELEASE)
    get_filename_component(BMD_PYTHON_EMBED_LIB "${Python3_RUNTIME_LIBRARY_RELEASE}" REALPATH)
  elseif(Python3_LIBRARY_RELEASE)
    get_filename_component(BMD_PYTHON_EMBED_LIB "${Python3_LIBRARY_RELEASE}" REALPATH)
  endif()
  if(BMD_PYTHON_EMBED_LIB)
    if(IS_ABSOLUTE "${BMD_PYTHON_INSTALL_DIR}")
      set(bmd_py_ext_install "${BMD_PYTHON_INSTALL_DIR}/batchmd")
    else()
      set(bmd_py_ext_install "${CMAKE_INSTALL_PREFIX}/${BMD_PYTHON_INSTALL_DIR}/batchmd")
    endif()
    # relative to the installed command (bin) and libbatchmd.so (lib), for
    # an install anywhere (cmake --install --prefix P)
    include(GNUInstallDirs)
    set(bmd_py_from_bin "")
    set(bmd_py_from_lib "")
    if(NOT IS_ABSOLUTE "${BMD_PYTHON_INSTALL_DIR}")
      file(RELATIVE_PATH bmd_py_from_bin /p/${CMAKE_INSTALL_BINDIR} /p/${BMD_PYTHON_INSTALL_DIR}/batchmd)
      file(RELATIVE_PATH bmd_py_from_lib /p/${CMAKE_INSTALL_LIBDIR} /p/${BMD_PYTHON_INSTALL_DIR}/batchmd)
      set(bmd_py_from_bin "${bmd_py_from_bin}/$<TARGET_FILE_NAME:batchmd_python>")
      set(bmd_py_from_lib "${bmd_py_from_lib}/$<TARGET_FILE_NAME:batchmd_python>")
    endif()
    set_property(SOURCE src/models/python_embed.c APPEND PROPERTY COMPILE_DEFINITIONS
      BMD_PYTHON_EMBED_LIB="${BMD_PYTHON_EMBED_LIB}"
      BMD_BUILD_DIR="${CMAKE_BINARY_DIR}"
      BMD_PYTHON_EXT_BUILD="$<TARGET_FILE:batchmd_python>"
      BMD_PYTHON_EXT_INSTALL="${bmd_py_ext_install}/$<TARGET_FILE_NAME:batchmd_python>"
      BMD_PYTHON_EXT_FROM_BIN="${bmd_py_from_bin}"
      BMD_PYTHON_EXT_FROM_LIB="${bmd_py_from_lib}")
  else()
    message(STATUS "batchmd: no libpython found: campaigns cannot use `model: {type: python}`")
  endif()
  install(TARGETS batchmd_python LIBRARY DESTINATION ${BMD_PYTHON_INSTALL_DIR}/batchmd)
  install(FILES ${BMD_PY_MODULES} DESTINATION ${BMD_PYTHON_INSTALL_DIR}/batchmd)
endif()
