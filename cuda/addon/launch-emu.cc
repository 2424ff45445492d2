// The emulated build compiles launch.cu as C++ (g++ cannot be told a .cu file is C++ per target in CMake
// without changing it for the nvcc target too).
#include "launch.cu"
