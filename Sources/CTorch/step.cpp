// The primitives a training step is composed of (ctorch.h, "Training steps composed of
// primitives"). Which objective a step computes is decided in Swift (Sources/Training, one file
// per method); nothing here names a method.
#include "amp.hpp"
#include "compat.hpp"
#include "internal.hpp"
#include "optimizer.hpp"
#include "profile.hpp"

#include <cmath>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

struct ct_tensor {
    torch::Tensor t;
};

struct ct_step {
    ct_model *model;
    float ma_beta;
    /// Every state entry (parameters and buffers) before the step, for the moving average.
    std::vector<torch::Tensor> before;
    /// Handles stay valid while the step lives: a deque never moves its elements on push_back.
    std::deque<ct_tensor> tensors;
    /// Around the forward passes and losses only (closed before backward), as the paper's loop.
    std::optional<ctorch::AutocastRegion> autocast;

    ct_tensor *add(torch::Tensor t) {
        tensors.push_back(ct_tensor{std::move(t)});
        return &tensors.back();
    }
};

using namespace ctorch;

namespace {

/// The reversal layer of domain-adversarial training: identity forward, gradient times
/// -coefficient backward.
struct GradientReversal : torch::autograd::Function<GradientReversal> {
    static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &x, double coefficient) {
        ctx->saved_data["coefficient"] = coefficient;
        return x.view_as(x);
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::tensor_list grad) {
        return {grad[0].neg() * ctx->saved_data["coefficient"].toDouble(), torch::Tensor()};
    }
};

const torch::Tensor &get(const ct_tensor *t, const char *what) {
    TORCH_CHECK(t != nullptr && t->t.defined(), "missing tensor: ", what);
    return t->t;
}

/// `values` (shape, type) onto `device` as a tensor the step owns (the caller's array need not
/// outlive the call). On CUDA through pinned memory with a non-blocking copy: the host returns
/// at once and the copy runs on the stream ahead of the kernels that read it (a copy from
/// pageable memory would block the host until the device caught up). libtorch's pinned-memory
/// allocator keeps the buffer from reuse until the copy has completed. On the CPU a plain copy.
torch::Tensor upload(const void *values, at::IntArrayRef shape, at::ScalarType type, const torch::Device &device) {
    const auto host = torch::from_blob(const_cast<void *>(values), shape, type);
    if (!device.is_cuda()) return host.to(device, type, false, true);
    auto pinned = torch::empty(shape, torch::TensorOptions(type).pinned_memory(true));
    pinned.copy_(host);
    return pinned.to(device, type, /*non_blocking=*/true);
}

template <typename F> ct_status add_tensor(const char *function, ct_step *step, ct_tensor **out, F &&make) {
    return guarded(function, [&] {
        TORCH_CHECK(step && out, "null argument");
        *out = step->add(make());
        return CT_OK;
    });
}

} // namespace

