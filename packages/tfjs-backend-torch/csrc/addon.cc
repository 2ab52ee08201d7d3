// N-API addon exposing ATen (libtorch) to the TypeScript 'torch' backend for TensorFlow.js.
//
// Design: tensors live in a slot table of at::Tensor; JavaScript only sees integer handles.
// Any ATen operator is called through the c10 dispatcher by name ("aten::conv2d" + overload),
// with arguments converted from JavaScript values according to the operator's schema. This
// keeps the native side small and generic; the kernels themselves are written in TypeScript.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <dlfcn.h>
#include <sys/mman.h>

namespace {

// A caching CPU allocator for large blocks. tfjs-style graphs allocate a fresh output for every op; with glibc,
// blocks above 32 MiB are always fresh mmaps, so every large activation costs page faults and kernel zeroing.
// Freed large blocks are kept in size classes (at most PLUMAGE_TORCH_CACHE_MB; the TS loader defaults it to a quarter
// of RAM, capped at 8 GiB; 2048 when unset) and reused. The pool is bounded by the peak of live large blocks: a request
// the pool cannot serve first releases pooled blocks of other sizes until live + pooled + the new block fit under that
// peak plus peak / PLUMAGE_TORCH_POOL_SLACK_DIV (default 1, i.e. twice the peak; or under live + the new block, when
// live memory itself grows). A tighter bound (8: peak + 1/8) keeps MobileNetV2 224px training at 2.46 GB instead of
// 4.3 GB, but made the main job (MobileNetV2 128px fine-tune) page-fault every step: 54 against 90 img/s.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kHeader = 64;           // keeps c10's 64-byte alignment; stores the block size
  static constexpr size_t kMinCached = 256 << 10;  // smaller blocks go straight to malloc/free
  static constexpr size_t kHugePage = 2 << 20;
  static constexpr size_t kPage = 4096;

  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  static size_t SizeClass(size_t n) {
    if (n < kMinCached) return n;
    size_t p = 1;
    while (p * 2 <= n) p *= 2;
    size_t step = p / 8;  // <= 12.5% rounding waste
    return (n + step - 1) / step * step;
  }

