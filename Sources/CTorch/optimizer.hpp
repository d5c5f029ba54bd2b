// The optimizer phase of a training step as a fixed number of multi-tensor operations, whatever
// the number of parameters (docs/gpu.md): zeroing the gradients, the Adam step, the moving
// average. The numbers are those of the per-tensor code they replace (torch::optim::Adam::step,
// the paper's ma_update): on the CPU the foreach operations run the same per-tensor kernels with
// the same scalars; on CUDA they are fused multi-tensor kernels (same math, float opmath).
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace ctorch {

/// torch::optim::Adam::step() (L2 weight decay, no amsgrad) over the parameters that have a
/// gradient, keeping its state (step, exp_avg, exp_avg_sq) in the optimizer so that checkpoints
/// are unchanged. Foreach operations; on CUDA libtorch's fused Adam kernel where it has one.
void adam_step(torch::optim::Adam &optimizer);

/// Copies of the state entries for the moving average: one foreach copy of the floating-point
/// entries, a clone of each other one (BatchNorm's num_batches_tracked).
std::vector<torch::Tensor> snapshot_state(const std::vector<std::pair<std::string, torch::Tensor>> &state);

/// The per-entry snapshot the foreach one replaced: a clone of every entry
/// (ct_model_use_reference_optimizer).
std::vector<torch::Tensor> reference_snapshot_state(const std::vector<std::pair<std::string, torch::Tensor>> &state);

/// The paper's ma_update: every entry becomes old * beta + new * (1 - beta), as
/// new.mul_(1 - beta).add_(old, beta) for floating-point entries (two foreach calls).
void moving_average(std::vector<std::pair<std::string, torch::Tensor>> &state, const std::vector<torch::Tensor> &before,
                    double beta);

/// The per-entry moving average the foreach one replaced (ct_model_use_reference_optimizer).
void reference_moving_average(std::vector<std::pair<std::string, torch::Tensor>> &state,
                              const std::vector<torch::Tensor> &before, double beta);

} // namespace ctorch
