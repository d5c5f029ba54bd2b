// The AST model and its heads (REFERENCE.md, section "Model"), behind the C API of ctorch.h.
// The contrastive losses are in losses.cpp; training steps are composed of primitives in step.cpp.
#include "amp.hpp"
#include "internal.hpp"

#include <cmath>
#include <cstdlib>
#include <string>
#include <optional>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ctorch {

namespace {
thread_local std::string last_error;
}

void set_error(const std::string &message) { last_error = message; }
void clear_error() { last_error.clear(); }
const char *error_cstr() { return last_error.c_str(); }

char *copy_string(const std::string &s) {
    char *out = static_cast<char *>(std::malloc(s.size() + 1));
    if (!out) throw std::bad_alloc();
    std::memcpy(out, s.data(), s.size());
    out[s.size()] = 0;
    return out;
}

// ---- modules --------------------------------------------------------------------------

static torch::nn::Linear vit_linear(int64_t in, int64_t out) {
    torch::nn::Linear l(torch::nn::LinearOptions(in, out));
    torch::NoGradGuard g;
    torch::nn::init::normal_(l->weight, 0, 0.02); // timm trunc_normal_(std=.02): bounds +-2 never bind
    torch::nn::init::zeros_(l->bias);
    return l;
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_) : heads(heads_), head_dim(dim / heads_) {
    qkv = register_module("qkv", vit_linear(dim, 3 * dim));
    proj = register_module("proj", vit_linear(dim, dim));
    scale = std::pow(double(head_dim), -0.5);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor &x) {
    const auto B = x.size(0), N = x.size(1), C = x.size(2);
    auto t = qkv(x).reshape({B, N, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
    auto q = t[0], k = t[1], v = t[2];
    if (!torch::GradMode::is_enabled() && x.is_cpu()) {
        // Inference on the CPU (predict, evaluation): one (sample, head) at a time, so each
        // N x N score matrix stays in cache instead of a B x heads x N x N tensor streaming
        // through memory three times. Same operations per row, same bits (2.7x faster attention
        // at the paper's 952 tokens); autograd would need the whole matrix, so training keeps it.
        torch::Tensor out;
        for (int64_t b = 0; b < B; ++b) {
            for (int64_t h = 0; h < heads; ++h) {
                auto attn = (q[b][h].matmul(k[b][h].t()) * scale).softmax(-1);
                auto rows = attn.matmul(v[b][h]);
                if (!out.defined()) out = torch::empty({B, N, heads, head_dim}, rows.options());
                out.select(0, b).select(1, h).copy_(rows);
            }
        }
        return proj(out.reshape({B, N, C}));
    }
    auto attn = (q.matmul(k.transpose(-2, -1)) * scale).softmax(-1);
    return proj(attn.matmul(v).transpose(1, 2).reshape({B, N, C}));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
    fc1 = register_module("fc1", vit_linear(dim, hidden));
    fc2 = register_module("fc2", vit_linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor &x) { return fc2(torch::gelu(fc1(x))); }

BlockImpl::BlockImpl(int64_t dim, int64_t heads, int64_t hidden) {
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6)));
    attn = register_module("attn", Attention(dim, heads));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6)));
    mlp = register_module("mlp", Mlp(dim, hidden));
}

torch::Tensor BlockImpl::forward(const torch::Tensor &x) {
    auto h = x + attn(norm1(x));
    return h + mlp(norm2(h));
}

