// Operator-call counting (profile.cpp): the optimizer phase of a training step marks itself so
// that its calls are counted apart from the forward and backward passes.
#pragma once

namespace ctorch {

/// RAII: operator calls made while one is alive count as the optimizer phase's too.
class OptimizerPhase {
public:
    OptimizerPhase();
    ~OptimizerPhase();
    OptimizerPhase(const OptimizerPhase &) = delete;
    OptimizerPhase &operator=(const OptimizerPhase &) = delete;
};

} // namespace ctorch
