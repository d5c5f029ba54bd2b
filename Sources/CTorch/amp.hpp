// Mixed precision inside the bridge: the autocast region around forward passes and losses,
// and GradScaler's tensor work (unscale the gradients, find inf/NaN). The scale itself and
// its growth/backoff policy live in Swift (Sources/Training/Model/GradScaler.swift).
#pragma once

#include <torch/torch.h>

namespace ctorch {

/// The lower-precision type autocast uses on `device`: float16 on CUDA (torch.cuda.amp), bfloat16
/// on CPU (the only type CPU autocast offers in libtorch 1.13).
at::ScalarType autocast_dtype_for(const torch::Device &device);

/// RAII autocast region, as Python's `with torch.autocast(...)`: enables autocast for the
/// device's type with its lower-precision dtype, and on exit restores the previous state and
/// frees the cast-weight cache when the outermost region closes. Does nothing when !enabled.
class AutocastRegion {
public:
    AutocastRegion(bool enabled, const torch::Device &device);
    ~AutocastRegion();
    AutocastRegion(const AutocastRegion &) = delete;
    AutocastRegion &operator=(const AutocastRegion &) = delete;

private:
    bool active_ = false;
    c10::DeviceType type_ = c10::DeviceType::CPU;
    bool previous_enabled_ = false;
    at::ScalarType previous_dtype_ = at::kFloat;
};

/// GradScaler.unscale_ plus its inf check: multiplies every gradient of `parameters` by
/// 1 / scale and returns found_inf, a float tensor [1] on their device, 1 when any of them holds
/// inf or NaN. No device sync: the caller reads it with the step's other values. One call
/// (_amp_foreach_non_finite_check_and_unscale_) where the libtorch has it for the device, else a
/// few foreach calls; never one per gradient.
torch::Tensor unscale_gradients(const std::vector<torch::Tensor> &parameters, float scale);

/// The per-gradient unscale and check unscale_gradients replaced (ct_model_use_reference_optimizer):
/// mul_, isfinite, all, logical_not, logical_or for each gradient.
torch::Tensor reference_unscale_gradients(const std::vector<torch::Tensor> &parameters, float scale);

} // namespace ctorch
