/*
 * ctorch.h: the C API of the project's libtorch bridge.
 *
 * Tensor math only: the Audio Spectrogram Transformer (AST), its classifier head and the
 * Patch-Mix projector, one training step (forward, loss, backward, Adam step, moving-average
 * update), evaluation, the Patch-Mix contrastive loss, checkpoints and AudioSet weights.
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
} ct_step_options;

typedef struct {
    double loss;     /* total */
    double ce_loss;  /* classification part (mixup CE for patchmix) */
    double con_loss; /* contrastive part before alpha (0 unless patchmix_cl) */
} ct_step_result;

typedef struct ct_model ct_model;

/** Message of the last failure on this thread ("" if none). */
const char *ct_last_error(void);
/** libtorch's version string, e.g. "1.13.0". */
const char *ct_torch_version(void);
int32_t ct_cuda_is_available(void);
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

/**
 * Initialises weights from a PyTorch file read with torch::pickle_load:
 * an AudioSet AST state dict (keys module.v.*, positional embedding cut to this model's
 * patch grid as the AST code does; module.mlp_head.* only when load_head != 0 and the
 * shapes match), or one of this project's checkpoints (its "model" entry). Missing keys
 * and shape mismatches are errors naming the key. A one-line summary goes to *report
 * (free with ct_free_string) when report is not NULL.
 */
ct_status ct_model_load_init(ct_model *model, const char *path, int32_t load_head, char **report);

/**
 * Saves {"model": state dict, "optimizer": Adam state, "meta": meta_json} with
 * torch::pickle_save (atomically: temp file + rename). Python: torch.load(path).
 */
ct_status ct_model_save_checkpoint(ct_model *model, const char *path, const char *meta_json);
/** Restores the model (and the Adam state when with_optimizer != 0) from a checkpoint. */
ct_status ct_model_load_checkpoint(ct_model *model, const char *path, int32_t with_optimizer);
/** Reads the "meta" string of a checkpoint; free *out_json with ct_free_string. */
ct_status ct_checkpoint_read_meta(const char *path, char **out_json);

/** Adds `value` to every model parameter (tests: NaN injection). */
ct_status ct_model_debug_fill(ct_model *model, float value);

/**
 * The Patch-Mix contrastive loss on given features: a = proj_clean [batch, dim]
 * (detached), b = proj_mixed [batch, dim], labels [batch], index [batch], lam.
 */
ct_status ct_patchmix_con_loss(const float *proj_clean, const float *proj_mixed, int64_t batch,
                               int64_t dim, const int64_t *labels, const int64_t *index, float lam,
                               float temperature, int32_t negative_pair, double *out);

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