extern "C" {

ct_status ct_step_begin(ct_model *model, float ma_beta, ct_step **out) {
    return guarded("ct_step_begin", [&] {
        TORCH_CHECK(model && out, "null argument");
        TORCH_CHECK(model->optimizer, "optimizer not configured");
        *out = nullptr;
        auto step = std::make_unique<ct_step>();
        step->model = model;
        step->ma_beta = ma_beta;
        model->net->train();
        if (ma_beta > 0) {
            OptimizerPhase phase;
            step->before = model->reference_optimizer ? reference_snapshot_state(model->state) : snapshot_state(model->state);
        }
        step->autocast.emplace(model->autocast, model->device);
        *out = step.release();
        return CT_OK;
    });
}

void ct_step_free(ct_step *step) { delete step; }

ct_status ct_step_input(ct_step *step, const float *x, int64_t batch, ct_tensor **out) {
    return add_tensor("ct_step_input", step, out, [&] {
        const auto &c = step->model->net->config;
        TORCH_CHECK(x != nullptr && batch > 0, "empty batch");
        return upload(x, {batch, c.input_frames, c.input_bins}, torch::kFloat32, step->model->device);
    });
}

ct_status ct_step_int64s(ct_step *step, const int64_t *values, int64_t n, int64_t upper, const char *what,
                         ct_tensor **out) {
    return add_tensor("ct_step_int64s", step, out, [&] {
        TORCH_CHECK(values != nullptr || n == 0, "null values");
        // Checked on the host, before the copy to the device.
        for (int64_t i = 0; upper > 0 && i < n; ++i)
            TORCH_CHECK(values[i] >= 0 && values[i] < upper, what ? what : "value", " out of range [0, ", upper, ")");
        const auto opts = torch::TensorOptions(torch::kInt64).device(step->model->device);
        if (n == 0) return torch::zeros({0}, opts);
        return upload(values, {n}, torch::kInt64, step->model->device);
    });
}

ct_status ct_step_floats(ct_step *step, const float *values, int64_t n, ct_tensor **out) {
    return add_tensor("ct_step_floats", step, out, [&] {
        TORCH_CHECK(values != nullptr && n > 0, "empty values");
        return upload(values, {n}, torch::kFloat32, step->model->device);
    });
}

ct_status ct_step_encode(ct_step *step, const ct_tensor *x, const ct_tensor *mix_index, const ct_tensor *mix_mask,
                         ct_tensor **out) {
    return add_tensor("ct_step_encode", step, out, [&] {
        auto &net = step->model->net;
        const auto &input = get(x, "input");
        if (!mix_index) return net->v->forward(input, nullptr);
        PatchMix mix;
        mix.index = get(mix_index, "mix index");
        TORCH_CHECK(mix.index.numel() == input.size(0), "mix index has ", mix.index.numel(), " rows, the batch ",
                    input.size(0));
        const auto P = net->f_dim * net->t_dim;
        mix.mask = mix_mask ? get(mix_mask, "mix mask")
                            : torch::zeros({0}, torch::TensorOptions(torch::kInt64).device(step->model->device));
        TORCH_CHECK(mix.mask.numel() <= P, "num_mask ", mix.mask.numel(), " outside [0, ", P, "]");
        return net->v->forward(input, &mix);
    });
}

ct_status ct_step_classify(ct_step *step, const ct_tensor *features, ct_tensor **out) {
    return add_tensor("ct_step_classify", step, out,
                      [&] { return step->model->net->mlp_head->forward(get(features, "features")); });
}

ct_status ct_step_project(ct_step *step, const ct_tensor *features, ct_tensor **out) {
    return add_tensor("ct_step_project", step, out,
                      [&] { return step->model->net->projector->forward(get(features, "features")); });
}

ct_status ct_step_domain_classify(ct_step *step, const ct_tensor *features, ct_tensor **out) {
    return add_tensor("ct_step_domain_classify", step, out, [&] {
        auto &head = step->model->net->domain_head;
        TORCH_CHECK(head, "the model has no domain head (domain_classes 0)");
        return head->forward(get(features, "features"));
    });
}

ct_status ct_step_detach(ct_step *step, const ct_tensor *t, ct_tensor **out) {
    return add_tensor("ct_step_detach", step, out, [&] { return get(t, "tensor").detach(); });
}

ct_status ct_step_gradient_reversal(ct_step *step, const ct_tensor *t, double coefficient, ct_tensor **out) {
    return add_tensor("ct_step_gradient_reversal", step, out,
                      [&] { return GradientReversal::apply(get(t, "tensor"), coefficient); });
}

ct_status ct_step_index_select(ct_step *step, const ct_tensor *t, const ct_tensor *index, ct_tensor **out) {
    return add_tensor("ct_step_index_select", step, out,
                      [&] { return get(t, "tensor").index_select(0, get(index, "index")); });
}

ct_status ct_step_weighted_sum(ct_step *step, const ct_tensor *a, double wa, const ct_tensor *b, double wb,
                               ct_tensor **out) {
    return add_tensor("ct_step_weighted_sum", step, out, [&] {
        const auto &ta = get(a, "a"), &tb = get(b, "b");
        // a + wb * b is what the fixed objectives computed (ce + alpha * con): the same rounding.
        return wa == 1.0 ? ta + wb * tb : wa * ta + wb * tb;
    });
}

ct_status ct_step_cross_entropy(ct_step *step, const ct_tensor *logits, const ct_tensor *target,
                                const ct_tensor *weight, ct_tensor **out) {
    return add_tensor("ct_step_cross_entropy", step, out, [&] {
        auto opts = torch::nn::functional::CrossEntropyFuncOptions();
        if (weight) opts.weight(get(weight, "weight"));
        return torch::nn::functional::cross_entropy(get(logits, "logits"), get(target, "target"), opts);
    });
}

ct_status ct_step_patchmix_contrastive(ct_step *step, const ct_tensor *a, const ct_tensor *b,
                                       const ct_tensor *labels, const ct_tensor *index, float lam,
                                       float temperature, int32_t negative_pair, ct_tensor **out) {
    return add_tensor("ct_step_patchmix_contrastive", step, out, [&] {
        return patchmix_con_loss(get(a, "a"), get(b, "b"), get(labels, "labels"), get(index, "index"), lam,
                                 temperature, negative_pair);
    });
}

ct_status ct_step_supervised_contrastive(ct_step *step, const ct_tensor *p1, const ct_tensor *p2,
                                         const ct_tensor *groups, float temperature, ct_tensor **out) {
    return add_tensor("ct_step_supervised_contrastive", step, out, [&] {
        return supervised_contrastive_loss(get(p1, "p1"), get(p2, "p2"), groups ? get(groups, "groups") : torch::Tensor(),
                                           temperature);
    });
}

ct_status ct_model_use_reference_optimizer(ct_model *model, int32_t enabled) {
    return guarded("ct_model_use_reference_optimizer", [&] {
        TORCH_CHECK(model, "null model");
        model->reference_optimizer = enabled != 0;
        return CT_OK;
    });
}

ct_status ct_step_finish(ct_step *step, const ct_tensor *loss_tensor, const ct_tensor *ce, const ct_tensor *second,
                         float loss_scale, ct_step_result *result) {
    return guarded("ct_step_finish", [&]() -> ct_status {
        TORCH_CHECK(step && result, "null argument");
        const auto &loss = get(loss_tensor, "loss");
        TORCH_CHECK(loss.numel() == 1, "the loss has ", loss.numel(), " elements, not 1");
        auto *model = step->model;
        step->autocast.reset();
        *result = ct_step_result{};
        const bool scaled = loss_scale > 0;
        std::optional<OptimizerPhase> phase(std::in_place);
        if (model->reference_optimizer) model->optimizer->zero_grad();
        else compat::zero_gradients(*model->optimizer);
        phase.reset();
        torch::Tensor found_inf;
        if (scaled) {
            // GradScaler: scale(loss).backward(); step() unscales and skips on inf/NaN.
            (loss * double(loss_scale)).backward();
            phase.emplace();
            found_inf = model->reference_optimizer ? reference_unscale_gradients(model->net->parameters(), loss_scale)
                                                   : unscale_gradients(model->net->parameters(), loss_scale);
        } else {
            loss.backward();
            phase.emplace();
        }
        // The step's one host-device synchronisation: every value the host needs, in one copy.
        // It waits for the backward pass; the Adam step and moving average below are only queued.
        {
            torch::NoGradGuard g;
            const auto scalar = [](const torch::Tensor &t) { return t.detach().reshape({}).to(torch::kFloat64); };
            const auto none = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(loss.device()));
            const auto values = torch::stack({scalar(loss), ce ? scalar(get(ce, "ce")) : none,
                                              second ? scalar(get(second, "second")) : none,
                                              found_inf.defined() ? scalar(found_inf) : none})
                                    .to(torch::kCPU);
            const auto v = values.accessor<double, 1>();
            result->loss = v[0];
            result->ce_loss = v[1];
            result->second_loss = v[2];
            result->found_inf = v[3] != 0 ? 1 : 0;
        }
        if (!scaled && !std::isfinite(result->loss)) {
            set_error("non-finite training loss " + std::to_string(result->loss));
            return CT_NONFINITE_LOSS;
        }
        if (!result->found_inf) {
            if (model->reference_optimizer) model->optimizer->step();
            else adam_step(*model->optimizer);
        }
        // The paper's loop calls ma_update after every step, one the scaler skipped too: the
        // parameters are unchanged then, but the forward passes moved BatchNorm's running statistics.
        if (step->ma_beta > 0) {
            if (model->reference_optimizer) reference_moving_average(model->state, step->before, step->ma_beta);
            else moving_average(model->state, step->before, step->ma_beta);
        }
        return CT_OK;
    });
}

} // extern "C"
