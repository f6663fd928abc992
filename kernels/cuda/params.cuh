// Neuron parameters that are one number per population or one value per neuron: the CUDA
// form of kernels/params.py::at. A kernel that takes per-neuron parameters gets them as two
// arrays of one entry per parameter (kernels/gpu_params.py builds them): param_ptr[k], the
// address of parameter k's per-neuron float64 array, or 0 where the population has one
// number, param_value[k]. Integers (refractory steps, table offsets) travel as doubles,
// exact below 2^53.
#pragma once
#include "common.cuh"

// Parameter k of neuron i.
BB_HD double param_at(const u64 *param_ptr, const double *param_value, int k, i64 i) {
    return param_ptr[k] ? ((const double *)param_ptr[k])[i] : param_value[k];
}

// The first n_params parameters of neuron i into q.
BB_HD void load_params(const u64 *param_ptr, const double *param_value, int n_params, i64 i,
                       double *q) {
    for (int k = 0; k < n_params; ++k) q[k] = param_at(param_ptr, param_value, k, i);
}
