#pragma once
// NAS-Bench-201 (REFERENCE §2) as text and as a search space: the cell's arch strings, the 6-edge space, and the
// mapping between configurations and cells. No Torch: the network that trains a cell is nas::TinyNetwork.
#include <array>
#include <string>
#include <vector>

#include "space/space.hpp"

namespace fhist::space {

// One cell: the op on each of the 6 edges, in arch-string order
// (node1<-0, node2<-0, node2<-1, node3<-0, node3<-1, node3<-2).
struct Nb201Arch {
  std::array<std::string, 6> ops;
  bool operator==(const Nb201Arch& o) const { return ops == o.ops; }
  bool operator!=(const Nb201Arch& o) const { return !(*this == o); }
};

// Intermediate nodes of a cell (node 0 is its input): node i sums one edge from each earlier node.
constexpr int kNb201Nodes = 3;
// The configuration parameter of each edge, in arch-string order: edge_1_0, edge_2_0, edge_2_1, edge_3_0, ...
const std::array<const char*, 6>& nb201_edge_names();

// none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3 (the benchmark's order).
std::vector<std::string> nb201_op_names();

// Parses exactly `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. Throws InputError naming the offending token on any
// deviation (unknown op, node count, inputs per node, input index, bars).
Nb201Arch parse_nb201_arch(const std::string& s);
// The inverse of parse_nb201_arch: parse_nb201_arch(to_string(a)) == a, and to_string(parse(s)) == s.
std::string to_string(const Nb201Arch& arch);

// 6 categorical parameters edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2 over nb201_op_names().
SearchSpace nb201_space();
// Reads the six edge_* fields (other fields, e.g. training hparams, are ignored). Throws InputError naming the
// field if one is missing, not a string, or not an op name.
Nb201Arch nb201_arch_from_config(const Config& config);
Config nb201_config(const Nb201Arch& arch);

}  // namespace fhist::space
