// What libtorch knows about CUDA devices, for deciding the training device once (Swift's
// DeviceSelection): how many it sees and which CUDA it was built with; and the determinism
// switches (train --deterministic).
#include "internal.hpp"
#include <ATen/Context.h>
#include <ATen/Version.h>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {

int32_t ct_cuda_device_count(void) {
    try { return torch::cuda::is_available() ? int32_t(torch::cuda::device_count()) : 0; } catch (...) { return 0; }
}

char *ct_build_configuration(void) {
    try { return strdup(at::show_config().c_str()); } catch (...) { return nullptr; }
}

ct_status ct_set_deterministic(int32_t enabled, char **summary) {
    return ctorch::guarded("ct_set_deterministic", [&] {
        const bool on = enabled != 0;
        std::string set;
        if (on) {
            // cuBLAS is deterministic only with a fixed workspace configuration; libtorch's
            // deterministic mode refuses cuBLAS calls without one (CUDA >= 10.2).
            const char *current = std::getenv("CUBLAS_WORKSPACE_CONFIG");
            const std::string value = current ? current : "";
            if (value != ":4096:8" && value != ":16:8") {
                TORCH_CHECK(setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 1) == 0, "cannot set CUBLAS_WORKSPACE_CONFIG");
                set = "CUBLAS_WORKSPACE_CONFIG=:4096:8 (was " + (current ? "'" + value + "'" : std::string("unset")) + ")";
            } else {
                set = "CUBLAS_WORKSPACE_CONFIG=" + value + " (as given)";
            }
        }
        auto &context = at::globalContext();
        context.setDeterministicCuDNN(on);
        context.setBenchmarkCuDNN(false); // benchmarking picks algorithms by timing: libtorch's default too
        context.setDeterministicAlgorithms(on, /*warn_only=*/false);
        if (summary) {
            *summary = ctorch::copy_string(on ? "deterministic algorithms, cuDNN deterministic, cuDNN benchmark off, " + set
                                              : std::string("libtorch's default algorithms"));
        }
        return CT_OK;
    });
}

} // extern "C"
