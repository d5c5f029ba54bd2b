// Internal C++ side of the CTorch bridge: the AST model, the handle, error plumbing.
// Nothing here is visible to Swift (only include/ctorch.h is).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ctorch.h"

namespace ctorch {

// ---- errors -------------------------------------------------------------------------

void set_error(const std::string &message);
void clear_error();

/// Runs `body`, converting every C++ exception into CT_ERROR plus a message.
template <typename F> ct_status guarded(const char *function, F &&body) {
    clear_error();
    try {
        return body();
    } catch (const c10::Error &e) {
        set_error(std::string(function) + ": " + e.what_without_backtrace());
    } catch (const std::exception &e) {
        set_error(std::string(function) + ": " + e.what());
    } catch (...) {
        set_error(std::string(function) + ": unknown C++ exception");
    }
    return CT_ERROR;
}

char *copy_string(const std::string &s);

// ---- model --------------------------------------------------------------------------
// Parameter names follow the AST code so that state dicts line up with PyTorch:
// v.cls_token, v.dist_token, v.pos_embed, v.patch_embed.proj.*, v.blocks.{i}.*, v.norm.*,
// mlp_head.{0,1}.*, projector.{0,1,3}.*, and with a domain head domain_head.{0,1}.*.

struct AttentionImpl : torch::nn::Module {
    AttentionImpl(int64_t dim, int64_t heads);
    torch::Tensor forward(const torch::Tensor &x);
    torch::nn::Linear qkv{nullptr}, proj{nullptr};
    int64_t heads, head_dim;
    double scale;
};
TORCH_MODULE(Attention);

struct MlpImpl : torch::nn::Module {
    MlpImpl(int64_t dim, int64_t hidden);
    torch::Tensor forward(const torch::Tensor &x);
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

struct BlockImpl : torch::nn::Module {
    BlockImpl(int64_t dim, int64_t heads, int64_t hidden);
    torch::Tensor forward(const torch::Tensor &x);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Attention attn{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

struct PatchEmbedImpl : torch::nn::Module {
    PatchEmbedImpl(int64_t dim, int64_t patch, int64_t fstride, int64_t tstride);
    torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

/// The Patch-Mix decision for one batch, as tensors on the model's device.
struct PatchMix {
    torch::Tensor index; // [B] int64
    torch::Tensor mask;  // [num_mask] int64
};

struct VisionTransformerImpl : torch::nn::Module {
    VisionTransformerImpl(const ct_ast_config &c, int64_t f_dim, int64_t t_dim);
    /// x [B, frames, bins] -> features [B, D]; Patch-Mix applied after the patch embedding.
    torch::Tensor forward(const torch::Tensor &x, const PatchMix *mix);
    PatchEmbed patch_embed{nullptr};
    torch::Tensor cls_token, dist_token, pos_embed;
    torch::nn::ModuleList blocks{nullptr};
    torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(VisionTransformer);

struct NetImpl : torch::nn::Module {
    explicit NetImpl(const ct_ast_config &c);
    ct_ast_config config;
    int64_t f_dim, t_dim;
    VisionTransformer v{nullptr};
    torch::nn::Sequential mlp_head{nullptr};
    torch::nn::Sequential projector{nullptr};
    torch::nn::Sequential domain_head{nullptr}; // only when config.domain_classes > 0
};
TORCH_MODULE(Net);

/// Contrastive loss of the paper (PatchMixConLoss), a = detached clean features.
torch::Tensor patchmix_con_loss(const torch::Tensor &a, const torch::Tensor &b,
                                const torch::Tensor &labels, const torch::Tensor &index, double lam,
                                double temperature, int negative_pair);

/// Supervised contrastive loss over two views (SupCon, "all" contrast mode): positives share a
/// group (undefined groups: only the other view of the same row).
torch::Tensor supervised_contrastive_loss(const torch::Tensor &p1, const torch::Tensor &p2,
                                          const torch::Tensor &groups, double temperature);

} // namespace ctorch

struct ct_model {
    ctorch::Net net{nullptr};
    torch::Device device{torch::kCPU};
    std::unique_ptr<torch::optim::Adam> optimizer;
    /// State-dict entries (parameters, then buffers) in a fixed order, addressed by index from Swift.
    std::vector<std::pair<std::string, torch::Tensor>> state;
    int64_t parameter_entries = 0;
    double weight_decay = 0;
    bool autocast = false; // forward passes and losses under autocast (amp.cpp)
    /// The per-tensor optimizer phase the foreach one replaced (libtorch's zero_grad and
    /// Adam::step, per-gradient unscale, per-entry moving average): the reference the foreach
    /// path is tested against, and the "before" of docs/gpu.md's operator counts.
    bool reference_optimizer = false;
};
