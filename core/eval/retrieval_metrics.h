#pragma once
// Concept zero-shot classification: each object's token against the embeddings of the class
// prompts ("a photo of a {label}"), scored by top-1 accuracy.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace setok::eval {

// scores: [M,K] similarity of M queries to K classes (any floating dtype, any device).
// Returns each row's argmax; ties go to the lowest class index and NaN scores never win (a row of
// only NaN predicts class 0), so the result depends on nothing but the scores.
std::vector<int64_t> top1_predictions(const at::Tensor& scores);

// Fraction of rows whose prediction equals labels[m] (labels: [M] integer). NaN for M = 0.
double top1_accuracy(const at::Tensor& scores, const at::Tensor& labels);

}  // namespace setok::eval