  c10::DataPtr allocate(size_t n) const override {
    size_t size = SizeClass(n);
    void* base = nullptr;
    if (size >= kMinCached) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        base = it->second.back();
        it->second.pop_back();
        cached_ -= size;
      } else {
        const size_t bound = std::max(peak_ + peak_ / slackDiv(), live_ + size);
        EvictLocked(size, [&] { return live_ + cached_ + size <= bound; });
      }
      live_ += size;
      peak_ = std::max(peak_, live_);
    }
    if (base == nullptr) {
      if (size >= kHugePage) {
        base = MapBlock(size);
      } else if (posix_memalign(&base, 64, size + kHeader) != 0 || base == nullptr) {
        throw std::bad_alloc();
      }
      *static_cast<size_t*>(base) = size;
    }
    void* data = static_cast<char*>(base) + kHeader;
    return c10::DataPtr(data, data, &Delete, c10::Device(c10::kCPU));
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

  static void Delete(void* data) {
    if (data == nullptr) return;
    void* base = static_cast<char*>(data) - kHeader;
    size_t size = *static_cast<size_t*>(base);
    CachingCpuAllocator* self = instance;
    if (self != nullptr && size >= kMinCached) {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->live_ -= size;
      if (size <= self->limit_) {
        // A full pool makes room by releasing blocks of other sizes, so that it follows the current workload (an
        // inference after training would otherwise find it full of training-sized blocks and page-fault every output).
        self->EvictLocked(size, [&] { return self->cached_ + size <= self->limit_; });
        if (self->cached_ + size <= self->limit_) {
          self->free_[size].push_back(base);
          self->cached_ += size;
          return;
        }
      }
    }
    ReleaseBlock(base, size);
  }

  size_t cached() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

  void Trim() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& kv : free_)
      for (void* b : kv.second) ReleaseBlock(b, kv.first);
    free_.clear();
    cached_ = 0;
  }

  static CachingCpuAllocator* instance;

 private:
  static size_t MappedLength(size_t size) { return (size + kHeader + kPage - 1) / kPage * kPage; }

  // Blocks of 2 MiB and more are their own anonymous mappings, so that a released block leaves the process at once
  // (glibc would keep blocks under its dynamic mmap threshold, up to 32 MiB, in its heap), 2 MiB-aligned with their
  // whole huge pages marked for transparent huge pages: first touching a fresh block then faults once per 2 MiB instead
  // of once per 4 KiB page (docs/torch-backend.md). Kernels with THP "never" ignore the advice. Smaller blocks stay with
  // malloc, whose heap reuses them without faults (all blocks as mappings: resnet-mini training 130 vs 175 img/s).
  static void* MapBlock(size_t size) {
    const size_t len = MappedLength(size);
    const size_t over = size >= kHugePage ? len + kHugePage : len;
    char* p = static_cast<char*>(mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (over == len) return p;
    char* a = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~static_cast<uintptr_t>(kHugePage - 1));
    if (a > p) munmap(p, static_cast<size_t>(a - p));
    if (p + over > a + len) munmap(a + len, static_cast<size_t>(p + over - (a + len)));
    madvise(a, len / kHugePage * kHugePage, MADV_HUGEPAGE);
    return a;
  }
  static void UnmapBlock(void* base, size_t size) { munmap(base, MappedLength(size)); }
  static size_t slackDiv() {
    static const size_t d = [] { const char* e = std::getenv("PLUMAGE_TORCH_POOL_SLACK_DIV"); return e ? static_cast<size_t>(std::max(1L, std::atol(e))) : size_t{1}; }();
    return d;
  }
  static void ReleaseBlock(void* base, size_t size) {
    if (size >= kHugePage) UnmapBlock(base, size);
    else std::free(base);
  }

  // Releases pooled blocks of sizes other than `keep` until `done()` (callers hold mu_).
  template <typename Done>
  void EvictLocked(size_t keep, Done done) const {
    for (auto it = free_.begin(); !done() && it != free_.end(); ++it) {
      if (it->first == keep) continue;
      while (!it->second.empty() && !done()) {
        ReleaseBlock(it->second.back(), it->first);
        it->second.pop_back();
        cached_ -= it->first;
      }
    }
  }

  size_t limit_;
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable size_t cached_ = 0;
  mutable size_t live_ = 0;  // bytes of pooled-size blocks handed out and not yet freed
  mutable size_t peak_ = 0;  // the most live_ has been
};
CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

// The slot table is never destroyed: at exit, static destructors run in an order that would free its tensors after
// the allocator below is gone (a use-after-destroy that crashed processes at exit). The OS reclaims the memory.
std::vector<at::Tensor>& g_slots = *new std::vector<at::Tensor>();
std::vector<int32_t> g_free;
std::vector<c10::OperatorHandle> g_ops;
std::unordered_map<std::string, int32_t> g_opIndex;
c10::Device g_device(c10::kCPU);

int32_t Store(at::Tensor t) {
  if (!g_free.empty()) {
    int32_t id = g_free.back();
    g_free.pop_back();
    g_slots[id] = std::move(t);
    return id;
  }
  g_slots.push_back(std::move(t));
  return static_cast<int32_t>(g_slots.size() - 1);
}

const at::Tensor& Get(const Napi::Env& env, const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "expected a tensor handle (number)");
  int32_t id = v.As<Napi::Number>().Int32Value();
  if (id < 0 || static_cast<size_t>(id) >= g_slots.size() || !g_slots[id].defined())
    throw Napi::Error::New(env, "invalid or disposed tensor handle " + std::to_string(id));
  return g_slots[id];
}

// dtype codes are c10::ScalarType values (Float 6, Int 3, Bool 11, Long 4, Double 7), as ATen schemas take them.
at::ScalarType CodeToType(int code) {
  if (code < 0 || code >= static_cast<int>(at::ScalarType::NumOptions)) throw std::runtime_error("unknown dtype code " + std::to_string(code));
  return static_cast<at::ScalarType>(code);
}

int TypeToCode(at::ScalarType t) { return static_cast<int>(t); }