PatchEmbedImpl::PatchEmbedImpl(int64_t dim, int64_t patch, int64_t fstride, int64_t tstride) {
    proj = register_module(
        "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, dim, patch).stride({fstride, tstride})));
}

VisionTransformerImpl::VisionTransformerImpl(const ct_ast_config &c, int64_t f_dim, int64_t t_dim) {
    const int64_t D = c.embed_dim;
    patch_embed = register_module("patch_embed", PatchEmbed(D, c.patch_size, c.fstride, c.tstride));
    cls_token = register_parameter("cls_token", torch::randn({1, 1, D}) * 0.02);
    dist_token = register_parameter("dist_token", torch::randn({1, 1, D}) * 0.02);
    pos_embed = register_parameter("pos_embed", torch::randn({1, 2 + f_dim * t_dim, D}) * 0.02);
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < c.depth; ++i) blocks->push_back(Block(D, c.heads, c.mlp_hidden));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(1e-6)));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor &x, const PatchMix *mix) {
    // [B, frames, bins] -> [B, 1, bins, frames]: frequency as height.
    auto h = x.unsqueeze(1).transpose(2, 3);
    h = patch_embed->proj(h).flatten(2).transpose(1, 2); // [B, P, D], index f * t_dim + t
    if (mix) {
        auto src = h.index_select(0, mix->index).index_select(1, mix->mask);
        h = h.index_copy(1, mix->mask, src);
    }
    const auto B = h.size(0);
    h = torch::cat({cls_token.expand({B, -1, -1}), dist_token.expand({B, -1, -1}), h}, 1) + pos_embed;
    for (const auto &block : *blocks) h = block->as<Block>()->forward(h);
    h = norm(h);
    return (h.select(1, 0) + h.select(1, 1)) / 2;
}

NetImpl::NetImpl(const ct_ast_config &c) : config(c) {
    TORCH_CHECK(c.embed_dim > 0 && c.depth >= 0 && c.heads > 0, "invalid model size");
    TORCH_CHECK(c.embed_dim % c.heads == 0, "embed_dim ", c.embed_dim, " is not a multiple of heads ", c.heads);
    TORCH_CHECK(c.patch_size > 0 && c.fstride > 0 && c.tstride > 0, "patch size and strides must be positive");
    TORCH_CHECK(c.input_bins >= c.patch_size && c.input_frames >= c.patch_size, "input ", c.input_frames, " x ",
                c.input_bins, " is smaller than one patch of ", c.patch_size);
    TORCH_CHECK(c.num_classes > 0 && c.mlp_hidden > 0 && c.proj_dim > 0, "invalid head sizes");
    f_dim = (c.input_bins - c.patch_size) / c.fstride + 1;
    t_dim = (c.input_frames - c.patch_size) / c.tstride + 1;
    v = register_module("v", VisionTransformer(c, f_dim, t_dim));
    const int64_t D = c.embed_dim;
    mlp_head = register_module("mlp_head", torch::nn::Sequential(
        torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(1e-5)),
        torch::nn::Linear(D, c.num_classes)));
    projector = register_module("projector", torch::nn::Sequential(
        torch::nn::Linear(D, D), torch::nn::BatchNorm1d(D), torch::nn::ReLU(),
        torch::nn::Linear(D, c.proj_dim)));
    TORCH_CHECK(c.domain_classes >= 0, "invalid domain head size");
    // Registered last and only when asked for: models without it keep their state-dict order.
    if (c.domain_classes > 0)
        domain_head = register_module("domain_head", torch::nn::Sequential(
            torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(1e-5)),
            torch::nn::Linear(D, c.domain_classes)));
}

} // namespace ctorch

using namespace ctorch;

// ---- helpers ----------------------------------------------------------------------------

static torch::Tensor input_tensor(const ct_model *m, const float *x, int64_t batch) {
    const auto &c = m->net->config;
    TORCH_CHECK(x != nullptr && batch > 0, "empty batch");
    return torch::from_blob(const_cast<float *>(x), {batch, c.input_frames, c.input_bins}, torch::kFloat32)
        .to(m->device);
}

static torch::Tensor int64_tensor(const ct_model *m, const int64_t *p, int64_t n) {
    return torch::from_blob(const_cast<int64_t *>(p), {n}, torch::kInt64).to(m->device);
}

static void copy_out(const torch::Tensor &t, float *out) {
    auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    std::memcpy(out, c.data_ptr<float>(), sizeof(float) * size_t(c.numel()));
}

// ---- C API ------------------------------------------------------------------------------

