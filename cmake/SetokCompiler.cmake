# Compiler set-up shared by every target: ccache when present, warnings, sanitizers.
find_program(SETOK_CCACHE ccache)
if(SETOK_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${SETOK_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${SETOK_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${SETOK_CCACHE})
endif()

# Warnings for the project's own targets (third-party headers come in as SYSTEM).
add_library(setok_warnings INTERFACE)
target_compile_options(setok_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)

if(SETOK_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
