/* LSTM, as torch.nn.LSTM: gate order i, f, g, o; parameters named and
 * shaped as PyTorch's (weight_ih_l{k}[_reverse] [4H, in_k],
 * weight_hh_l{k}[_reverse] [4H, H], bias_ih_l{k}[_reverse] and
 * bias_hh_l{k}[_reverse] [4H]; in_0 = input_size, in_k = D*H where D is 2
 * when bidirectional), so a state_dict maps one to one. No proj_size.
 *
 * Shapes: x [T, B, input_size] ([B, T, input_size] with batch_first);
 * y [T, B, D*H] (or [B, T, D*H]); h0, c0, h_n, c_n [num_layers*D, B, H]
 * (layer-major, as PyTorch; batch_first does not change them). All f32 and
 * contiguous, on the LSTM's device, created by the caller.
 *
 * Variable lengths behave as a packed sequence (pack_padded_sequence with
 * enforce_sorted=False, then pad_packed_sequence): sequence b runs for
 * lengths[b] steps, its outputs past that are 0, h_n/c_n are its state at its
 * last step, the reverse direction starts at its own last step, and nothing
 * past the end gets a gradient.
 *
 * Ownership: embcl_lstm_create() gives a handle freed by embcl_lstm_free().
 * Parameter and gradient tensors returned by embcl_lstm_param() belong to
 * the LSTM (do not free them; write them with embcl_tensor_upload to load
 * weights). Forward keeps what backward needs (a view of x, the gates and
 * states of every step) until the next forward: x must not change between
 * a forward and its backward.
 */
#ifndef EMBCL_LSTM_H
#define EMBCL_LSTM_H

#include "core.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct embcl_lstm *embcl_lstm_t;

typedef struct embcl_lstm_config {
    int64_t input_size;
    int64_t hidden_size;
    int num_layers;     /* default 1 */
    int bias;           /* default 1; 0 drops bias_ih and bias_hh */
    int batch_first;    /* default 0 */
    int bidirectional;  /* default 0 */
    float dropout;      /* on each layer's output but the last, in training; default 0 */
    uint64_t seed;      /* parameter init and dropout masks; default 0 */
} embcl_lstm_config;

EMBCL_API embcl_lstm_config embcl_lstm_config_default(int64_t input_size, int64_t hidden_size);

/* Parameters are drawn from U(-1/sqrt(H), 1/sqrt(H)) by a counter-based
 * generator from cfg->seed: the same values on every device. Gradients
 * start at zero. */
EMBCL_API embcl_status embcl_lstm_create(embcl_device_t dev, const embcl_lstm_config *cfg, embcl_lstm_t *out);
EMBCL_API void embcl_lstm_free(embcl_lstm_t lstm);

/* Parameters in PyTorch's named_parameters() order. */
EMBCL_API embcl_status embcl_lstm_param_count(embcl_lstm_t lstm, size_t *count);
/* Parameter i: its name ("weight_ih_l0"), tensor and gradient tensor; any
 * out-pointer may be NULL. */
EMBCL_API embcl_status embcl_lstm_param(embcl_lstm_t lstm, size_t i, const char **name, embcl_tensor_t *weight,
                                        embcl_tensor_t *grad);
/* The same by name; EMBCL_ERR_INVALID_ARG names an unknown one. */
EMBCL_API embcl_status embcl_lstm_find_param(embcl_lstm_t lstm, const char *name, embcl_tensor_t *weight,
                                             embcl_tensor_t *grad);
/* Every gradient := 0. */
EMBCL_API embcl_status embcl_lstm_zero_grad(embcl_lstm_t lstm);

/* lengths: NULL (all T) or B host values in [1, T]. h0, c0: NULL for zeros.
 * training: 1 applies dropout between layers. h_n, c_n may be NULL. Each
 * training forward draws new dropout masks (seed, call count). */
EMBCL_API embcl_status embcl_lstm_forward(embcl_lstm_t lstm, embcl_tensor_t x, const int64_t *lengths,
                                          embcl_tensor_t h0, embcl_tensor_t c0, int training, embcl_tensor_t y,
                                          embcl_tensor_t h_n, embcl_tensor_t c_n);

/* Backward through time of the last forward. dy: y's shape; dh_n, dc_n:
 * NULL for zeros. Adds every parameter's gradient into the LSTM's gradient
 * tensors (as PyTorch accumulates .grad) and writes dx (x's shape), dh0 and
 * dc0 when they are not NULL. */
EMBCL_API embcl_status embcl_lstm_backward(embcl_lstm_t lstm, embcl_tensor_t dy, embcl_tensor_t dh_n,
                                           embcl_tensor_t dc_n, embcl_tensor_t dx, embcl_tensor_t dh0,
                                           embcl_tensor_t dc0);

#ifdef __cplusplus
}
#endif
#endif
