/*
 * ctorch.h: the C API of the project's libtorch bridge.
 *
 * Tensor math only: the Audio Spectrogram Transformer (AST), its classifier head, projector and
 * optional domain head, the primitives a training step is composed of (forward pieces, losses,
 * gradient reversal, backward, Adam step, moving-average update), evaluation, access to the
 * model state, checkpoint serialisation and the AudioSet positional-embedding adaptation.
 * Checkpoint files are read and written in Swift.
 * All policy lives in Swift: which objective a step computes (a training method is a Swift file
 * composing these primitives), random decisions, schedules, data, metrics. The Patch-Mix
 * permutation, mask and lambda arrive here as plain arrays.
 *
 * Conventions: every function that can fail returns a ct_status; on failure the
 * message is available from ct_last_error() (thread-local, valid until the next call on
 * the same thread). No C++ exception ever leaves this API. Handles are opaque and owned
 * by the caller, who frees them with the matching *_free function.
 *
 * Arrays: spectrograms are float32 row-major [batch, frames, bins] (the shard layout);
 * labels and indices are int64.
 */
#ifndef CTORCH_H
#define CTORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CT_OK = 0,
    CT_ERROR = 1,
    /** The training loss was NaN or infinite; the step was not applied. */
    CT_NONFINITE_LOSS = 2,
} ct_status;

typedef enum {
    CT_NEGATIVES_ALL = 0,
    CT_NEGATIVES_DIFF_LABEL = 1,
} ct_negative_pair;

/** The shape of one AST (plus head and projector). */
typedef struct {
    int32_t embed_dim;    /* D */
    int32_t depth;        /* transformer blocks */
    int32_t heads;        /* attention heads; D % heads == 0 */
    int32_t mlp_hidden;   /* MLP hidden width, 4 * D in DeiT */
    int32_t patch_size;   /* 16 */
    int32_t fstride;      /* frequency stride of the patch embedding */
    int32_t tstride;      /* time stride */
    int32_t input_frames; /* 798 */
    int32_t input_bins;   /* 128 */
    int32_t num_classes;  /* classifier outputs */
    int32_t proj_dim;     /* projector output width (768 in the paper) */
    int32_t domain_classes; /* > 0: a domain head LayerNorm + Linear(D, domain_classes); 0: none */
} ct_ast_config;

typedef struct {
    double loss;       /* the loss backpropagated (before any loss scale) */
    int32_t found_inf; /* loss_scale > 0 only: 1 when the gradients held inf/NaN (step skipped) */
    double ce_loss;     /* the value of ct_step_finish's `ce` tensor (0 when NULL) */
    double second_loss; /* the value of its `second` tensor (0 when NULL) */
} ct_step_result;

typedef struct ct_model ct_model;

/** Message of the last failure on this thread ("" if none). */
const char *ct_last_error(void);
/** libtorch's version string, e.g. "1.13.0". */
const char *ct_torch_version(void);
int32_t ct_cuda_is_available(void);
/** CUDA devices libtorch can use (0 for a CPU-only build or when the driver does not fit). */
int32_t ct_cuda_device_count(void);
/** at::show_config(): how this libtorch was built (its CUDA version among it); free with ct_free_string. */
char *ct_build_configuration(void);
/** torch::manual_seed: seeds libtorch's generators (parameter initialisation). */
void ct_manual_seed(uint64_t seed);
void ct_set_num_threads(int32_t threads);
int32_t ct_get_num_threads(void);
/**
 * Tunes glibc malloc for training (no-op elsewhere). glibc serves big blocks with a fresh
 * mmap and unmaps them on free, so every step page-faults its activations afresh (attention
 * maps are tens of MB): measured 2.1 M page faults and ~1.8x the CPU time per step for ast-tiny
 * at batch 16, in Python PyTorch as well. mmap_threshold <= 0 disables mmap for allocations
 * (M_MMAP_MAX = 0: every block comes from the heap and is reused); otherwise it sets
 * M_MMAP_THRESHOLD (at most 32 MiB). Free heap memory above trim_threshold is given back.
 * Returns 1 when applied.
 */
int32_t ct_configure_allocator(int64_t mmap_threshold, int64_t trim_threshold);
/**
 * Counts the libtorch operator calls made from now on (a global RecordFunction callback, as
 * torch.profiler uses): the outermost call on each thread counts once, whatever it calls inside.
 * Returns 0 when counting is already on or not available.
 */
