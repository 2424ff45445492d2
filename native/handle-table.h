// Native buffers as plain numbers on the JS side: id = generation · 2^32 + slot. A napi External per buffer (with a
// GC finaliser as backstop) cost a V8 object and a weak reference per allocation, and the weak references made
// every young-generation GC slower; the engine's own FinalizationRegistry already frees what a leaked tensor held.
// A freed slot's generation moves on, so a stale id is recognised: using it is an error, freeing it again a no-op.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace eitp {

template <typename T>
class HandleTable {
 public:
  // Stores p and returns its id (an integer below 2^53, exact as a JS number, never 0).
  double add(T* p) {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.push_back(Slot{});
    }
    slots_[slot].ptr = p;
    return static_cast<double>((static_cast<uint64_t>(slots_[slot].generation) << 32) | slot);
  }

  // The pointer behind id, or nullptr when id is not a live handle of this table.
  T* find(double id) const {
    Slot const* s = lookup(id);
    return s ? s->ptr : nullptr;
  }

  // Removes id and returns its pointer; nullptr (and no change) when id is not live.
  T* take(double id) {
    Slot* s = const_cast<Slot*>(lookup(id));
    if (!s) return nullptr;
    T* p = s->ptr;
    s->ptr = nullptr;
    // 2^20 generations keep ids below 2^53; after that a slot's ids repeat (stale-id detection is best effort)
    s->generation = s->generation % kGenerations + 1;
    free_.push_back(static_cast<uint32_t>(s - slots_.data()));
    return p;
  }

  // Calls fn on every live pointer (teardown).
  template <typename F>
  void forEach(F fn) const {
    for (const Slot& s : slots_)
      if (s.ptr) fn(s.ptr);
  }

 private:
  static constexpr uint32_t kGenerations = 1u << 20;
  struct Slot {
    T* ptr = nullptr;
    uint32_t generation = 1;
  };

  Slot const* lookup(double id) const {
    if (!(id >= 0 && id < 9007199254740992.0) || std::floor(id) != id) return nullptr;
    const uint64_t bits = static_cast<uint64_t>(id);
    const uint64_t slot = bits & 0xffffffffu;
    if (slot >= slots_.size()) return nullptr;
    const Slot& s = slots_[slot];
    return s.ptr && s.generation == (bits >> 32) ? &s : nullptr;
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace eitp
