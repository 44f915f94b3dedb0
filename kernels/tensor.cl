/* Tensor utilities.
 * Variants: element type T (-DT=float|int|long).
 * fill_2d: every element of a rows x cols matrix with row stride ld,
 *          starting `off` elements into the buffer, becomes `value`.
 *          Global size: (cols rounded up, rows). */
#include "common.h"

__kernel void fill_2d(__global T *dst, ulong off, ulong rows, ulong cols, ulong ld, T value)
{
    size_t c = get_global_id(0);
    size_t r = get_global_id(1);
    if (c < cols && r < rows)
        dst[off + r * ld + c] = value;
}