int32_t ct_op_count_start(void);
/** Stops counting; writes the calls since ct_op_count_start, and those of training steps'
 * optimizer phases among them (snapshot, zeroing and unscaling gradients, Adam, moving average).
 * Returns 0 when counting was not on. */
int32_t ct_op_count_stop(int64_t *total, int64_t *optimizer);
/** Frees a string returned by this API. */
void ct_free_string(char *s);

/** Builds a freshly initialised model on `device` ("cpu", "cuda", "cuda:1"). */
ct_status ct_model_create(const ct_ast_config *config, const char *device, ct_model **out);
void ct_model_free(ct_model *model);
/** Number of patches P = f_dim * t_dim; f_dim, t_dim written when not NULL. */
int64_t ct_model_num_patches(const ct_model *model, int64_t *f_dim, int64_t *t_dim);
/** Number of trainable scalars (model, heads and projector). */
int64_t ct_model_num_parameters(const ct_model *model);

/** Creates the Adam optimizer (betas 0.9/0.999, eps 1e-8, L2 weight decay as torch.optim.Adam). */
ct_status ct_model_configure_optimizer(ct_model *model, double lr, double weight_decay);
ct_status ct_model_set_learning_rate(ct_model *model, double lr);

/** Eval-mode features [batch, D] (mean of the cls and distillation outputs). */
ct_status ct_model_features(ct_model *model, const float *x, int64_t batch, float *out);
/** Eval-mode classifier logits [batch, num_classes]. */
ct_status ct_model_logits(ct_model *model, const float *x, int64_t batch, float *out);

/* ==== Training steps composed of primitives (step.cpp) ===================================== */

/**
 * One training step is a graph built call by call: ct_step_begin puts the model in training mode,
 * snapshots its state for the moving average when ma_beta > 0 and opens the autocast region (when
 * the model autocasts); the calls below add tensors to the step's graph (handles owned by the
 * step, valid until ct_step_free); ct_step_finish closes the region, checks the loss, backpropagates
 * it, takes the Adam step and applies the moving average. A step that fails or is freed unfinished
 * changes no weights (BatchNorm statistics of forward passes already run excepted).
 */
typedef struct ct_step ct_step;
typedef struct ct_tensor ct_tensor;

ct_status ct_step_begin(ct_model *model, float ma_beta, ct_step **out);
void ct_step_free(ct_step *step);

/** x [batch, frames, bins] float32 onto the model's device. */
ct_status ct_step_input(ct_step *step, const float *x, int64_t batch, ct_tensor **out);
/** n int64 values (labels, indices, groups); when upper > 0 each must lie in [0, upper), else the
 * error names `what`. */
ct_status ct_step_int64s(ct_step *step, const int64_t *values, int64_t n, int64_t upper, const char *what,
                         ct_tensor **out);
/** n float32 values (class weights). */
ct_status ct_step_floats(ct_step *step, const float *values, int64_t n, ct_tensor **out);

/** The AST's features [batch, D] (mean of the cls and distillation outputs). With mix_index
 * (int64 [batch]) and mix_mask (int64 [num_mask], may be NULL): Patch-Mix after the patch
 * embedding, row i taking patches `mask` from row index[i]. */
ct_status ct_step_encode(ct_step *step, const ct_tensor *x, const ct_tensor *mix_index, const ct_tensor *mix_mask,
                         ct_tensor **out);
/** The classifier head (mlp_head: LayerNorm, Linear): logits [batch, num_classes]. */
ct_status ct_step_classify(ct_step *step, const ct_tensor *features, ct_tensor **out);
/** The projector (Linear, BatchNorm1d, ReLU, Linear): [batch, proj_dim]. */
ct_status ct_step_project(ct_step *step, const ct_tensor *features, ct_tensor **out);
/** The domain head (LayerNorm, Linear): [batch, domain_classes]; fails without one. */
ct_status ct_step_domain_classify(ct_step *step, const ct_tensor *features, ct_tensor **out);
/** The same values cut from the graph (no gradient flows back through it). */
ct_status ct_step_detach(ct_step *step, const ct_tensor *t, ct_tensor **out);
/** Identity forward; backward multiplies the gradient by -coefficient (gradient reversal). */
ct_status ct_step_gradient_reversal(ct_step *step, const ct_tensor *t, double coefficient, ct_tensor **out);
/** t[index] along dimension 0. */
ct_status ct_step_index_select(ct_step *step, const ct_tensor *t, const ct_tensor *index, ct_tensor **out);
/** wa * a + wb * b (a + wb * b when wa is 1). */
ct_status ct_step_weighted_sum(ct_step *step, const ct_tensor *a, double wa, const ct_tensor *b, double wb,
                               ct_tensor **out);

