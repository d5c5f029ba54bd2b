// Checkpoints (torch::pickle_save / pickle_load, readable by Python's torch.load) and
// AudioSet AST weights (REFERENCE.md: keys module.v.*, positional embedding cut to the grid).
#include "compat.hpp"
#include "internal.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

using namespace ctorch;

namespace {

std::vector<char> read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    TORCH_CHECK(in.good(), "cannot open ", path);
    const auto size = std::streamsize(in.tellg());
    TORCH_CHECK(size > 0, path, " is empty");
    std::vector<char> data(size_t(size), 0);
    in.seekg(0);
    in.read(data.data(), size);
    TORCH_CHECK(in.gcount() == size, "short read from ", path);
    return data;
}

void write_file_atomically(const std::string &path, const std::vector<char> &data) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        TORCH_CHECK(out.good(), "cannot write ", tmp);
        out.write(data.data(), std::streamsize(data.size()));
        out.flush();
        TORCH_CHECK(out.good(), "short write to ", tmp);
    }
    TORCH_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename ", tmp, " to ", path);
}

using TensorMap = std::map<std::string, torch::Tensor>;

/// A dict of name -> tensor from an IValue (a state dict).
TensorMap tensor_map(const c10::IValue &value, const std::string &what) {
    TORCH_CHECK(value.isGenericDict(), what, " is not a dict (", value.tagKind(), ")");
    TensorMap out;
    for (const auto &entry : value.toGenericDict()) {
        if (!entry.key().isString() || !entry.value().isTensor()) continue;
        out[entry.key().toStringRef()] = entry.value().toTensor();
    }
    return out;
}

c10::IValue load_ivalue(const std::string &path) {
    auto data = read_file(path);
    return torch::pickle_load(data);
}

/// The "model" entry of a project checkpoint, or nullopt when `top` is a plain state dict.
bool is_project_checkpoint(const c10::IValue &top) {
    if (!top.isGenericDict()) return false;
    auto dict = top.toGenericDict();
    return dict.contains("model") && dict.contains("meta");
}

std::string shape_str(const torch::Tensor &t) {
    std::ostringstream s;
    s << t.sizes();
    return s.str();
}

/// The AST code's adaptation of a [1, 2 + Fg*Tg, D] positional embedding to f_dim x t_dim:
/// cut from the middle where the grid is larger, bilinear interpolation where smaller.
torch::Tensor adapt_pos_embed(const torch::Tensor &pe, int64_t f_dim, int64_t t_dim, std::string &note) {
    const auto n = pe.size(1) - 2, D = pe.size(2);
    int64_t fg = 0, tg = 0;
    if (n == 12 * 101) { fg = 12; tg = 101; }
    else if (n % f_dim == 0) { fg = f_dim; tg = n / f_dim; }
    TORCH_CHECK(fg > 0, "v.pos_embed: cannot infer the patch grid of ", n, " positions");
    auto pos = pe.slice(1, 2).reshape({1, fg * tg, D}).transpose(1, 2).reshape({1, D, fg, tg});
    namespace F = torch::nn::functional;
    if (t_dim <= tg) {
        const auto t0 = tg / 2 - t_dim / 2;
        pos = pos.slice(3, t0, t0 + t_dim);
    } else {
        pos = F::interpolate(pos, F::InterpolateFuncOptions().size(std::vector<int64_t>{fg, t_dim})
                                      .mode(torch::kBilinear).align_corners(false));
    }
    if (f_dim < fg) {
        const auto f0 = fg / 2 - f_dim / 2;
        pos = pos.slice(2, f0, f0 + f_dim);
    } else if (f_dim > fg) {
        pos = F::interpolate(pos, F::InterpolateFuncOptions().size(std::vector<int64_t>{f_dim, t_dim})
                                      .mode(torch::kBilinear).align_corners(false));
    }
    pos = pos.reshape({1, D, f_dim * t_dim}).transpose(1, 2);
    std::ostringstream s;
    s << "pos_embed grid " << fg << "x" << tg << " -> " << f_dim << "x" << t_dim;
    note = s.str();
    return torch::cat({pe.slice(1, 0, 2), pos}, 1);
}

compat::OptimizerStateKey adam_key(const torch::Tensor &p) { return compat::optimizer_state_key(p); }

} // namespace

