// Checkpoints: serialised with torch::pickle_save (Python's torch.load reads them) in the paper
// code's layout; read back in Swift (Sources/TorchCheckpoint), which hands tensors over through
// the model-state functions below. Also the AST code's positional-embedding cut/interpolation.
#include "compat.hpp"
#include "internal.hpp"

#include <cstring>
#include <sstream>

using namespace ctorch;

namespace {

compat::OptimizerStateKey adam_key(const torch::Tensor &p) { return compat::optimizer_state_key(p); }

template <typename Model> auto &state_entry(Model *model, int64_t i) {
    TORCH_CHECK(i >= 0 && i < int64_t(model->state.size()), "state entry ", i, " out of range");
    return model->state[size_t(i)].second;
}

torch::ScalarType scalar_type(int32_t dtype) {
    TORCH_CHECK(dtype == CT_FLOAT32 || dtype == CT_INT64, "unknown dtype ", dtype);
    return dtype == CT_FLOAT32 ? torch::kFloat32 : torch::kInt64;
}

} // namespace

extern "C" {

int64_t ct_model_state_count(const ct_model *model) { return int64_t(model->state.size()); }

int64_t ct_model_state_parameter_entries(const ct_model *model) { return model->parameter_entries; }

ct_status ct_model_state_info(const ct_model *model, int64_t i, const char **name, int32_t *dtype, int64_t *shape,
                              int32_t *ndim) {
    return guarded("ct_model_state_info", [&] {
        const auto &t = state_entry(model, i);
        TORCH_CHECK(t.dim() <= CT_MAX_DIMS, "entry has more than ", CT_MAX_DIMS, " dimensions");
        if (name) *name = model->state[size_t(i)].first.c_str();
        if (dtype) *dtype = t.is_floating_point() ? CT_FLOAT32 : CT_INT64;
        if (ndim) *ndim = int32_t(t.dim());
        if (shape)
            for (int64_t d = 0; d < t.dim(); ++d) shape[d] = t.size(d);
        return CT_OK;
    });
}

ct_status ct_model_state_set(ct_model *model, int64_t i, const void *data, int32_t dtype, int64_t count) {
    return guarded("ct_model_state_set", [&] {
        auto &dst = state_entry(model, i);
        TORCH_CHECK(data || count == 0, "null data");
        TORCH_CHECK(count == dst.numel(), model->state[size_t(i)].first, ": ", count, " values for ", dst.numel(),
                    " elements");
        torch::NoGradGuard g;
        dst.copy_(torch::from_blob(const_cast<void *>(data), dst.sizes(), scalar_type(dtype)));
        return CT_OK;
    });
}

ct_status ct_model_state_get(const ct_model *model, int64_t i, void *out, int32_t dtype, int64_t count) {
    return guarded("ct_model_state_get", [&] {
        const auto &src = state_entry(model, i);
        TORCH_CHECK(out && count == src.numel(), "output holds ", count, " values, entry has ", src.numel());
        auto c = src.detach().to(torch::kCPU, scalar_type(dtype)).contiguous();
        std::memcpy(out, c.data_ptr(), size_t(c.numel()) * c.element_size());
        return CT_OK;
    });
}

ct_status ct_model_set_adam_state(ct_model *model, int64_t i, const float *exp_avg, const float *exp_avg_sq,
                                  int64_t count, int64_t step) {
    return guarded("ct_model_set_adam_state", [&] {
        TORCH_CHECK(model->optimizer, "optimizer not configured");
        const auto &p = state_entry(model, i);
        TORCH_CHECK(p.requires_grad(), model->state[size_t(i)].first, " is not a parameter");
        TORCH_CHECK(exp_avg && exp_avg_sq && count == p.numel(), "Adam state of ", count, " values for ", p.numel());
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(step);
        s->exp_avg(torch::from_blob(const_cast<float *>(exp_avg), p.sizes(), torch::kFloat32).to(model->device).clone());
        s->exp_avg_sq(
            torch::from_blob(const_cast<float *>(exp_avg_sq), p.sizes(), torch::kFloat32).to(model->device).clone());
        model->optimizer->state()[adam_key(p)] = std::move(s);
        return CT_OK;
    });
}

ct_status ct_model_clear_adam_state(ct_model *model) {
    return guarded("ct_model_clear_adam_state", [&] {
        TORCH_CHECK(model->optimizer, "optimizer not configured");
        model->optimizer->state().clear();
        return CT_OK;
    });
}

ct_status ct_pos_embed_adapt(const float *pos, int64_t dim, int64_t grid_f, int64_t grid_t, int64_t f_dim,
                             int64_t t_dim, float *out) {
    return guarded("ct_pos_embed_adapt", [&] {
        TORCH_CHECK(pos && out && dim > 0 && grid_f > 0 && grid_t > 0 && f_dim > 0 && t_dim > 0, "bad argument");
        namespace F = torch::nn::functional;
        auto pe = torch::from_blob(const_cast<float *>(pos), {1, 2 + grid_f * grid_t, dim}, torch::kFloat32);
        auto grid = pe.slice(1, 2).reshape({1, grid_f * grid_t, dim}).transpose(1, 2).reshape({1, dim, grid_f, grid_t});
        // models/ast.py: cut time columns from the middle when fewer are needed, else interpolate;
        // then the same for frequency rows.
        if (t_dim < grid_t) {
            const auto t0 = grid_t / 2 - t_dim / 2;
            grid = grid.slice(3, t0, t0 + t_dim);
        } else {
            grid = F::interpolate(grid, F::InterpolateFuncOptions().size(std::vector<int64_t>{grid_f, t_dim})
                                            .mode(torch::kBilinear).align_corners(false));
        }
        if (f_dim < grid_f) {
            const auto f0 = grid_f / 2 - f_dim / 2;
            grid = grid.slice(2, f0, f0 + f_dim);
        } else if (f_dim > grid_f) {
            grid = F::interpolate(grid, F::InterpolateFuncOptions().size(std::vector<int64_t>{f_dim, t_dim})
                                            .mode(torch::kBilinear).align_corners(false));
        }
        auto result = torch::cat({pe.slice(1, 0, 2), grid.reshape({1, dim, f_dim * t_dim}).transpose(1, 2)}, 1)
                          .contiguous();
        std::memcpy(out, result.data_ptr<float>(), sizeof(float) * size_t(result.numel()));
        return CT_OK;
    });
}

ct_status ct_model_checkpoint_bytes(ct_model *model, const char *meta_json, ct_buffer *out) {
    return guarded("ct_model_checkpoint_bytes", [&] {
        TORCH_CHECK(out, "null buffer");
        *out = ct_buffer{nullptr, 0, nullptr};
        // The paper code's save_model() layout: model (AST, keys v.*), classifier (0 = LayerNorm,
        // 1 = Linear), plus our projector, optimizer and meta.
        c10::Dict<std::string, torch::Tensor> model_sd, classifier_sd, projector_sd, opt_sd;
        for (const auto &[name, tensor] : model->state) {
            auto value = tensor.detach().cpu().clone();
            if (name.rfind("mlp_head.", 0) == 0) classifier_sd.insert(name.substr(9), value);
            else if (name.rfind("projector.", 0) == 0) projector_sd.insert(name.substr(10), value);
            else model_sd.insert(name, value);
        }
        if (model->optimizer) {
            auto &state = model->optimizer->state();
            for (const auto &[name, tensor] : model->state) {
                auto it = state.find(adam_key(tensor));
                if (it == state.end()) continue;
                auto &s = static_cast<torch::optim::AdamParamState &>(*it->second);
                opt_sd.insert(name + ".exp_avg", s.exp_avg().detach().cpu().clone());
                opt_sd.insert(name + ".exp_avg_sq", s.exp_avg_sq().detach().cpu().clone());
                opt_sd.insert(name + ".step", torch::tensor(s.step(), torch::kInt64));
            }
        }
        c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
        top.insert("model", model_sd);
        top.insert("classifier", classifier_sd);
        top.insert("projector", projector_sd);
        top.insert("optimizer", opt_sd);
        top.insert("meta", std::string(meta_json ? meta_json : "{}"));
        // The vector itself is handed over (no copy of a checkpoint that may be a gigabyte).
        auto bytes = std::make_unique<std::vector<char>>(torch::pickle_save(top));
        out->data = bytes->data();
        out->size = bytes->size();
        out->owner = bytes.release();
        return CT_OK;
    });
}

void ct_buffer_free(ct_buffer *buffer) {
    if (!buffer) return;
    delete static_cast<std::vector<char> *>(buffer->owner);
    *buffer = ct_buffer{nullptr, 0, nullptr};
}

} // extern "C"
