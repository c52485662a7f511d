#pragma once
// Name suggestions for error messages ("unknown key 'learning_rate' (did you mean 'lr'?)"). No Torch.
#include <string>
#include <vector>

namespace fhist {

// Levenshtein distance (insert, delete, substitute: 1 each).
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name` if it is close enough to be a likely typo or synonym (distance at most a third of
// the longer name, at least 2), else "". Ties go to the earlier candidate.
std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" for nearest_name's answer, or "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

// "1 epoch", "2 epochs": a count with its noun (plural by an added "s").
std::string count_of(long long n, const std::string& noun);

}  // namespace fhist
