// The primitives a training step is composed of (ctorch.h, "Training steps composed of
// primitives"). Which objective a step computes is decided in Swift (Sources/Training, one file
// per method); nothing here names a method.
#include "amp.hpp"
#include "internal.hpp"

#include <cmath>
#include <deque>
#include <optional>
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
            torch::NoGradGuard g;
            step->before.reserve(model->state.size());
            for (const auto &entry : model->state) step->before.push_back(entry.second.detach().clone());
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
        // A copy (copy=true): the caller's array need not outlive this call.
        return torch::from_blob(const_cast<float *>(x), {batch, c.input_frames, c.input_bins}, torch::kFloat32)
            .to(step->model->device, torch::kFloat32, false, true);
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
        return torch::from_blob(const_cast<int64_t *>(values), {n}, torch::kInt64)
            .to(step->model->device, torch::kInt64, false, true);
    });
}

ct_status ct_step_floats(ct_step *step, const float *values, int64_t n, ct_tensor **out) {
    return add_tensor("ct_step_floats", step, out, [&] {
        TORCH_CHECK(values != nullptr && n > 0, "empty values");
        return torch::from_blob(const_cast<float *>(values), {n}, torch::kFloat32)
            .to(step->model->device, torch::kFloat32, false, true);
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

ct_status ct_step_item(const ct_tensor *t, double *out) {
    return guarded("ct_step_item", [&] {
        TORCH_CHECK(out, "null argument");
        *out = get(t, "tensor").item<double>();
        return CT_OK;
    });
}

ct_status ct_step_finish(ct_step *step, const ct_tensor *loss_tensor, float loss_scale, ct_step_result *result) {
    return guarded("ct_step_finish", [&]() -> ct_status {
        TORCH_CHECK(step && result, "null argument");
        const auto &loss = get(loss_tensor, "loss");
        auto *model = step->model;
        step->autocast.reset();
        result->loss = loss.item<double>();
        result->found_inf = 0;
        const bool scaled = loss_scale > 0;
        if (!scaled && !std::isfinite(result->loss)) {
            set_error("non-finite training loss " + std::to_string(result->loss));
            return CT_NONFINITE_LOSS;
        }
        model->optimizer->zero_grad();
        if (scaled) {
            // GradScaler: scale(loss).backward(); step() unscales and skips on inf/NaN.
            (loss * double(loss_scale)).backward();
            result->found_inf = unscale_gradients_and_check(model->net->parameters(), loss_scale) ? 1 : 0;
        } else {
            loss.backward();
        }
        if (!result->found_inf) model->optimizer->step();
        // The paper's loop calls ma_update after every step, one the scaler skipped too: the
        // parameters are unchanged then, but the forward passes moved BatchNorm's running statistics.
        if (step->ma_beta > 0) {
            torch::NoGradGuard g;
            const double beta = step->ma_beta;
            size_t i = 0;
            for (auto &entry : model->state) {
                auto &t = entry.second;
                const auto &old = step->before[i++];
                if (t.is_floating_point()) {
                    t.mul_(1 - beta).add_(old, beta);
                } else {
                    // util/misc.py computes old * beta + (1 - beta) * new in float and loads it back into
                    // the integer buffer (num_batches_tracked), which truncates toward zero.
                    t.copy_(old.to(torch::kFloat32) * beta + t.to(torch::kFloat32) * (1 - beta));
                }
            }
        }
        return CT_OK;
    });
}

} // extern "C"
