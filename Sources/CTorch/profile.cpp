// Counting libtorch operator calls (ctorch.h, ct_op_count_*): a global RecordFunction callback,
// the mechanism torch.profiler is built on. Counted are the outermost calls on each thread (an
// op that calls others, like a foreach op's per-tensor fallback on the CPU, counts once): on a
// GPU each of them is one kernel launch or a few, so the count tracks launches, not the CPU's
// internal loops. Ops run inside backward nodes are outermost too (only FUNCTION scope is seen).
#include "profile.hpp"

#include <ATen/record_function.h>

#include <atomic>
#include <mutex>
#include <optional>

namespace {

std::atomic<int64_t> total_calls{0};
std::atomic<int64_t> optimizer_calls{0};
std::atomic<int> optimizer_depth{0};
thread_local int nesting = 0;
std::mutex handle_mutex;
std::optional<at::CallbackHandle> handle;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction &) {
    if (nesting++ == 0) {
        total_calls.fetch_add(1, std::memory_order_relaxed);
        if (optimizer_depth.load(std::memory_order_relaxed) > 0) optimizer_calls.fetch_add(1, std::memory_order_relaxed);
    }
    return nullptr;
}

void on_end(const at::RecordFunction &, at::ObserverContext *) { --nesting; }

} // namespace

namespace ctorch {

OptimizerPhase::OptimizerPhase() { optimizer_depth.fetch_add(1, std::memory_order_relaxed); }
OptimizerPhase::~OptimizerPhase() { optimizer_depth.fetch_sub(1, std::memory_order_relaxed); }

} // namespace ctorch

extern "C" {

int32_t ct_op_count_start(void) {
    try {
        std::lock_guard<std::mutex> lock(handle_mutex);
        if (handle) return 0;
        total_calls = 0;
        optimizer_calls = 0;
        handle = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end).scopes({at::RecordScope::FUNCTION}));
        return 1;
    } catch (...) {
        return 0;
    }
}

int32_t ct_op_count_stop(int64_t *total, int64_t *optimizer) {
    try {
        std::lock_guard<std::mutex> lock(handle_mutex);
        if (!handle) return 0;
        at::removeCallback(*handle);
        handle.reset();
        if (total) *total = total_calls.load();
        if (optimizer) *optimizer = optimizer_calls.load();
        return 1;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
