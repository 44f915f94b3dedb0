/* embcl: embedding training on OpenCL. One header per area; this one takes all. */
#ifndef EMBCL_H
#define EMBCL_H

#include "embcl/core.h"
#include "embcl/device.h"
#include "embcl/tuning.h"
#include "embcl/tensor.h"
#include "embcl/sparse.h"
#include "embcl/embedding.h"
#include "embcl/elementwise.h"
#include "embcl/linear.h"
#include "embcl/lstm.h"
#include "embcl/loss.h"
#include "embcl/optim.h"
#include "embcl/bf16.h"
#include "embcl/graph.h"
#include "embcl/io.h"
#include "embcl/train.h"
#include "embcl/mpi.h"

#endif
