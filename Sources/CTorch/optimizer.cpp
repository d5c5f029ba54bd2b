// The optimizer phase with foreach operations (optimizer.hpp).
#include "optimizer.hpp"

#include "compat.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

namespace ctorch {

namespace {

/// Parameters that take the same Adam step (the same step count), with their state.
struct AdamBucket {
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
    std::vector<torch::optim::AdamParamState *> states;
};

/// libtorch's fused Adam on CUDA, unless CTORCH_FUSED_ADAM=0 asks for the foreach path (to
/// compare the two on a GPU: the fused kernel computes its scalars in float, not double).
bool use_fused_adam(const torch::Tensor &parameter) {
    if (!parameter.is_cuda()) return false;
    const char *env = std::getenv("CTORCH_FUSED_ADAM");
    if (env && std::strcmp(env, "0") == 0) return false;
    static const bool available = compat::has_kernel("aten::_fused_adam_", "", c10::DispatchKey::CUDA);
    return available;
}

void step_bucket(AdamBucket &b, int64_t step, const torch::optim::AdamOptions &options) {
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    // As Adam::step: the step count first, then the bias corrections in double.
    const int64_t t = step + 1;
    const double bias_correction1 = 1 - std::pow(beta1, t);
    const double bias_correction2 = 1 - std::pow(beta2, t);
    if (use_fused_adam(b.params.front())) {
        // The kernel reads each parameter's step count from a float tensor on the device (as
        // Python's fused Adam, which increments them before the call): one tensor, one view each.
        const auto steps = torch::full({int64_t(b.params.size())}, double(t),
                                       torch::TensorOptions(torch::kFloat32).device(b.params.front().device()));
        at::_fused_adam_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, {}, steps.unbind(0), options.lr(), beta1, beta2,
                         options.weight_decay(), options.eps(), false, false);
    } else {
        // Adam::step per parameter: grad = grad.add(p, wd); exp_avg.mul_(beta1).add_(grad, 1 - beta1);
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
        // denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps); p.addcdiv_(exp_avg, denom, -lr / bc1).
        const auto grads = options.weight_decay() != 0 ? at::_foreach_add(b.grads, b.params, options.weight_decay())
                                                       : b.grads;
        at::_foreach_mul_(b.exp_avgs, beta1);
        at::_foreach_add_(b.exp_avgs, grads, 1 - beta1);
        at::_foreach_mul_(b.exp_avg_sqs, beta2);
        at::_foreach_addcmul_(b.exp_avg_sqs, grads, grads, 1 - beta2);
        auto denom = at::_foreach_sqrt(b.exp_avg_sqs);
        at::_foreach_div_(denom, std::sqrt(bias_correction2));
        at::_foreach_add_(denom, options.eps());
        at::_foreach_addcdiv_(b.params, b.exp_avgs, denom, -(options.lr() / bias_correction1));
    }
    for (auto *s : b.states) s->step(t);
}

} // namespace

void adam_step(torch::optim::Adam &optimizer) {
    torch::NoGradGuard no_grad;
    auto &state = optimizer.state();
    for (auto &group : optimizer.param_groups()) {
        const auto &options = static_cast<const torch::optim::AdamOptions &>(group.options());
        TORCH_CHECK(!options.amsgrad(), "the foreach Adam step does not implement amsgrad");
        // A parameter that got its first gradient later than the others has a smaller step count:
        // one bucket per count (in practice one).
        std::map<int64_t, AdamBucket> buckets;
        for (auto &p : group.params()) {
            if (!p.grad().defined()) continue;
            TORCH_CHECK(!p.grad().is_sparse(), "Adam does not support sparse gradients");
            const auto key = compat::optimizer_state_key(p);
            auto it = state.find(key);
            if (it == state.end()) {
                auto fresh = std::make_unique<torch::optim::AdamParamState>();
                fresh->step(0);
                fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                state[key] = std::move(fresh);
                it = state.find(key);
            }
            auto &s = static_cast<torch::optim::AdamParamState &>(*it->second);
            auto &b = buckets[s.step()];
            b.params.push_back(p);
            b.grads.push_back(p.grad());
            b.exp_avgs.push_back(s.exp_avg());
            b.exp_avg_sqs.push_back(s.exp_avg_sq());
            b.states.push_back(&s);
        }
        for (auto &[step, bucket] : buckets) step_bucket(bucket, step, options);
    }
}

namespace {

/// An integer entry's (BatchNorm's num_batches_tracked) moving average: util/misc.py computes
/// old * beta + (1 - beta) * new in float and loads it back into the integer buffer, which
/// truncates toward zero.
void average_integer_entry(torch::Tensor &entry, const torch::Tensor &old, double beta) {
    entry.copy_(old.to(torch::kFloat32) * beta + entry.to(torch::kFloat32) * (1 - beta));
}

} // namespace

std::vector<torch::Tensor> reference_snapshot_state(const std::vector<std::pair<std::string, torch::Tensor>> &state) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> before;
    before.reserve(state.size());
    for (const auto &entry : state) before.push_back(entry.second.detach().clone());
    return before;
}

std::vector<torch::Tensor> snapshot_state(const std::vector<std::pair<std::string, torch::Tensor>> &state) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> floating;
    for (const auto &entry : state)
        if (entry.second.is_floating_point()) floating.push_back(entry.second);
    // x * 1 is x exactly (signed zeros, infinities and NaN included): a copy in one call.
    auto copies = floating.empty() ? std::vector<torch::Tensor>() : at::_foreach_mul(floating, 1.0);
    std::vector<torch::Tensor> before;
    before.reserve(state.size());
    size_t next = 0;
    for (const auto &entry : state)
        before.push_back(entry.second.is_floating_point() ? copies[next++] : entry.second.detach().clone());
    return before;
}

void moving_average(std::vector<std::pair<std::string, torch::Tensor>> &state, const std::vector<torch::Tensor> &before,
                    double beta) {
    torch::NoGradGuard no_grad;
    TORCH_CHECK(before.size() == state.size(), "moving average: ", before.size(), " snapshots for ", state.size(),
                " state entries");
    std::vector<torch::Tensor> now, old;
    for (size_t i = 0; i < state.size(); ++i) {
        auto &t = state[i].second;
        if (t.is_floating_point()) {
            now.push_back(t);
            old.push_back(before[i]);
        } else {
            average_integer_entry(t, before[i], beta);
        }
    }
    if (now.empty()) return;
    at::_foreach_mul_(now, 1 - beta);
    at::_foreach_add_(now, old, beta);
}

void reference_moving_average(std::vector<std::pair<std::string, torch::Tensor>> &state,
                              const std::vector<torch::Tensor> &before, double beta) {
    torch::NoGradGuard no_grad;
    size_t i = 0;
    for (auto &entry : state) {
        auto &t = entry.second;
        const auto &old = before[i++];
        if (t.is_floating_point()) t.mul_(1 - beta).add_(old, beta);
        else average_integer_entry(t, old, beta);
    }
}

} // namespace ctorch