std::vector<int64_t> ToIntVector(const Napi::Env& env, const Napi::Value& v) {
  std::vector<int64_t> out;
  if (v.IsNumber()) {
    out.push_back(v.As<Napi::Number>().Int64Value());
    return out;
  }
  if (!v.IsArray()) throw Napi::TypeError::New(env, "expected an array of integers");
  auto arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  out.reserve(n);
  for (uint32_t i = 0; i < n; i++) out.push_back(arr.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

c10::IValue Convert(const Napi::Env& env, const Napi::Value& v, const c10::TypePtr& type) {
  using c10::TypeKind;
  switch (type->kind()) {
    case TypeKind::OptionalType: {
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return Convert(env, v, type->castRaw<c10::OptionalType>()->getElementType());
    }
    case TypeKind::TensorType:
      return c10::IValue(Get(env, v));
    case TypeKind::IntType:
    case TypeKind::SymIntType:
      if (v.IsBoolean()) return c10::IValue(static_cast<int64_t>(v.As<Napi::Boolean>().Value()));
      return c10::IValue(v.As<Napi::Number>().Int64Value());
    case TypeKind::FloatType:
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case TypeKind::BoolType:
      if (v.IsNumber()) return c10::IValue(v.As<Napi::Number>().Int32Value() != 0);
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case TypeKind::NumberType: {
      if (v.IsBoolean()) return c10::IValue(c10::Scalar(v.As<Napi::Boolean>().Value()));
      double d = v.As<Napi::Number>().DoubleValue();
      // Integral values become integer scalars so integer tensors keep their dtype (ATen promotes on a double scalar).
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0 && !(d == 0 && std::signbit(d)))
        return c10::IValue(c10::Scalar(static_cast<int64_t>(d)));
      return c10::IValue(c10::Scalar(d));
    }
    case TypeKind::StringType:
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case TypeKind::DeviceObjType:
      if (v.IsString()) return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
      return c10::IValue(g_device);
    case TypeKind::ListType: {
      auto elem = type->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case TypeKind::IntType:
        case TypeKind::SymIntType:
          return c10::IValue(ToIntVector(env, v));
        case TypeKind::FloatType: {
          std::vector<double> out;
          auto arr = v.As<Napi::Array>();
          for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).As<Napi::Number>().DoubleValue());
          return c10::IValue(out);
        }
        case TypeKind::BoolType: {
          c10::List<bool> out;
          auto arr = v.As<Napi::Array>();
          for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(arr.Get(i).ToBoolean().Value());
          return c10::IValue(out);
        }
        case TypeKind::TensorType: {
          c10::List<at::Tensor> out;
          auto arr = v.As<Napi::Array>();
          for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(Get(env, arr.Get(i)));
          return c10::IValue(out);
        }
        case TypeKind::OptionalType: {
          c10::List<c10::optional<at::Tensor>> out;
          auto arr = v.As<Napi::Array>();
          for (uint32_t i = 0; i < arr.Length(); i++) {
            Napi::Value e = arr.Get(i);
            if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
            else out.push_back(Get(env, e));
          }
          return c10::IValue(out);
        }
        default:
          break;
      }
      throw Napi::TypeError::New(env, "unsupported list argument type " + type->str());
    }
    default:
      break;
  }
  throw Napi::TypeError::New(env, "unsupported argument type " + type->str());
}

Napi::Value Result(const Napi::Env& env, const c10::IValue& v) {
  if (v.isTensor()) {
    if (!v.toTensor().defined()) return env.Null();
    return Napi::Number::New(env, Store(v.toTensor()));
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, Store(list.get(i))));
    return arr;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    auto arr = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) arr.Set(static_cast<uint32_t>(i), Result(env, elems[i]));
    return arr;
  }
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isNone()) return env.Null();
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  throw Napi::Error::New(env, "unsupported result type " + v.tagKind());
}

#define GUARD_BEGIN try {
#define GUARD_END                                                              \
  }                                                                            \
  catch (const Napi::Error&) {                                                 \
    throw;                                                                     \
  }                                                                            \
  catch (const c10::Error& e) {                                                \
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what_without_backtrace()); \
  }                                                                            \
  catch (const std::exception& e) {                                            \
    throw Napi::Error::New(info.Env(), std::string("libtorch: ") + e.what()); \
  }

// op(name: string, overload: string): number
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  std::string key = name + "." + overload;
  auto it = g_opIndex.find(key);
  if (it != g_opIndex.end()) return Napi::Number::New(info.Env(), it->second);
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle.has_value()) throw Napi::Error::New(info.Env(), "no ATen operator " + key);
  g_ops.push_back(*handle);
  int32_t id = static_cast<int32_t>(g_ops.size() - 1);
  g_opIndex[key] = id;
  return Napi::Number::New(info.Env(), id);
  GUARD_END
}

