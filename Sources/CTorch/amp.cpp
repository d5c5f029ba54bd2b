// Mixed precision: autocast regions and GradScaler's unscale/inf check (see amp.hpp), and
// the C API's autocast switch.
#include "amp.hpp"

#include "compat.hpp"
#include "internal.hpp"

namespace ctorch {

at::ScalarType autocast_dtype_for(const torch::Device &device) {
    return device.is_cuda() ? at::kHalf : at::kBFloat16;
}

AutocastRegion::AutocastRegion(bool enabled, const torch::Device &device) {
    if (!enabled) return;
    type_ = device.type();
    previous_enabled_ = compat::autocast_enabled(type_);
    previous_dtype_ = compat::autocast_dtype(type_);
    compat::set_autocast_enabled(type_, true);
    compat::set_autocast_dtype(type_, autocast_dtype_for(device));
    at::autocast::increment_nesting();
    active_ = true;
}

AutocastRegion::~AutocastRegion() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    compat::set_autocast_enabled(type_, previous_enabled_);
    compat::set_autocast_dtype(type_, previous_dtype_);
}

torch::Tensor unscale_gradients(const std::vector<torch::Tensor> &parameters, float scale) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    for (const auto &p : parameters)
        if (p.grad().defined()) grads.push_back(p.grad());
    const auto device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
    const auto options = torch::TensorOptions(torch::kFloat32).device(device);
    if (grads.empty()) return torch::zeros({1}, options);
    // GradScaler computes the inverse in double and rounds it to float; for the powers of two
    // it uses the product below is exact.
    const double inverse = double(float(1.0 / double(scale)));
    // Whether this libtorch has the one-call unscale for the device, asked of the dispatcher once.
    static const bool one_call_cpu = compat::has_kernel("aten::_amp_foreach_non_finite_check_and_unscale_", "", c10::DispatchKey::CPU);
    static const bool one_call_cuda = compat::has_kernel("aten::_amp_foreach_non_finite_check_and_unscale_", "", c10::DispatchKey::CUDA);
    if (device.is_cuda() ? one_call_cuda : one_call_cpu) {
        // GradScaler.unscale_: one call multiplies every gradient by inv_scale and sets found_inf
        // to 1 where any element is inf/NaN.
        auto found = torch::zeros({1}, options);
        at::_amp_foreach_non_finite_check_and_unscale_(grads, found, torch::full({1}, inverse, options));
        return found;
    }
    // libtorch 1.13 has that op on CUDA only: the same with foreach ops. g * 0 is 0 for every
    // finite g and NaN for inf/NaN, so the sum of |g * 0| over all gradients is NaN exactly
    // when some gradient element is not finite (a sum of |g| could overflow on finite values).
    at::_foreach_mul_(grads, inverse);
    const auto zeros = at::_foreach_mul(grads, 0.0);
    return at::stack(at::_foreach_norm(zeros, 1)).sum().isnan().to(torch::kFloat32).reshape({1});
}

torch::Tensor reference_unscale_gradients(const std::vector<torch::Tensor> &parameters, float scale) {
    torch::NoGradGuard no_grad;
    const double inverse = double(float(1.0 / double(scale)));
    torch::Tensor found;
    for (const auto &p : parameters) {
        auto g = p.grad();
        if (!g.defined()) continue;
        g.mul_(inverse);
        auto bad = g.isfinite().all().logical_not();
        found = found.defined() ? found.logical_or(bad) : bad;
    }
    if (!found.defined()) {
        const auto device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
        return torch::zeros({1}, torch::TensorOptions(torch::kFloat32).device(device));
    }
    return found.to(torch::kFloat32).reshape({1});
}

} // namespace ctorch

using namespace ctorch;

extern "C" {

ct_status ct_model_set_autocast(ct_model *model, int32_t enabled, const char **dtype) {
    return guarded("ct_model_set_autocast", [&] {
        TORCH_CHECK(model, "null model");
        const auto type = model->device.type();
        TORCH_CHECK(type == c10::DeviceType::CPU || type == c10::DeviceType::CUDA,
                    "autocast is available on cpu and cuda, not on ", model->device.str());
        if (enabled) {
            // Probe: a matmul inside the region must come out in the lower-precision type.
            AutocastRegion region(true, model->device);
            auto probe = torch::ones({2, 2}, torch::TensorOptions().device(model->device));
            const auto got = probe.matmul(probe).scalar_type();
            TORCH_CHECK(got == autocast_dtype_for(model->device), "libtorch ", TORCH_VERSION, " does not autocast on ",
                        model->device.str(), " (a matmul came out as ", c10::toString(got), ", not ",
                        c10::toString(autocast_dtype_for(model->device)), ")");
        }
        model->autocast = enabled != 0;
        if (dtype) *dtype = model->autocast ? (autocast_dtype_for(model->device) == at::kHalf ? "float16" : "bfloat16")
                                            : "float32";
        return CT_OK;
    });
}

int32_t ct_model_peak_memory(const ct_model *model, int64_t *peak_allocated, int64_t *peak_reserved) {
    try {
        if (!model || model->device.is_cpu()) return 0;
        // The device the parameters are on ("cuda" alone names the device current at creation).
        const auto parameters = model->net->parameters();
        const auto index = parameters.empty() ? model->device.index() : parameters.front().device().index();
        int64_t a = 0, r = 0;
        if (!compat::accelerator_peak_memory(index, a, r)) return 0;
        if (peak_allocated) *peak_allocated = a;
        if (peak_reserved) *peak_reserved = r;
        return 1;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
