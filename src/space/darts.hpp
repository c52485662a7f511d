#pragma once
// The DARTS search space (Liu et al. 2019; REFERENCE §3, paper Appendix A.4) as text and as a search space:
// genotypes, their genotypes.py text form, uniform random cells, and the mapping between configurations and
// genotypes. No Torch: the network that trains a genotype is nas::NetworkCIFAR.
#include <string>
#include <utility>
#include <vector>

#include "space/space.hpp"

namespace fhist::space {

// One cell's wiring: 8 (op, input) pairs, two per intermediate node 2..5; inputs 0 and 1 are the outputs of cells
// k-2 and k-1, input j >= 2 is intermediate node j. `*_concat` lists the intermediate nodes whose channel concat is
// the cell's output (normally [2, 3, 4, 5]).
struct Genotype {
  using Edge = std::pair<std::string, int>;
  std::vector<Edge> normal;
  std::vector<int> normal_concat;
  std::vector<Edge> reduce;
  std::vector<int> reduce_concat;

  bool operator==(const Genotype& o) const {
    return normal == o.normal && normal_concat == o.normal_concat && reduce == o.reduce &&
           reduce_concat == o.reduce_concat;
  }
  bool operator!=(const Genotype& o) const { return !(*this == o); }
};

// The 8 operation names in the order of genotypes.py's PRIMITIVES ("none" first).
const std::vector<std::string>& darts_ops();

// Reads genotypes.py's text: `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...],
// reduce_concat=range(2, 6))`; fields by keyword in any order, each exactly once. Throws InputError naming the
// offending token: syntax, unknown op or field, not 8 pairs, an input not earlier than its node, a bad concat index.
Genotype parse_genotype(const std::string& text);
// The list form above (concat written as a list); parse_genotype(to_string(g)) == g.
std::string to_string(const Genotype& g);
// Throws InputError if `g` is not a well-formed 8-pair genotype (what parse_genotype checks after parsing).
void validate_genotype(const Genotype& g);

// DARTS_V2 from genotypes.py (second-order DARTS, the paper's Table 2 baseline).
Genotype darts_v2();

// A.4's uniform random cell, for the normal and the reduce cell alike: each intermediate node draws two distinct
// earlier inputs and, for each, one of the 7 ops other than "none". Concat is [2, 3, 4, 5].
Genotype sample_genotype(Rng& rng);

// The same space in the search-space language: for cell in {normal, reduce}, node n in 2..5, slot s in {a, b}:
// "<cell>_<n>_in_<s>" categorical over 0..n-1 and "<cell>_<n>_op_<s>" categorical over the 7 ops; one constraint
// "<cell>_<n>_inputs_differ" per node. Uniform sampling with rejection gives sample_genotype's distribution.
SearchSpace darts_space();
// Both throw InputError (naming the field) for what darts_space cannot hold: concat other than [2, 3, 4, 5],
// the op "none", or a node reading one input twice.
Genotype darts_genotype_from_config(const Config& config);
Config darts_config(const Genotype& g);

}  // namespace fhist::space
