// The contrastive losses (REFERENCE.md, section "Patch-Mix and its contrastive loss"; SG-SCL's
// supervised contrastive loss, docs/training-methods.md): tensor math only, used by the step
// primitives in step.cpp; ct_patchmix_con_loss exposes the first alone for its golden test.
#include "internal.hpp"

namespace ctorch {

torch::Tensor patchmix_con_loss(const torch::Tensor &proj_clean, const torch::Tensor &proj_mixed,
                                const torch::Tensor &labels, const torch::Tensor &index, double lam,
                                double temperature, int negative_pair) {
    namespace F = torch::nn::functional;
    TORCH_CHECK(proj_clean.sizes() == proj_mixed.sizes(), "contrastive loss: feature shapes differ: ",
                proj_clean.sizes(), " vs ", proj_mixed.sizes(),
                " (the projector output width must equal the model width)");
    const auto B = proj_clean.size(0);
    auto opts = proj_clean.options();
    auto a = F::normalize(proj_clean, F::NormalizeFuncOptions().dim(1));
    auto b = F::normalize(proj_mixed, F::NormalizeFuncOptions().dim(1));
    auto logits = b.matmul(a.t()) / temperature;
    auto mask_a = torch::eye(B, opts);
    auto mask_b = torch::zeros({B, B}, opts).index_put_({torch::arange(B, index.options()), index}, 1.0);
    auto mask = lam * mask_a + (1 - lam) * mask_b;
    logits = logits - std::get<0>(logits.max(1, true)).detach();
    auto exp_logits = logits.exp();
    if (negative_pair == CT_NEGATIVES_DIFF_LABEL) {
        auto lab = labels.view({-1, 1});
        auto keep = lab.ne(lab.t()).logical_or(mask_a.to(torch::kBool)).logical_or(mask_b.to(torch::kBool));
        exp_logits = exp_logits * keep.to(opts.dtype());
    }
    auto log_prob = logits - exp_logits.sum(1, true).log();
    return (-(mask * log_prob).sum(1) / mask.sum(1)).mean();
}

torch::Tensor supervised_contrastive_loss(const torch::Tensor &p1, const torch::Tensor &p2,
                                          const torch::Tensor &groups, double temperature) {
    namespace F = torch::nn::functional;
    TORCH_CHECK(p1.dim() == 2 && p1.sizes() == p2.sizes(), "supervised contrastive loss: view shapes differ: ",
                p1.sizes(), " vs ", p2.sizes());
    const auto B = p1.size(0);
    auto opts = p1.options();
    // Rows 0..B-1 are the first view, B..2B-1 the second (SupCon's "all" contrast mode).
    auto views = torch::cat({F::normalize(p1, F::NormalizeFuncOptions().dim(1)),
                             F::normalize(p2, F::NormalizeFuncOptions().dim(1))}, 0);
    auto logits = views.matmul(views.t()) / temperature;
    logits = logits - std::get<0>(logits.max(1, true)).detach();
    torch::Tensor same;
    if (groups.defined()) {
        TORCH_CHECK(groups.numel() == B, "supervised contrastive loss: ", groups.numel(), " groups for ", B, " rows");
        auto g = groups.view({-1, 1});
        same = g.eq(g.t()).to(opts.dtype());
    } else {
        same = torch::eye(B, opts);
    }
    auto not_self = torch::ones({2 * B, 2 * B}, opts).fill_diagonal_(0);
    auto positives = same.repeat({2, 2}) * not_self;
    auto log_prob = logits - (logits.exp() * not_self).sum(1, true).log();
    return (-(positives * log_prob).sum(1) / positives.sum(1)).mean();
}

} // namespace ctorch

using namespace ctorch;

extern "C" {

ct_status ct_patchmix_con_loss(const float *proj_clean, const float *proj_mixed, int64_t batch, int64_t dim,
                               const int64_t *labels, const int64_t *index, float lam, float temperature,
                               int32_t negative_pair, double *out) {
    return guarded("ct_patchmix_con_loss", [&] {
        TORCH_CHECK(proj_clean && proj_mixed && labels && index && out && batch > 0 && dim > 0, "bad argument");
        auto a = torch::from_blob(const_cast<float *>(proj_clean), {batch, dim}, torch::kFloat32);
        auto b = torch::from_blob(const_cast<float *>(proj_mixed), {batch, dim}, torch::kFloat32);
        auto l = torch::from_blob(const_cast<int64_t *>(labels), {batch}, torch::kInt64);
        auto i = torch::from_blob(const_cast<int64_t *>(index), {batch}, torch::kInt64);
        *out = patchmix_con_loss(a, b, l, i, lam, temperature, negative_pair).item<double>();
        return CT_OK;
    });
}

} // extern "C"
