// The few libtorch APIs that differ between Debian's 1.13 and current 2.x releases, behind one
// spelling each. Version checks only here: the rest of the bridge is version-free.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#define CTORCH_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
#define CTORCH_TORCH_AT_LEAST_2_9 CTORCH_TORCH_AT_LEAST(2, 9)

#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>
#if CTORCH_TORCH_AT_LEAST_2_9
#include <ATen/DeviceAccelerator.h>
#endif

#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace ctorch::compat {

/// The key of a parameter in `torch::optim::Optimizer::state()`. libtorch 2.2 (PR 108480)
/// changed the map from std::string (the TensorImpl address printed by c10::guts::to_string,
/// since removed) to the TensorImpl address itself; the key type is read off the map.
using OptimizerStateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer &>().state())>;
using OptimizerStateKey = OptimizerStateMap::key_type;

template <typename Key = OptimizerStateKey> Key optimizer_state_key(const torch::Tensor &parameter) {
    if constexpr (std::is_same_v<Key, std::string>) {
        std::ostringstream s; // what c10::guts::to_string(void *) printed
        s << parameter.unsafeGetTensorImpl();
        return s.str();
    } else {
        return parameter.unsafeGetTensorImpl();
    }
}

/// Autocast state of one device type (CPU or CUDA). libtorch 2.4 replaced the per-device
/// functions (set_enabled / set_cpu_enabled, set_autocast_gpu_dtype / _cpu_dtype) by
/// set_autocast_enabled(device_type, ...) and set_autocast_dtype(device_type, ...).
inline bool autocast_enabled(c10::DeviceType type) {
#if CTORCH_TORCH_AT_LEAST(2, 4)
    return at::autocast::is_autocast_enabled(type);
#else
    return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline void set_autocast_enabled(c10::DeviceType type, bool enabled) {
#if CTORCH_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(type, enabled);
#else
    if (type == c10::DeviceType::CUDA) at::autocast::set_enabled(enabled);
    else at::autocast::set_cpu_enabled(enabled);
#endif
}

inline at::ScalarType autocast_dtype(c10::DeviceType type) {
#if CTORCH_TORCH_AT_LEAST(2, 4)
    return at::autocast::get_autocast_dtype(type);
#else
    return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void set_autocast_dtype(c10::DeviceType type, at::ScalarType dtype) {
#if CTORCH_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_dtype(type, dtype);
#else
    if (type == c10::DeviceType::CUDA) at::autocast::set_autocast_gpu_dtype(dtype);
    else at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

/// Peak bytes allocated and reserved by the caching allocator of accelerator device `index`
/// (torch.cuda.max_memory_allocated(index) / max_memory_reserved(index)): the model's device,
/// not whichever is current. The device-generic at::accelerator statistics exist from libtorch
/// 2.9 on; before that (and with no accelerator) false.
inline bool accelerator_peak_memory(c10::DeviceIndex index, int64_t &allocated, int64_t &reserved) {
#if CTORCH_TORCH_AT_LEAST_2_9
    if (!at::accelerator::getAccelerator(false).has_value() || at::accelerator::deviceCount() == 0) return false;
    if (index < 0) index = at::accelerator::getDeviceIndex();
    const auto stats = at::accelerator::getDeviceStats(index);
    constexpr size_t aggregate = 0; // StatType::AGGREGATE: all pools
    allocated = stats.allocated_bytes[aggregate].peak;
    reserved = stats.reserved_bytes[aggregate].peak;
    return true;
#else
    (void)index;
    (void)allocated;
    (void)reserved;
    return false;
#endif
}

/// Whether this libtorch has a kernel of operator `name` (e.g. "aten::_fused_adam_") for
/// `key` (CPU, CUDA). Asked of the dispatcher at run time, not by version: which ops gained a
/// CPU kernel when (the AMP unscale in 2.x, fused Adam in 2.4) need not be tracked here.
inline bool has_kernel(const char *name, const char *overload, c10::DispatchKey key) {
    const auto handle = c10::Dispatcher::singleton().findSchema(c10::OperatorName(name, overload));
    return handle.has_value() && handle->hasKernelForDispatchKey(key);
}

/// Optimizer::zero_grad() with the same effect and no call per parameter. Before 2.0 it zeroes
/// every defined gradient in place (detach_, zero_: two calls per parameter): here one
/// _foreach_zero_. From 2.0 on it sets them to none (set_to_none, the default) after a detach_
/// per parameter, which only matters to someone else holding the gradient (nobody here): here
/// the reset alone, no operator call.
inline void zero_gradients(torch::optim::Optimizer &optimizer) {
#if CTORCH_TORCH_AT_LEAST(2, 0)
    for (auto &group : optimizer.param_groups())
        for (auto &p : group.params())
            if (p.grad().defined()) p.mutable_grad().reset();
#else
    std::vector<torch::Tensor> grads;
    for (auto &group : optimizer.param_groups())
        for (auto &p : group.params())
            if (p.grad().defined()) grads.push_back(p.grad());
    if (!grads.empty()) at::_foreach_zero_(grads);
#endif
}

} // namespace ctorch::compat