// schema(op: number): string
Napi::Value Schema(const Napi::CallbackInfo& info) {
  int32_t id = info[0].As<Napi::Number>().Int32Value();
  std::ostringstream ss;
  ss << g_ops.at(id).schema();
  return Napi::String::New(info.Env(), ss.str());
}

// call(op: number, args: unknown[]): result (a handle, a number, or an array of them)
Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GUARD_BEGIN
  int32_t id = info[0].As<Napi::Number>().Int32Value();
  const c10::OperatorHandle& op = g_ops.at(id);
  const auto& schema = op.schema();
  const auto& formals = schema.arguments();
  auto args = info[1].As<Napi::Array>();
  uint32_t n = args.Length();
  if (n > formals.size()) throw Napi::Error::New(env, "too many arguments for " + schema.name());
  torch::jit::Stack stack;
  stack.reserve(formals.size());
  for (size_t i = 0; i < formals.size(); i++) {
    const auto& formal = formals[i];
    if (i < n) {
      Napi::Value v = args.Get(static_cast<uint32_t>(i));
      if (!v.IsUndefined()) {
        stack.push_back(Convert(env, v, formal.type()));
        continue;
      }
    }
    if (formal.default_value().has_value()) {
      stack.push_back(*formal.default_value());
    } else if (formal.type()->kind() == c10::TypeKind::OptionalType) {
      stack.push_back(c10::IValue());
    } else {
      throw Napi::Error::New(env, "missing argument '" + formal.name() + "' for " + schema.name());
    }
  }
  {
    c10::InferenceMode guard;
    op.callBoxed(&stack);
  }
  if (stack.size() == 1) return Result(env, stack[0]);
  auto arr = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) arr.Set(static_cast<uint32_t>(i), Result(env, stack[i]));
  return arr;
  GUARD_END
}

// fromArray(data: TypedArray, shape: number[], dtype: number): handle
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GUARD_BEGIN
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = ToIntVector(env, info[1]);
  auto type = CodeToType(info[2].As<Napi::Number>().Int32Value());
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  size_t elemSize = c10::elementSize(type);
  if (static_cast<size_t>(numel) * elemSize != ta.ByteLength())
    throw Napi::Error::New(env, "fromArray: buffer has " + std::to_string(ta.ByteLength()) + " bytes, shape needs " +
                                    std::to_string(numel * elemSize));
  at::Tensor t;
  {
    c10::InferenceMode guard;
    t = at::empty(shape, at::TensorOptions().dtype(type));
    if (numel > 0) {
      auto* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      std::memcpy(t.data_ptr(), src, numel * elemSize);
    }
    if (g_device.type() != c10::kCPU) t = t.to(g_device);
  }
  return Napi::Number::New(env, Store(std::move(t)));
  GUARD_END
}

// toArray(h: handle): Float32Array | Int32Array | Uint8Array (bool)
Napi::Value ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GUARD_BEGIN
  at::Tensor t = Get(env, info[0]);
  {
    c10::InferenceMode guard;
    if (t.device().type() != c10::kCPU) t = t.to(c10::kCPU);
    if (t.scalar_type() == at::kLong) t = t.to(at::kInt);
    else if (t.scalar_type() == at::kDouble || t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16) t = t.to(at::kFloat);
    else if (t.scalar_type() == at::kByte || t.scalar_type() == at::kChar || t.scalar_type() == at::kShort) t = t.to(at::kInt);
    t = t.contiguous();
  }
  size_t numel = static_cast<size_t>(t.numel());
  switch (t.scalar_type()) {
    case at::kFloat: {
      auto out = Napi::Float32Array::New(env, numel);
      if (numel) std::memcpy(out.Data(), t.data_ptr(), numel * 4);
      return out;
    }
    case at::kInt: {
      auto out = Napi::Int32Array::New(env, numel);
      if (numel) std::memcpy(out.Data(), t.data_ptr(), numel * 4);
      return out;
    }
    case at::kBool: {
      auto out = Napi::Uint8Array::New(env, numel);
      if (numel) std::memcpy(out.Data(), t.data_ptr(), numel);
      return out;
    }
    default:
      throw Napi::Error::New(env, "toArray: unsupported dtype");
  }
  GUARD_END
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  int32_t id = info[0].As<Napi::Number>().Int32Value();
  if (id >= 0 && static_cast<size_t>(id) < g_slots.size() && g_slots[id].defined()) {
    g_slots[id].reset();
    g_free.push_back(id);
  }
  return info.Env().Undefined();
}