/** Mean cross-entropy of logits [batch, C] against int64 targets [batch], weighted per class
 * by weight [C] when not NULL. */
ct_status ct_step_cross_entropy(ct_step *step, const ct_tensor *logits, const ct_tensor *target,
                                const ct_tensor *weight, ct_tensor **out);
/** The Patch-Mix contrastive loss (REFERENCE.md) of b = mixed projections against a = clean
 * features (pass them detached), with the batch permutation `index` and effective lam. */
ct_status ct_step_patchmix_contrastive(ct_step *step, const ct_tensor *a, const ct_tensor *b,
                                       const ct_tensor *labels, const ct_tensor *index, float lam,
                                       float temperature, int32_t negative_pair, ct_tensor **out);
/** Supervised contrastive loss over two views p1, p2 [batch, dim] (each L2-normalised): anchors
 * are all 2 * batch rows, positives the other rows of the same group (groups int64 [batch]; NULL:
 * only the row's other view), the row itself excluded; mean over anchors of
 * -mean log-softmax(similarity / temperature) over positives. */
ct_status ct_step_supervised_contrastive(ct_step *step, const ct_tensor *p1, const ct_tensor *p2,
                                         const ct_tensor *groups, float temperature, ct_tensor **out);

/** enabled != 0: the model's training steps run the per-tensor optimizer phase the foreach one
 * replaced (libtorch's zero_grad and Adam::step, per-gradient unscale, per-entry moving average),
 * the reference tests compare the foreach path with and docs/gpu.md's "before" operator count.
 * New models take the default from the environment: CTORCH_REFERENCE_OPTIMIZER=1. */
ct_status ct_model_use_reference_optimizer(ct_model *model, int32_t enabled);

/**
 * Ends the step on `loss`: backward, Adam step, moving average. loss_scale 0: plain fp32 step; a
 * non-finite loss returns CT_NONFINITE_LOSS and changes no weights (the gradients hold the
 * backward pass of that loss). loss_scale > 0 (GradScaler): backpropagates loss * loss_scale,
 * unscales the gradients and skips the Adam step, reporting found_inf, when any is inf/NaN (a
 * non-finite loss is then no error; the moving average still runs). `ce` and `second` (either may
 * be NULL) are scalar tensors of the step whose values are reported with the loss.
 *
 * Host-device synchronisation: exactly one, a single copy of [loss, ce, second, found_inf] to the
 * host after the backward pass and the unscale, which decides whether Adam runs (docs/gpu.md).
 */
ct_status ct_step_finish(ct_step *step, const ct_tensor *loss, const ct_tensor *ce, const ct_tensor *second,
                         float loss_scale, ct_step_result *result);

/* ==== end of training-step primitives ======================================================= */

/** Element types of model state entries. */
typedef enum {
    CT_FLOAT32 = 0,
    CT_INT64 = 1,
} ct_dtype;

#define CT_MAX_DIMS 8

/**
 * The model's state entries (parameters, then buffers such as BatchNorm statistics), in the
 * order of its state dict, named as in the AST code (v.*, mlp_head.*, projector.*). Checkpoint
 * files are read in Swift; their tensors come in through ct_model_state_set.
 */
int64_t ct_model_state_count(const ct_model *model);
/** Entries [0, n) are parameters (trained by Adam), the rest buffers. */
int64_t ct_model_state_parameter_entries(const ct_model *model);
/** Name (valid while the model lives), element type (ct_dtype) and shape of entry i (at most CT_MAX_DIMS). */
ct_status ct_model_state_info(const ct_model *model, int64_t i, const char **name, int32_t *dtype, int64_t *shape,
                              int32_t *ndim);
/** Overwrites entry i with `count` (= its element count) values of type dtype, converting as needed. */
ct_status ct_model_state_set(ct_model *model, int64_t i, const void *data, int32_t dtype, int64_t count);
/** Copies entry i out as `count` values of type dtype. */
ct_status ct_model_state_get(const ct_model *model, int64_t i, void *out, int32_t dtype, int64_t count);
/** Sets Adam's moments and step count for parameter entry i (restoring a run). */
ct_status ct_model_set_adam_state(ct_model *model, int64_t i, const float *exp_avg, const float *exp_avg_sq,
                                  int64_t count, int64_t step);
