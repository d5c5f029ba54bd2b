// Thread budgets: libtorch's intra-op pool and the BLAS library's own threads. Debian's libtorch
// calls OpenBLAS for matrix products, and OpenBLAS keeps a thread pool of its own, so a budget
// of N cores must bound both. OpenBLAS is looked up at run time (dlsym): another BLAS simply has
// no knob here, and the bridge does not link against a particular one.
#include "ctorch.h"

#include <dlfcn.h>

namespace {
using set_threads_fn = void (*)(int);
using get_threads_fn = int (*)();

template <typename F> F blas_symbol(const char *name) { return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name)); }
} // namespace

extern "C" {

int32_t ct_set_blas_threads(int32_t threads) {
    auto set = blas_symbol<set_threads_fn>("openblas_set_num_threads");
    if (!set || threads < 1) return 0;
    set(threads);
    return 1;
}

int32_t ct_get_blas_threads(void) {
    auto get = blas_symbol<get_threads_fn>("openblas_get_num_threads");
    return get ? int32_t(get()) : -1;
}

} // extern "C"
