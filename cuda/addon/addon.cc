// The N-API module of the CUDA backend (built twice: eitp_cuda with nvcc and the CUDA runtime, eitp_cuda_emu with
// g++ and the CPU emulator). Every C++ or CUDA failure becomes a thrown JS Error (or a rejected promise for
// readback) naming the CUDA error, the kernel and the launch shape; nothing here aborts the process.
#include <napi.h>

#include <cstring>
#include <functional>
#include <string>

#include "args.h"
#include "device.h"
#include "ops.h"

namespace eitp {
namespace {

// What each ErrorOp (types.h) checked: the op, and what the bad value was.
struct ErrorOpName {
  const char *op, *what;
};
const ErrorOpName kErrorOps[] = {{"", ""}, {"embedding", "index"}, {"scatterAdd", "index"}, {"oneHot", "index"}, {"crossEntropy", "target"}, {"crossEntropyGrad", "target"}};
constexpr int kErrorOpCount = static_cast<int>(sizeof kErrorOps / sizeof kErrorOps[0]);

// Waits for the stream up to an event on a libuv worker thread, then (on the JS thread) checks the device's
// index-error record and hands the copied bytes to JS. Used by read() and synchronize().
class Waiter : public Napi::AsyncWorker {
 public:
  Waiter(Napi::Env env, char* host, size_t cap, size_t bytes, size_t err_off, cudaEvent_t ev)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), host_(host), cap_(cap), bytes_(bytes), err_off_(err_off), ev_(ev), last_(last_launch()) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const cudaError_t e = cudaEventSynchronize(ev_);
    if (e != cudaSuccess) {
      SetError(std::string("cuda: ") + cudaGetErrorName(e) + " (" + std::to_string(static_cast<int>(e)) + "): " + cudaGetErrorString(e) +
               " while waiting for queued kernels: a kernel failed on the device; the last one queued was " + last_ + " (EITP_CUDA_SYNC=1 names the exact one)");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    DeviceError rec;
    std::memcpy(&rec, host_ + err_off_, sizeof rec);
    Device& d = Device::get();
    if (rec.code > 0) {
      // Report once, then clear the record for the work that follows.
      cudaMemsetAsync(d.error_record(), 0, sizeof(DeviceError), d.raw_stream());
      const ErrorOpName name = rec.code < kErrorOpCount ? kErrorOps[rec.code] : ErrorOpName{"kernel", "index"};
      Napi::Object e = Napi::Error::New(env, std::string("cuda: ") + name.op + ": " + name.what + " " + std::to_string(rec.value) + " at position " + std::to_string(rec.position) +
                                                 " is outside [0, " + std::to_string(rec.limit) + ") (checked on the device, reported at the next readback)")
                           .Value();
      // The fields, so the engine can raise its typed error (engine/backends/cuda/addon.ts, deviceIndexError).
      e.Set("code", "EITP_CUDA_INDEX");
      e.Set("op", name.op);
      e.Set("what", name.what);
      e.Set("value", static_cast<double>(rec.value));
      e.Set("position", static_cast<double>(rec.position));
      e.Set("limit", static_cast<double>(rec.limit));
      deferred_.Reject(e);
    } else {
      auto ab = Napi::ArrayBuffer::New(env, bytes_);
      if (bytes_) std::memcpy(ab.Data(), host_, bytes_);
      deferred_.Resolve(ab);
    }
    done();
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(e.Value());
    done();
  }

