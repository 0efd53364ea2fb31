# Third-party dependencies, all from Debian 12 packages (see packaging/install-deps.sh), or for the
# GPU configuration from the LibTorch inside the Python torch package.
find_package(Torch REQUIRED)
set(SETOK_TORCH_LIBS ${TORCH_LIBRARIES})
# LibTorch's exported flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) must reach every TU that includes it.
separate_arguments(SETOK_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
# A CUDA LibTorch (e.g. the one inside Python's torch package) lists its CUDA libraries here;
# Debian's is CPU-only.
if(TORCH_CUDA_LIBRARIES)
  set(SETOK_TORCH_CUDA ON)
else()
  set(SETOK_TORCH_CUDA OFF)
endif()

# c10d's Gloo from C++ (data-parallel training, core/dist): Debian's libtorch-dev has it with
# libgloo-dev's headers. A LibTorch without gloo's headers (the Python package's) builds without it,
# and trains on one process only.
include(CheckIncludeFileCXX)
set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
set(CMAKE_REQUIRED_DEFINITIONS -DUSE_DISTRIBUTED -DUSE_C10D_GLOO ${SETOK_TORCH_CXX_FLAGS})
set(CMAKE_REQUIRED_QUIET ON)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # compiles the header; nothing to link
check_include_file_cxx("torch/csrc/distributed/c10d/ProcessGroupGloo.hpp" SETOK_HAVE_C10D_GLOO "-std=c++17")
unset(CMAKE_REQUIRED_INCLUDES)
unset(CMAKE_REQUIRED_DEFINITIONS)
unset(CMAKE_REQUIRED_QUIET)
unset(CMAKE_TRY_COMPILE_TARGET_TYPE)

# A machine without Debian's -dev packages (the GPU machine) can be handed the header-only
# libraries and GoogleTest's source in one folder: see packaging/gpu-deps.sh.
set(SETOK_DEPS_DIR "" CACHE PATH "Folder with include/ (nlohmann, CLI) and googletest/ for machines without them")

find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  find_path(SETOK_NLOHMANN_DIR nlohmann/json.hpp HINTS ${SETOK_DEPS_DIR}/include REQUIRED)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json INTERFACE ${SETOK_NLOHMANN_DIR})
endif()

find_package(Threads REQUIRED)

find_package(CLI11 QUIET CONFIG)
if(NOT CLI11_FOUND)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp HINTS ${SETOK_DEPS_DIR}/include REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()

# zlib reads Debian's gzipped Fashion-MNIST (core/data); without it only plain IDX files are read.
find_package(ZLIB QUIET)

# SentencePiece (core/llm's text tokenizer and its trainer): Debian's libsentencepiece-dev. The GPU
# configuration may lack it; the language model itself does not need it.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SENTENCEPIECE QUIET IMPORTED_TARGET sentencepiece)
endif()
if(SENTENCEPIECE_FOUND)
  find_library(SETOK_SENTENCEPIECE_TRAIN sentencepiece_train HINTS ${SENTENCEPIECE_LIBRARY_DIRS})
endif()

if(SETOK_WITH_OPENCV)
  find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
endif()

if(SETOK_BUILD_UI)
  find_package(Qt6 REQUIRED COMPONENTS Core Gui Widgets OpenGL OpenGLWidgets Charts Test)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
endif()

# CUDA: compiled when nvcc exists (nothing needs a GPU to build or run).
set(SETOK_HAVE_CUDA OFF)
if(NOT SETOK_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # Turing through Hopper; no GPU is needed to compile for them.
      set(CMAKE_CUDA_ARCHITECTURES 75 80 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(SETOK_HAVE_CUDA ON)
  elseif(SETOK_TORCH_CUDA)
    message(FATAL_ERROR "LibTorch has CUDA but no CUDA compiler was found for kernels/")
  elseif(SETOK_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SETOK_CUDA=ON but no CUDA compiler was found")
  endif()
endif()

if(SETOK_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND AND EXISTS ${SETOK_DEPS_DIR}/googletest/CMakeLists.txt)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(${SETOK_DEPS_DIR}/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
    set(GTest_FOUND ON)
  endif()
  if(NOT GTest_FOUND)
    message(WARNING "GoogleTest not found: tests are not built")
    set(SETOK_BUILD_TESTS OFF)
  endif()
endif()
