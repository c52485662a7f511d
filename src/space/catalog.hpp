#pragma once
// The catalog: built-in search spaces by name, and the parameters a trial can apply (training options and the
// cells of the nb201 and darts spaces), with the ranges each training option accepts. No Torch.
#include <string>
#include <vector>

#include "space/space.hpp"

namespace fhist::space {

// A built-in space by name (hparams, randaugment, nb201, darts, resnet-scale) or a JSON space file.
// `flops_cap` applies to resnet-scale ("2x" or "" for the default 2x, "4x", "none"), at the width the candidates
// train (`width_mult`). Throws InputError. A file's parameters may be any names: what applies them checks them
// (check_space_params for training).
SearchSpace load_space(const std::string& spec, const std::string& flops_cap = "", double width_mult = 1.0);
std::vector<std::string> space_names();
// Every --model value: the zoo's networks, then the two cell networks (nb201, darts). Here, without Torch, so the
// command line checks it before LibTorch is loaded.
std::vector<std::string> network_names();
// Whether `spec` names a built-in space (else load_space reads it as a file).
bool is_builtin_space(const std::string& spec);

// Throws InputError for a parameter of `s` that no trial could apply (not a training option, not a cell edge).
// Also ranges outside what the option accepts (a negative batch size). `source` names the space file, if any.
void check_space_params(const SearchSpace& s, const std::string& source = "");
// Throws InputError, suggesting the nearest known name, for a configuration key no trial could apply.
void check_config_keys(const Config& cfg);

// The network a parameter belongs to ("mlp" for depth / width / dropout, "resnet-scale" for the stage multipliers,
// "nb201" / "darts" for cell parameters), "" for a training option. Such a parameter chooses its network unless the
// configuration names another in `model`, which is refused (check_space_params, and the trainer for a --config).
std::string model_of_param(const std::string& name);

// Whether a trial can apply parameter `name`.
bool is_known_param(const std::string& name);
// A parameter of a cell-based space: it selects part of the architecture, not a training option.
bool is_nb201_param(const std::string& name);  // edge_*
bool is_darts_param(const std::string& name);  // normal_*, reduce_*

}  // namespace fhist::space
