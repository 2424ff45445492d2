# The CUDA backend's two Node addons, included from the root CMakeLists.txt after project():
#   eitp_cuda      hand-written kernels compiled by nvcc (only when a CUDA compiler is found), static cudart,
#                  SASS for sm_80 and sm_90 plus sm_90 PTX, and a ptxas gate that fails the build on register
#                  spills or local memory use;
#   eitp_cuda_emu  the same kernel headers and addon sources compiled by the host C++ compiler under the CPU
#                  emulator (cuda/emu), always built, so the kernels' logic is tested on machines without a GPU.
# They are separate targets so that a CUDA build failure can never break the native addon or the emulated one.
cmake_minimum_required(VERSION 3.18)
# -DEITP_CUDA=OFF leaves the CUDA backend out of the configuration entirely (no CUDA compiler detection).
option(EITP_CUDA "configure the CUDA backend's addons" ON)
if(NOT EITP_CUDA)
  message(STATUS "eitp: EITP_CUDA=OFF, the CUDA addons are not configured")
  return()
endif()
set(EITP_CUDA_DIR "${CMAKE_CURRENT_LIST_DIR}")
get_filename_component(EITP_ROOT "${EITP_CUDA_DIR}/.." ABSOLUTE)

# ---- Node-API headers: cmake-js passes CMAKE_JS_INC; a plain cmake build asks the installed packages --------
if(CMAKE_JS_INC)
  set(EITP_NODE_INC ${CMAKE_JS_INC})
else()
  find_program(EITP_NODE node REQUIRED)
  execute_process(COMMAND "${EITP_NODE}" -p "require('node-api-headers').include_dir"
                  WORKING_DIRECTORY "${EITP_ROOT}" OUTPUT_VARIABLE EITP_NODE_INC OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
set(EITP_NAPI_INC "${EITP_ROOT}/node_modules/node-addon-api")

# By default the CUDA addons are not part of `all`: the build script builds them as separate targets after the
# native addon, so a failure here can never stop the native addon from building. -DEITP_CUDA_IN_ALL=ON puts them
# back into `all` (one `cmake --build` builds everything).
option(EITP_CUDA_IN_ALL "build eitp_cuda and eitp_cuda_emu as part of 'all'" OFF)
if(EITP_CUDA_IN_ALL)
  set(EITP_CUDA_EXCLUDE "")
else()
  set(EITP_CUDA_EXCLUDE EXCLUDE_FROM_ALL)
endif()

set(EITP_CUDA_ADDON_SOURCES
    "${EITP_CUDA_DIR}/addon/addon.cc"
    "${EITP_CUDA_DIR}/addon/device.cc"
    "${EITP_CUDA_DIR}/addon/ops.cc")

function(eitp_cuda_napi_target name)
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".node" POSITION_INDEPENDENT_CODE ON
                        CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON CXX_VISIBILITY_PRESET hidden)
  target_include_directories(${name} PRIVATE ${EITP_NODE_INC} "${EITP_NAPI_INC}")
  target_compile_definitions(${name} PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_GYP_MODULE_NAME=${name})
  if(CMAKE_JS_SRC)
    target_sources(${name} PRIVATE ${CMAKE_JS_SRC})
  endif()
  if(CMAKE_JS_LIB)
    target_link_libraries(${name} PRIVATE ${CMAKE_JS_LIB})
  endif()
endfunction()

# ---- eitp_cuda_emu: always ------------------------------------------------------------------------------------
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  find_package(Threads REQUIRED)
  add_library(eitp_cuda_emu SHARED ${EITP_CUDA_EXCLUDE} ${EITP_CUDA_ADDON_SOURCES} "${EITP_CUDA_DIR}/addon/launch-emu.cc"
              "${EITP_CUDA_DIR}/addon/launch-eitp-emu.cc")
  eitp_cuda_napi_target(eitp_cuda_emu)
  target_compile_definitions(eitp_cuda_emu PRIVATE EITP_CUDA_EMU)
  # Kernels type-pun shared memory through float4 as CUDA code does; -O2 even in debug builds, since emulated
  # kernels are slow enough already.
  target_compile_options(eitp_cuda_emu PRIVATE -O2 -fno-strict-aliasing -Wall -Wno-unknown-pragmas)
  target_link_libraries(eitp_cuda_emu PRIVATE Threads::Threads)
  # -DEITP_CUDA_SANITIZE=address,undefined: the emulated addon under sanitizers, for running the JS suites with
  # LD_PRELOAD=$(g++ -print-file-name=libasan.so) and EITP_CUDA_NO_CACHE=1 (see scripts/cuda-asan.sh --addon).
  set(EITP_CUDA_SANITIZE "" CACHE STRING "sanitizers for eitp_cuda_emu (address,undefined,...)")
  if(EITP_CUDA_SANITIZE)
    target_compile_options(eitp_cuda_emu PRIVATE -fsanitize=${EITP_CUDA_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all -g)
    target_link_options(eitp_cuda_emu PRIVATE -fsanitize=${EITP_CUDA_SANITIZE})
  endif()
else()
  message(STATUS "eitp_cuda_emu: the emulator's fiber switch is x86-64 only; not built on ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# ---- eitp_cuda: when nvcc is found ----------------------------------------------------------------------------
include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  # Both must be set before enable_language(CUDA): with no GPU here, CMake's default architecture detection
  # ("native") fails, and the static runtime is what lets the addon load on a machine without a driver.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
  endif()
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  enable_language(CUDA)
  add_library(eitp_cuda SHARED ${EITP_CUDA_EXCLUDE} ${EITP_CUDA_ADDON_SOURCES} "${EITP_CUDA_DIR}/addon/launch.cu"
              "${EITP_CUDA_DIR}/addon/launch-eitp.cu")
  eitp_cuda_napi_target(eitp_cuda)
  set_target_properties(eitp_cuda PROPERTIES CUDA_ARCHITECTURES "80-real;90-real;90-virtual" CUDA_RUNTIME_LIBRARY Static
                        CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  # The spill gate: ptxas fails the build when a kernel spills registers or uses local memory, and prints the
  # registers and shared memory of every kernel.
  target_compile_options(eitp_cuda PRIVATE
      "$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Xptxas -warn-spills,-warn-lmem-usage,-Werror>"
      "$<$<COMPILE_LANGUAGE:CUDA>:--resource-usage>"
      "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fvisibility=hidden>")
  # The .cc sources call the runtime API directly (never the driver API: no -lcuda, no libcuda needed).
  target_include_directories(eitp_cuda PRIVATE ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES})
else()
  message(STATUS "eitp_cuda: no CUDA compiler found; only the emulated CUDA addon (eitp_cuda_emu) is built")
endif()
