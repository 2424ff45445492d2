// The emulated build compiles launch-eitp.cu as C++, as launch-emu.cc does launch.cu (g++ cannot be told a .cu file
// is C++ per target in CMake without changing it for the nvcc target too).
#include "launch-eitp.cu"