 private:
  void done() {
    Device& d = Device::get();
    d.pinned().release(host_, cap_);
    d.give_event(ev_);
  }
  Napi::Promise::Deferred deferred_;
  char* host_;
  size_t cap_, bytes_, err_off_;
  cudaEvent_t ev_;
  std::string last_;
};

// Queues a device-to-host copy of [offset, offset + bytes) of a buffer plus the error record; the promise
// resolves to an ArrayBuffer once the stream has reached it. The event loop is never blocked.
Napi::Value queue_read(Napi::Env env, const Buffer* b, size_t offset, size_t bytes) {
  Device& d = Device::get();
  const size_t err_off = (bytes + 15) / 16 * 16;
  size_t cap = 0;
  char* host = static_cast<char*>(d.pinned().acquire(err_off + sizeof(DeviceError), &cap));
  if (b && bytes) check(cudaMemcpyAsync(host, static_cast<char*>(b->ptr) + offset, bytes, cudaMemcpyDeviceToHost, d.raw_stream()), "cudaMemcpyAsync device-to-host (" + std::to_string(bytes) + " bytes)");
  check(cudaMemcpyAsync(host + err_off, d.error_record(), sizeof(DeviceError), cudaMemcpyDeviceToHost, d.raw_stream()), "cudaMemcpyAsync of the error record");
  cudaEvent_t ev = d.take_event();
  check(cudaEventRecord(ev, d.raw_stream()), "cudaEventRecord");
  auto* w = new Waiter(env, host, cap, bytes, err_off, ev);
  w->Queue();
  return w->promise();
}

Napi::Value info(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  Device& d = Device::get();
  auto o = Napi::Object::New(env);
  o.Set("available", d.available());
#if defined(EITP_CUDA_EMU)
  o.Set("emulated", true);
#else
  o.Set("emulated", false);
#endif
  o.Set("reason", d.reason());
  o.Set("name", d.name());
  o.Set("runtimeVersion", d.runtime_version);
  o.Set("driverVersion", d.driver_version);
  o.Set("multiprocessors", d.sms);
  o.Set("clockKHz", d.clock_khz);
  o.Set("computeCapability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
  o.Set("totalMemory", static_cast<double>(d.total_mem));
  return o;
}

Napi::Value alloc(const Napi::CallbackInfo& cb) {
  const int64_t bytes = arg_int(cb[0], "bytes");
  if (bytes < 0) throw LaunchError("negative allocation size");
  return Napi::Number::New(cb.Env(), Device::get().allocate(static_cast<size_t>(bytes)));
}

Napi::Value release(const Napi::CallbackInfo& cb) {
  Device::get().release(arg_id(cb[0]));
  return cb.Env().Undefined();
}

// write(id, typedArray, byteOffset = 0)
Napi::Value write(const Napi::CallbackInfo& cb) {
  if (!cb[1].IsTypedArray()) throw LaunchError("write needs a typed array");
  const auto ta = cb[1].As<Napi::TypedArray>();
  const auto* src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  const int64_t off = cb.Length() > 2 && !cb[2].IsUndefined() ? arg_int(cb[2], "byte offset") : 0;
  if (off < 0) throw LaunchError("negative byte offset");
  Device::get().write(arg_id(cb[0]), static_cast<size_t>(off), src, ta.ByteLength());
  return cb.Env().Undefined();
}

// read(id, byteOffset, bytes) -> Promise<ArrayBuffer>
Napi::Value read(const Napi::CallbackInfo& cb) {
  Device& d = Device::get();
  d.require();
  const Buffer& b = d.buffer(arg_id(cb[0]));
  const int64_t off = arg_int(cb[1], "byte offset"), bytes = arg_int(cb[2], "bytes");
  if (off < 0 || bytes < 0 || static_cast<size_t>(off + bytes) > b.bytes) {
    throw LaunchError("read of bytes [" + std::to_string(off) + ", " + std::to_string(off + bytes) + ") from a " + std::to_string(b.bytes) + "-byte buffer");
  }
  return queue_read(cb.Env(), &b, static_cast<size_t>(off), static_cast<size_t>(bytes));
}

// synchronize() -> Promise<void>: resolves when everything queued so far has run (or rejects with its error).
Napi::Value synchronize(const Napi::CallbackInfo& cb) {
  Device::get().require();
  return queue_read(cb.Env(), nullptr, 0, 0);
}

Napi::Value stats(const Napi::CallbackInfo& cb) {
  Device& d = Device::get();
  auto o = Napi::Object::New(cb.Env());
  o.Set("inUseBytes", static_cast<double>(d.allocator().in_use()));
  o.Set("cachedBytes", static_cast<double>(d.allocator().cached()));
  o.Set("liveBuffers", static_cast<double>(d.live_buffers()));
  return o;
}

// trim(): waits for the stream and returns cached blocks to the driver (backend destroy()).
Napi::Value trim(const Napi::CallbackInfo& cb) {
  Device& d = Device::get();
  if (d.available()) {
    check(cudaStreamSynchronize(d.raw_stream()), "cudaStreamSynchronize");
    d.allocator().trim();
  }
  return cb.Env().Undefined();
}

using Fn = std::function<Napi::Value(const Napi::CallbackInfo&)>;

// Turns C++ exceptions into JS errors carrying the function name.
void def(Napi::Env env, Napi::Object exports, const char* name, Fn f) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [name, f](const Napi::CallbackInfo& cb) -> Napi::Value {
                          try {
                            return f(cb);
                          } catch (const Napi::Error&) {
                            throw;
                          } catch (const std::exception& e) {
                            throw Napi::Error::New(cb.Env(), std::string("cuda ") + name + ": " + e.what());
                          } catch (...) {
                            // nothing may escape into N-API as a C++ exception: that would abort the process
                            throw Napi::Error::New(cb.Env(), std::string("cuda ") + name + ": unknown C++ exception");
                          }
                        },
                        name));
}