/** Forgets all Adam state (before restoring it entry by entry). */
ct_status ct_model_clear_adam_state(ct_model *model);

/**
 * The AST code's adaptation of a positional embedding pos [2 + grid_f * grid_t, dim] (two token
 * rows, then the grid frequency-major) to f_dim x t_dim: time columns cut from the middle when
 * fewer are needed, else bilinear interpolation (align_corners false); then frequency rows the
 * same way. Writes [2 + f_dim * t_dim, dim] to out, flattened f_dim-major.
 */
ct_status ct_pos_embed_adapt(const float *pos, int64_t dim, int64_t grid_f, int64_t grid_t, int64_t f_dim,
                             int64_t t_dim, float *out);

/** Bytes owned by the bridge (a serialised checkpoint); release with ct_buffer_free. */
typedef struct {
    const void *data;
    size_t size;
    void *owner; /* private */
} ct_buffer;

/**
 * Serialises {"model": AST state dict (keys v.*), "classifier": {0.*, 1.*}, "projector": {0.*, 1.*, 3.*},
 * "optimizer": Adam state, "meta": meta_json} with torch::pickle_save into *out (the bytes of a
 * .pth file: Python's torch.load reads them; the paper code loads "model" and "classifier").
 * Writing the file (durably) is the caller's job. On success the caller owns *out.
 */
ct_status ct_model_checkpoint_bytes(ct_model *model, const char *meta_json, ct_buffer *out);
/** Releases a buffer from ct_model_checkpoint_bytes (a zeroed buffer is fine); zeroes it. */
void ct_buffer_free(ct_buffer *buffer);

/** Adds `value` to every model parameter (tests: NaN injection). */
ct_status ct_model_debug_fill(ct_model *model, float value);

/**
 * The Patch-Mix contrastive loss on given features: a = proj_clean [batch, dim]
 * (detached), b = proj_mixed [batch, dim], labels [batch], index [batch], lam.
 */
ct_status ct_patchmix_con_loss(const float *proj_clean, const float *proj_mixed, int64_t batch,
                               int64_t dim, const int64_t *labels, const int64_t *index, float lam,
                               float temperature, int32_t negative_pair, double *out);

/* ==== Mixed precision and GPUs (autocast; the loss scale is ct_step_options.loss_scale) ===== */

/**
 * Runs every later forward pass and loss of `model` (training steps, features, logits) under
 * autocast when enabled != 0, as torch.autocast does: float16 on CUDA, bfloat16 on CPU.
 * Fails with a message when this libtorch does not autocast on the model's device (checked
 * with a probe matmul). *dtype (when not NULL) receives "float16", "bfloat16" or "float32".
 */
ct_status ct_model_set_autocast(ct_model *model, int32_t enabled, const char **dtype);

/**
 * Peak bytes the caching allocator of the model's GPU (the device its parameters are on, not
 * the current one) has allocated and reserved in this process (torch.cuda.max_memory_allocated /
 * max_memory_reserved of that device). Returns 0 (and writes nothing) for a model on the CPU or
 * with a libtorch older than 2.9, which lacks the device-generic statistics.
 */
int32_t ct_model_peak_memory(const ct_model *model, int64_t *peak_allocated, int64_t *peak_reserved);

/**
 * Deterministic algorithms (train --deterministic), as torch.use_deterministic_algorithms(True)
 * plus torch.backends.cudnn.deterministic = True and benchmark = False; enabled == 0 restores
 * libtorch's defaults. Enabling also sets CUBLAS_WORKSPACE_CONFIG=:4096:8 unless it already holds
 * one of cuBLAS's deterministic settings (:4096:8, :16:8): call it before the first CUDA
 * computation of the process, because cuBLAS reads the variable when it creates its handle.
 * With it, an operation that has no deterministic implementation on the device fails with
 * libtorch's message naming it instead of running. Writes what it set to *summary (may be NULL;
 * free with ct_free_string).
 */
ct_status ct_set_deterministic(int32_t enabled, char **summary);

/* ==== end of mixed precision and GPUs ======================================================== */

/* ---- thread budgets (threads.cpp) ---------------------------------------------------- */

/**
 * Sets the BLAS library's own thread count (OpenBLAS's openblas_set_num_threads, found at run
 * time). Returns 1 when applied, 0 when the BLAS in use has no such knob.
 */
int32_t ct_set_blas_threads(int32_t threads);
/** OpenBLAS's thread count, or -1 when the BLAS in use is not OpenBLAS. */
int32_t ct_get_blas_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* CTORCH_H */