extern "C" {

ct_status ct_model_load_init(ct_model *model, const char *path, int32_t load_head, char **report) {
    return guarded("ct_model_load_init", [&] {
        TORCH_CHECK(path, "null path");
        if (report) *report = nullptr;
        auto top = load_ivalue(path);
        const bool project = is_project_checkpoint(top);
        auto raw = tensor_map(project ? top.toGenericDict().at("model") : top, path);
        // Strip the DataParallel prefix of the AudioSet file.
        TensorMap sd;
        for (auto &[k, v] : raw) sd[k.rfind("module.", 0) == 0 ? k.substr(7) : k] = v;

        auto &net = model->net;
        std::vector<std::string> missing, mismatched;
        int64_t loaded = 0;
        std::string pos_note = "pos_embed as stored";
        bool head_loaded = false, projector_loaded = false;
        torch::NoGradGuard g;
        auto params = net->named_parameters(true);
        auto buffers = net->named_buffers(true);
        auto assign = [&](const std::string &name, torch::Tensor &dst, bool required) {
            auto it = sd.find(name);
            if (it == sd.end()) {
                if (required) missing.push_back(name);
                return false;
            }
            torch::Tensor src = it->second;
            if (name == "v.pos_embed" && src.dim() == 3 && src.size(2) == dst.size(2) && src.sizes() != dst.sizes())
                src = adapt_pos_embed(src.to(torch::kFloat32), net->f_dim, net->t_dim, pos_note);
            if (src.sizes() != dst.sizes()) {
                if (required) mismatched.push_back(name + " (file " + shape_str(src) + ", model " + shape_str(dst) + ")");
                return false;
            }
            dst.copy_(src.to(dst.dtype()));
            ++loaded;
            return true;
        };
        // First pass: check everything required, assign into temporaries so a failed load
        // leaves the model untouched.
        std::vector<std::pair<torch::Tensor, torch::Tensor>> pending;
        auto stage = [&](const std::string &name, const torch::Tensor &dst, bool required) {
            auto tmp = torch::empty_like(dst, torch::TensorOptions().device(torch::kCPU));
            if (assign(name, tmp, required)) pending.emplace_back(dst, tmp);
            return !pending.empty() && pending.back().first.is_same(dst);
        };
        for (auto &item : params) {
            const auto &name = item.key();
            if (name.rfind("v.", 0) == 0) stage(name, item.value(), true);
        }
        if (load_head || project) {
            bool ok = true;
            for (auto &item : params)
                if (item.key().rfind("mlp_head.", 0) == 0) {
                    auto it = sd.find(item.key());
                    ok = ok && it != sd.end() && it->second.sizes() == item.value().sizes();
                }
            if (ok) {
                for (auto &item : params)
                    if (item.key().rfind("mlp_head.", 0) == 0) stage(item.key(), item.value(), true);
                head_loaded = true;
            } else if (load_head && !project) {
                TORCH_CHECK(false, path, ": classifier head requested but mlp_head.* is missing or has another shape");
            }
        }
        if (project) {
            bool ok = true;
            for (auto &item : params)
                if (item.key().rfind("projector.", 0) == 0) {
                    auto it = sd.find(item.key());
                    ok = ok && it != sd.end() && it->second.sizes() == item.value().sizes();
                }
            if (ok) {
                for (auto &item : params)
                    if (item.key().rfind("projector.", 0) == 0) stage(item.key(), item.value(), true);
                for (auto &item : buffers)
                    if (item.key().rfind("projector.", 0) == 0) stage(item.key(), item.value(), false);
                projector_loaded = true;
            }
        }
        if (!missing.empty() || !mismatched.empty()) {
            std::ostringstream s;
            s << path << ": cannot initialise the model:";
            if (!missing.empty()) {
                s << " missing keys:";
                for (size_t i = 0; i < missing.size() && i < 8; ++i) s << " " << missing[i];
                if (missing.size() > 8) s << " (+" << missing.size() - 8 << " more)";
                s << ";";
            }
            if (!mismatched.empty()) {
                s << " shape mismatches:";
                for (size_t i = 0; i < mismatched.size() && i < 8; ++i) s << " " << mismatched[i];
                if (mismatched.size() > 8) s << " (+" << mismatched.size() - 8 << " more)";
            }
            TORCH_CHECK(false, s.str());
        }
        for (auto &[dst, src] : pending) dst.copy_(src.to(dst.device()));
        if (report) {
            std::ostringstream s;
            s << (project ? "project checkpoint" : "state dict") << ": " << pending.size() << " tensors, " << pos_note
              << ", head " << (head_loaded ? "loaded" : "new") << ", projector "
              << (projector_loaded ? "loaded" : "new");
            *report = copy_string(s.str());
        }
        (void)loaded;
        return CT_OK;
    });
}

ct_status ct_model_save_checkpoint(ct_model *model, const char *path, const char *meta_json) {
    return guarded("ct_model_save_checkpoint", [&] {
        TORCH_CHECK(path, "null path");
        c10::Dict<std::string, torch::Tensor> model_sd, opt_sd;
        auto &net = model->net;
        for (const auto &item : net->named_parameters(true)) model_sd.insert(item.key(), item.value().detach().cpu().clone());
        for (const auto &item : net->named_buffers(true)) model_sd.insert(item.key(), item.value().detach().cpu().clone());
        if (model->optimizer) {
            auto &state = model->optimizer->state();
            for (const auto &item : net->named_parameters(true)) {
                auto it = state.find(adam_key(item.value()));
                if (it == state.end()) continue;
                auto &s = static_cast<torch::optim::AdamParamState &>(*it->second);
                opt_sd.insert(item.key() + ".exp_avg", s.exp_avg().detach().cpu().clone());
                opt_sd.insert(item.key() + ".exp_avg_sq", s.exp_avg_sq().detach().cpu().clone());
                opt_sd.insert(item.key() + ".step", torch::tensor(s.step(), torch::kInt64));
            }
        }
        c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
        top.insert("model", model_sd);
        top.insert("optimizer", opt_sd);
        top.insert("meta", std::string(meta_json ? meta_json : "{}"));
        write_file_atomically(path, torch::pickle_save(top));
        return CT_OK;
    });
}

ct_status ct_model_load_checkpoint(ct_model *model, const char *path, int32_t with_optimizer) {
    return guarded("ct_model_load_checkpoint", [&] {
        TORCH_CHECK(path, "null path");
        auto top = load_ivalue(path);
        TORCH_CHECK(is_project_checkpoint(top), path, " is not a checkpoint of this trainer (no model/meta entries)");
        auto dict = top.toGenericDict();
        auto sd = tensor_map(dict.at("model"), std::string(path) + ":model");
        auto &net = model->net;
        torch::NoGradGuard g;
        std::vector<std::pair<torch::Tensor, torch::Tensor>> pending;
        auto check = [&](const std::string &name, const torch::Tensor &dst) {
            auto it = sd.find(name);
            TORCH_CHECK(it != sd.end(), path, ": missing key ", name);
            TORCH_CHECK(it->second.sizes() == dst.sizes(), path, ": shape mismatch for ", name, ": file ",
                        shape_str(it->second), ", model ", shape_str(dst));
            pending.emplace_back(dst, it->second);
        };
        for (const auto &item : net->named_parameters(true)) check(item.key(), item.value());
        for (const auto &item : net->named_buffers(true)) check(item.key(), item.value());
        for (auto &[dst, src] : pending) dst.copy_(src.to(dst.device(), dst.dtype()));
        if (with_optimizer) {
            TORCH_CHECK(model->optimizer, "optimizer not configured");
            auto opt = tensor_map(dict.at("optimizer"), std::string(path) + ":optimizer");
            auto &state = model->optimizer->state();
            state.clear();
            for (const auto &item : net->named_parameters(true)) {
                auto a = opt.find(item.key() + ".exp_avg");
                if (a == opt.end()) continue;
                auto b = opt.find(item.key() + ".exp_avg_sq");
                auto st = opt.find(item.key() + ".step");
                TORCH_CHECK(b != opt.end() && st != opt.end(), path, ": incomplete Adam state for ", item.key());
                auto s = std::make_unique<torch::optim::AdamParamState>();
                s->step(st->second.item<int64_t>());
                s->exp_avg(a->second.to(model->device).clone());
                s->exp_avg_sq(b->second.to(model->device).clone());
                state[adam_key(item.value())] = std::move(s);
            }
        }
        return CT_OK;
    });
}

ct_status ct_checkpoint_read_meta(const char *path, char **out_json) {
    return guarded("ct_checkpoint_read_meta", [&] {
        TORCH_CHECK(path && out_json, "null argument");
        auto top = load_ivalue(path);
        TORCH_CHECK(is_project_checkpoint(top), path, " is not a checkpoint of this trainer (no model/meta entries)");
        auto meta = top.toGenericDict().at("meta");
        TORCH_CHECK(meta.isString(), path, ": meta is not a string");
        *out_json = copy_string(meta.toStringRef());
        return CT_OK;
    });
}

} // extern "C"
