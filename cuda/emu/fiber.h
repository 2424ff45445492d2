// Fibers for the CUDA emulator: one per CUDA thread of a block, switched by hand-written x86-64 code.
// Why not swapcontext: it makes a sigprocmask syscall per switch (~15x slower); why not one OS thread per CUDA
// thread: ~150x slower. The switch saves only what the SysV ABI says a callee must preserve.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#if !defined(__x86_64__)
#error "the CUDA emulator's fiber switch is written for x86-64"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define EITP_EMU_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#else
#define EITP_EMU_ASAN 0
#endif

// eitp_emu_switch(save, to): pushes the callee-saved registers and the FPU/SSE control words on the current stack,
// stores the stack pointer in *save, loads `to` and pops the same frame there. Weak symbols, so every translation
// unit that includes this header may carry a copy.
// eitp_emu_fiber_start: first "return address" of a new fiber: calls r13(r12) on a 16-byte aligned stack.
asm(R"(
  .pushsection .text
  .weak eitp_emu_switch
  .type eitp_emu_switch,@function
eitp_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size eitp_emu_switch,.-eitp_emu_switch

  .weak eitp_emu_fiber_start
  .type eitp_emu_fiber_start,@function
eitp_emu_fiber_start:
  movq %r12, %rdi
  xorl %ebp, %ebp
  callq *%r13
  ud2
  .size eitp_emu_fiber_start,.-eitp_emu_fiber_start
  .popsection
)");

extern "C" void eitp_emu_switch(void** save, void* to);
extern "C" void eitp_emu_fiber_start();

namespace eitp_emu {

// A fiber stack: mmap'd lazily-committed memory with a PROT_NONE guard page below it, so an overflow faults
// instead of silently overwriting the neighbouring fiber.
struct Stack {
  char* base = nullptr;  // lowest usable byte (just above the guard page)
  size_t size = 0;

  bool allocate(size_t bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    bytes = (bytes + page - 1) / page * page;
    void* p = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    mprotect(p, page, PROT_NONE);
    base = static_cast<char*>(p) + page;
    size = bytes;
    return true;
  }
  ~Stack() {
    if (base) munmap(base - sysconf(_SC_PAGESIZE), size + static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  }
};

// Lays out a frame on `stack` that eitp_emu_switch will "return" into: entry(arg) runs on the fresh stack.
inline void* make_context(Stack& stack, void (*entry)(void*), void* arg) {
#if EITP_EMU_ASAN
  // A fiber abandoned mid-kernel (after an error) leaves poisoned redzones behind; a new fiber starts clean.
  __asan_unpoison_memory_region(stack.base, stack.size);
#endif
  uintptr_t top = reinterpret_cast<uintptr_t>(stack.base + stack.size) & ~uintptr_t(15);
  // After popping 16 bytes of control words, 6 registers and the return address (72 bytes), rsp = top - 16,
  // which is 16-byte aligned as the ABI wants before the stub's call.
  auto* sp = reinterpret_cast<uint64_t*>(top - 16 - 72);
  uint32_t mxcsr;
  uint16_t fcw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fcw));
  std::memset(sp, 0, 88);
  std::memcpy(reinterpret_cast<char*>(sp), &fcw, sizeof fcw);
  std::memcpy(reinterpret_cast<char*>(sp) + 8, &mxcsr, sizeof mxcsr);
  sp[2] = 0;                                          // r15
  sp[3] = 0;                                          // r14
  sp[4] = reinterpret_cast<uint64_t>(entry);          // r13
  sp[5] = reinterpret_cast<uint64_t>(arg);            // r12
  sp[6] = 0;                                          // rbx
  sp[7] = 0;                                          // rbp: 0 ends frame-pointer walks (ASan reports)
  sp[8] = reinterpret_cast<uint64_t>(&eitp_emu_fiber_start);
  return sp;
}

}  // namespace eitp_emu
