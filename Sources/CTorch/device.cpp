// What libtorch knows about CUDA devices, for deciding the training device once (Swift's
// DeviceSelection): how many it sees and which CUDA it was built with.
#include "internal.hpp"
#include <ATen/Version.h>
#include <cstring>

extern "C" {

int32_t ct_cuda_device_count(void) {
    try { return torch::cuda::is_available() ? int32_t(torch::cuda::device_count()) : 0; } catch (...) { return 0; }
}

char *ct_build_configuration(void) {
    try { return strdup(at::show_config().c_str()); } catch (...) { return nullptr; }
}

}
