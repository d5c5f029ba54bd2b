/*
 * ctorch.h: the C API of the project's libtorch bridge.
 *
 * Tensor math only: the Audio Spectrogram Transformer (AST), its classifier head and the
 * Patch-Mix projector, one training step (forward, loss, backward, Adam step, moving-average
 * update), evaluation, the Patch-Mix contrastive loss, access to the model state, checkpoint
 * serialisation and the AudioSet positional-embedding adaptation. Checkpoint files are read and
 * written in Swift.
 * All policy (random decisions, schedules, data, metrics) lives in Swift: the Patch-Mix
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
    CT_METHOD_CE = 0,
    CT_METHOD_PATCHMIX = 1,
    CT_METHOD_PATCHMIX_CL = 2,
} ct_method;

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
    int32_t proj_dim;     /* projector output width (768 in the paper; must equal D for the loss) */
} ct_ast_config;

/** One training step's objective. The Patch-Mix decisions come from the caller. */
typedef struct {
    int32_t method;           /* ct_method */
    float alpha;              /* weight of the contrastive loss */
    float temperature;        /* contrastive temperature (0.06) */
    int32_t negative_pair;    /* ct_negative_pair */
    float lam;                /* effective lambda = 1 - num_mask / P (patchmix methods) */
    const int64_t *mix_index; /* [batch] permutation of the batch (patchmix methods) */
    const int64_t *mix_mask;  /* [num_mask] patch positions taken from x[index] */
    int64_t num_mask;
    const float *class_weights; /* [num_classes] cross-entropy weights, or NULL */
    float ma_beta;              /* moving-average beta; 0 disables (then plain Adam) */
    /* Mixed precision (GradScaler): > 0 backpropagates loss * loss_scale, unscales the
     * gradients and skips the step (no Adam step, no moving average) when any is inf/NaN,
     * reporting found_inf; a non-finite loss is then no error. 0: plain fp32 step. */
    float loss_scale;
} ct_step_options;

typedef struct {
    double loss;     /* total */
    double ce_loss;  /* classification part (mixup CE for patchmix) */
    double con_loss; /* contrastive part before alpha (0 unless patchmix_cl) */
    int32_t found_inf; /* loss_scale > 0 only: 1 when the gradients held inf/NaN (step skipped) */
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
/** Frees a string returned by this API. */
void ct_free_string(char *s);

/** Builds a freshly initialised model on `device` ("cpu", "cuda", "cuda:1"). */
ct_status ct_model_create(const ct_ast_config *config, const char *device, ct_model **out);
void ct_model_free(ct_model *model);
/** Number of patches P = f_dim * t_dim; f_dim, t_dim written when not NULL. */
int64_t ct_model_num_patches(const ct_model *model, int64_t *f_dim, int64_t *t_dim);
/** Number of trainable scalars (model, head and projector). */
int64_t ct_model_num_parameters(const ct_model *model);

/** Creates the Adam optimizer (betas 0.9/0.999, eps 1e-8, L2 weight decay as torch.optim.Adam). */
ct_status ct_model_configure_optimizer(ct_model *model, double lr, double weight_decay);
ct_status ct_model_set_learning_rate(ct_model *model, double lr);

/** One training step on x [batch, frames, bins], labels y [batch]. */
ct_status ct_model_train_step(ct_model *model, const float *x, const int64_t *y, int64_t batch,
                              const ct_step_options *options, ct_step_result *result);
/** Eval-mode features [batch, D] (mean of the cls and distillation outputs). */
ct_status ct_model_features(ct_model *model, const float *x, int64_t batch, float *out);
/** Eval-mode classifier logits [batch, num_classes]. */
ct_status ct_model_logits(ct_model *model, const float *x, int64_t batch, float *out);

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
 * Peak bytes the caching allocator of the current GPU has allocated and reserved in this process
 * (torch.cuda.max_memory_allocated / max_memory_reserved). Returns 0 (and writes nothing) without
 * a GPU or with a libtorch older than 2.9, which lacks the device-generic statistics.
 */
int32_t ct_accelerator_peak_memory(int64_t *peak_allocated, int64_t *peak_reserved);

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
