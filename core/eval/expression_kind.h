#pragma once
// What kind of referring expression each sentence of a scenes-world ref is, so that referring
// scores can be split by how much the sentence says. The world's writer (data::make_refs) gives an
// object its sentences in a fixed order: the shortest attribute description that singles it out
// ("the dress"), the full one with size and colour ("the small green dress", left out when it is
// the shortest), and the full one with the object's place ("the small green dress in the top
// right"); an object its attributes cannot single out gets one sentence that picks it by position
// among its twins ("the leftmost red star"). Real RefCOCO's sentences are people's and have no
// kinds: callers ask only for the scenes world (its instances carry "attributes").
#include <string>
#include <vector>

namespace setok::eval {

inline constexpr const char* kShortestExpression = "shortest";
inline constexpr const char* kFullExpression = "full";
inline constexpr const char* kRegionExpression = "with_region";
inline constexpr const char* kPositionExpression = "position";

// The kinds of each sentence of one ref, in order. When the shortest description is the full one
// (two sentences), that sentence is both "shortest" and "full". Sentences that do not have the
// writer's shape (the last one is not the one before it plus a region phrase, or a lone sentence
// is not a position phrase) get no kind.
std::vector<std::vector<std::string>> scenes_expression_kinds(const std::vector<std::string>& sentences);

}  // namespace setok::eval