Fn op(void (*f)(const Napi::CallbackInfo&)) {
  return [f](const Napi::CallbackInfo& cb) -> Napi::Value {
    f(cb);
    return cb.Env().Undefined();
  };
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  def(env, exports, "info", info);
  def(env, exports, "alloc", alloc);
  def(env, exports, "free", release);
  def(env, exports, "write", write);
  def(env, exports, "read", read);
  def(env, exports, "synchronize", synchronize);
  def(env, exports, "stats", stats);
  def(env, exports, "trim", trim);
  def(env, exports, "unary", op(op_unary));
  def(env, exports, "binary", op(op_binary));
  def(env, exports, "where", op(op_where));
  def(env, exports, "cast", op(op_cast));
  def(env, exports, "copy", op(op_copy));
  def(env, exports, "reduce", op(op_reduce));
  def(env, exports, "argmax", op(op_argmax));
  def(env, exports, "matmul", op(op_matmul));
  def(env, exports, "tanhJvp", op(op_tanh_jvp));
  def(env, exports, "tanhJvpStep", op(op_tanh_jvp_step));
  def(env, exports, "tanhJvpStepGrad", op(op_tanh_jvp_step_grad));
  def(env, exports, "softmax", op(op_softmax));
  def(env, exports, "softmaxGrad", op(op_softmax_grad));
  def(env, exports, "softmaxGradGrad", op(op_softmax_grad_grad));
  def(env, exports, "crossEntropy", op(op_cross_entropy));
  def(env, exports, "layerNorm", op(op_layer_norm));
  def(env, exports, "softHistogram", op(op_soft_histogram));
  def(env, exports, "softHistogramGrad", op(op_soft_histogram_grad));
  def(env, exports, "correlation", op(op_correlation));
  def(env, exports, "correlationGrad", op(op_correlation_grad));
  def(env, exports, "coherence", op(op_coherence));
  def(env, exports, "coherenceGrad", op(op_coherence_grad));
  def(env, exports, "activationDensity", op(op_activation_density));
  def(env, exports, "activationDensityGrad", op(op_activation_density_grad));
  def(env, exports, "matmulInt8", op(op_matmul_int8));
  def(env, exports, "embedding", op(op_embedding));
  def(env, exports, "scatterAdd", op(op_scatter_add));
  def(env, exports, "oneHot", op(op_one_hot));
  def(env, exports, "copy2d", op(op_copy2d));
  def(env, exports, "pad", op(op_pad));
  def(env, exports, "crossEntropyGrad", op(op_cross_entropy_grad));
  def(env, exports, "layerNormGrad", op(op_layer_norm_grad));
  def(env, exports, "layerNormGradGrad", op(op_layer_norm_grad_grad));
  def(env, exports, "geluGrad", op(op_gelu_grad));
  def(env, exports, "activationGrad", op(op_activation_grad));
  def(env, exports, "linear", op(op_linear));
  def(env, exports, "adamStep", op(op_adam_step));
  def(env, exports, "sgdStep", op(op_sgd_step));
  return exports;
}

}  // namespace
}  // namespace eitp

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return eitp::init(env, exports); }

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitModule)