// Duplicates a handle (shares the same at::Tensor).
Napi::Value Dup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::Number::New(env, Store(Get(env, info[0])));
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = Get(env, info[0]);
  auto arr = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(t.size(i))));
  return arr;
}

Napi::Value DType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::Number::New(env, TypeToCode(Get(env, info[0]).scalar_type()));
}

Napi::Value NBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = Get(env, info[0]);
  return Napi::Number::New(env, static_cast<double>(t.numel() * t.element_size()));
}

Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_slots.size() - g_free.size()));
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n > 0) at::set_num_threads(n);
  return info.Env().Undefined();
}

// OpenBLAS's thread count, looked up at run time (libtorch may be linked against another BLAS): -1 when absent.
using BlasSetThreads = void (*)(int);
using BlasGetThreads = int (*)();
Napi::Value SetBlasThreads(const Napi::CallbackInfo& info) {
  static auto set = reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  static auto get = reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set == nullptr || get == nullptr) return Napi::Number::New(info.Env(), -1);
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n > 0 && n != get()) set(n);
  return Napi::Number::New(info.Env(), get());
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value SetDevice(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  g_device = c10::Device(info[0].As<Napi::String>().Utf8Value());
  if (g_device.is_cuda() && !at::hasCUDA())
    throw Napi::Error::New(info.Env(), "PLUMAGE_DEVICE=cuda but this libtorch has no CUDA support (or no GPU is visible)");
  return info.Env().Undefined();
  GUARD_END
}

Napi::Value HasCuda(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA());
}

Napi::Value Config(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), at::show_config() + at::get_parallel_info());
}

Napi::Value CacheInfo(const Napi::CallbackInfo& info) {
  auto* a = CachingCpuAllocator::instance;
  return Napi::Number::New(info.Env(), a ? static_cast<double>(a->cached()) : -1.0);
}

Napi::Value TrimCache(const Napi::CallbackInfo& info) {
  if (CachingCpuAllocator::instance) CachingCpuAllocator::instance->Trim();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  {
    const char* mb = std::getenv("PLUMAGE_TORCH_CACHE_MB");
    long limit = mb ? std::atol(mb) : 2048;
    if (limit > 0 && CachingCpuAllocator::instance == nullptr) {
      // Never destroyed (c10 keeps the pointer, and tensors freed during exit still call Delete); blocks allocated
      // before it keep their own deleters.
      auto* alloc = new CachingCpuAllocator(static_cast<size_t>(limit) << 20);
      CachingCpuAllocator::instance = alloc;
      c10::SetAllocator(c10::kCPU, alloc, /*priority=*/100);
    }
  }
  exports.Set("cachedBytes", Napi::Function::New(env, CacheInfo));
  exports.Set("trimCache", Napi::Function::New(env, TrimCache));
  exports.Set("op", Napi::Function::New(env, FindOp));
  exports.Set("schema", Napi::Function::New(env, Schema));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("fromArray", Napi::Function::New(env, FromArray));
  exports.Set("toArray", Napi::Function::New(env, ToArray));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("dup", Napi::Function::New(env, Dup));
  exports.Set("shape", Napi::Function::New(env, Shape));
  exports.Set("dtype", Napi::Function::New(env, DType));
  exports.Set("nbytes", Napi::Function::New(env, NBytes));
  exports.Set("liveHandles", Napi::Function::New(env, LiveHandles));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("setBlasThreads", Napi::Function::New(env, SetBlasThreads));
  exports.Set("setDevice", Napi::Function::New(env, SetDevice));
  exports.Set("hasCuda", Napi::Function::New(env, HasCuda));
  exports.Set("config", Napi::Function::New(env, Config));
  return exports;
}

}  // namespace

NODE_API_MODULE(plumage_torch, Init)