extern "C" {

const char *ct_last_error(void) { return ctorch::error_cstr(); }
const char *ct_torch_version(void) { return TORCH_VERSION; }
int32_t ct_cuda_is_available(void) {
    try { return torch::cuda::is_available() ? 1 : 0; } catch (...) { return 0; }
}
void ct_manual_seed(uint64_t seed) {
    try { torch::manual_seed(seed); } catch (...) {}
}
void ct_set_num_threads(int32_t threads) {
    try { if (threads > 0) torch::set_num_threads(threads); } catch (...) {}
}
int32_t ct_get_num_threads(void) {
    try { return int32_t(torch::get_num_threads()); } catch (...) { return 0; }
}
void ct_free_string(char *s) { std::free(s); }

int32_t ct_configure_allocator(int64_t mmap_threshold, int64_t trim_threshold) {
#if defined(__GLIBC__)
    const int a = mmap_threshold <= 0 ? mallopt(M_MMAP_MAX, 0)
                                      : mallopt(M_MMAP_THRESHOLD, int(std::min<int64_t>(mmap_threshold, INT32_MAX)));
    const int b = mallopt(M_TRIM_THRESHOLD, int(std::min<int64_t>(trim_threshold, INT32_MAX)));
    return a == 1 && b == 1 ? 1 : 0;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return 0;
#endif
}

ct_status ct_model_create(const ct_ast_config *config, const char *device, ct_model **out) {
    return guarded("ct_model_create", [&] {
        TORCH_CHECK(config && out, "null argument");
        *out = nullptr;
        torch::Device dev(device ? std::string(device) : std::string("cpu"));
        if (dev.is_cuda()) TORCH_CHECK(torch::cuda::is_available(), "device ", dev.str(),
                                       " requested but this libtorch has no usable CUDA");
        auto m = std::make_unique<ct_model>();
        m->net = Net(*config);
        m->device = dev;
        const char *reference = std::getenv("CTORCH_REFERENCE_OPTIMIZER");
        m->reference_optimizer = reference && std::string(reference) == "1";
        m->net->to(dev);
        for (const auto &item : m->net->named_parameters(true)) m->state.emplace_back(item.key(), item.value());
        m->parameter_entries = int64_t(m->state.size());
        for (const auto &item : m->net->named_buffers(true)) m->state.emplace_back(item.key(), item.value());
        *out = m.release();
        return CT_OK;
    });
}

void ct_model_free(ct_model *model) { delete model; }

int64_t ct_model_num_patches(const ct_model *model, int64_t *f_dim, int64_t *t_dim) {
    if (f_dim) *f_dim = model->net->f_dim;
    if (t_dim) *t_dim = model->net->t_dim;
    return model->net->f_dim * model->net->t_dim;
}

int64_t ct_model_num_parameters(const ct_model *model) {
    int64_t n = 0;
    for (const auto &p : model->net->parameters()) n += p.numel();
    return n;
}

ct_status ct_model_configure_optimizer(ct_model *model, double lr, double weight_decay) {
    return guarded("ct_model_configure_optimizer", [&] {
        model->optimizer = std::make_unique<torch::optim::Adam>(
            model->net->parameters(), torch::optim::AdamOptions(lr).weight_decay(weight_decay));
        model->weight_decay = weight_decay;
        return CT_OK;
    });
}

ct_status ct_model_set_learning_rate(ct_model *model, double lr) {
    return guarded("ct_model_set_learning_rate", [&] {
        TORCH_CHECK(model->optimizer, "optimizer not configured");
        for (auto &group : model->optimizer->param_groups())
            static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);
        return CT_OK;
    });
}

ct_status ct_model_features(ct_model *model, const float *x, int64_t batch, float *out) {
    return guarded("ct_model_features", [&] {
        torch::NoGradGuard g;
        model->net->eval();
        AutocastRegion autocast(model->autocast, model->device);
        copy_out(model->net->v->forward(input_tensor(model, x, batch), nullptr), out);
        return CT_OK;
    });
}

ct_status ct_model_logits(ct_model *model, const float *x, int64_t batch, float *out) {
    return guarded("ct_model_logits", [&] {
        torch::NoGradGuard g;
        model->net->eval();
        AutocastRegion autocast(model->autocast, model->device);
        auto f = model->net->v->forward(input_tensor(model, x, batch), nullptr);
        copy_out(model->net->mlp_head->forward(f), out);
        return CT_OK;
    });
}

ct_status ct_model_debug_fill(ct_model *model, float value) {
    return guarded("ct_model_debug_fill", [&] {
        torch::NoGradGuard g;
        for (auto &p : model->net->parameters()) p.add_(value);
        return CT_OK;
    });
}

} // extern "C"
