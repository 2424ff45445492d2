// glibc's malloc thresholds at their steady state from the start (native/heap-thresholds.cc).
#pragma once

#include <string>

namespace eitp {

// What the addon did to glibc's thresholds at load: EITP_NATIVE_GLIBC_THRESHOLDS=1 (the default) raised them, or
// found them set by the process (mallopt, GLIBC_TUNABLES), which glibc then keeps; 0 left them alone; where malloc
// is not glibc's (another C library, or an allocator put in front of it) there is nothing to raise.
enum class HeapThresholds { Raised, Kept, Off, NotGlibc };

// Raises glibc's mmap and trim thresholds to the values its own dynamic rule reaches once a process frees a 32 MiB
// block, unless EITP_NATIVE_GLIBC_THRESHOLDS is 0. Once per process; later calls return the first one's outcome.
// A value other than 0 or 1 leaves them alone and makes heapThresholdsSetting() report it.
HeapThresholds raiseHeapThresholds();

// Empty when EITP_NATIVE_GLIBC_THRESHOLDS is unset, 0 or 1; otherwise the message of the error the addon raises at
// the first allocation (as for its other settings).
const std::string& heapThresholdsSettingError();

// Tests only: whether malloc(bytes) now maps a block of its own (glibc's count of mapped blocks grows); false where
// malloc is not glibc's.
bool mallocMaps(unsigned long bytes);

}  // namespace eitp
