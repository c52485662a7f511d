#include "space/nb201.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"

namespace fhist::space {

namespace {

const std::array<const char*, 6> kEdgeNames = {"edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"};

bool is_op(const std::string& op) {
  const auto names = nb201_op_names();
  return std::find(names.begin(), names.end(), op) != names.end();
}

std::string known_ops() {
  std::string out;
  for (const auto& n : nb201_op_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Splits on `sep`, keeping empty parts so that stray or doubled separators are seen and rejected.
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char ch : s) {
    if (ch == sep) {
      parts.emplace_back();
    } else {
      parts.back() += ch;
    }
  }
  return parts;
}

}  // namespace

const std::array<const char*, 6>& nb201_edge_names() { return kEdgeNames; }

std::vector<std::string> nb201_op_names() {
  return {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"};
}

Nb201Arch parse_nb201_arch(const std::string& s) {
  auto fail = [&s](const std::string& what) { throw InputError(fmt::format("NAS-Bench-201 arch '{}': {}", s, what)); };
  const auto nodes = split(s, '+');
  if (nodes.size() != kNb201Nodes) {
    fail(fmt::format("expected {} nodes separated by '+', got {}{}", kNb201Nodes, nodes.size(),
                     nodes.size() > kNb201Nodes ? fmt::format(" (extra node '{}')", nodes[kNb201Nodes]) : ""));
  }
  Nb201Arch arch;
  std::size_t e = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string& node = nodes[i];
    if (node.size() < 2 || node.front() != '|' || node.back() != '|') {
      fail(fmt::format("node {} '{}' must start and end with '|'", i + 1, node));
    }
    const auto edges = split(node.substr(1, node.size() - 2), '|');
    if (edges.size() != i + 1) {
      fail(fmt::format("node {} '{}' needs {} input(s), got {}", i + 1, node, i + 1, edges.size()));
    }
    for (std::size_t j = 0; j < edges.size(); ++j) {
      const std::string& tok = edges[j];
      const auto tilde = tok.find('~');
      if (tilde == std::string::npos) fail(fmt::format("edge '{}' of node {} is not op~input", tok, i + 1));
      const std::string op = tok.substr(0, tilde);
      const std::string input = tok.substr(tilde + 1);
      if (!is_op(op)) fail(fmt::format("unknown op '{}' in edge '{}' (known: {})", op, tok, known_ops()));
      // Inputs must be listed in order 0..i-1: the edge order is what Nb201Arch and the search space index by.
      if (input != std::to_string(j)) {
        fail(fmt::format("edge '{}' of node {}: expected input {}, got '{}'", tok, i + 1, j, input));
      }
      arch.ops[e++] = op;
    }
  }
  return arch;
}

std::string to_string(const Nb201Arch& arch) {
  std::string out;
  std::size_t e = 0;
  for (int i = 1; i <= kNb201Nodes; ++i) {
    out += i > 1 ? "+|" : "|";
    for (int j = 0; j < i; ++j) out += arch.ops[e++] + "~" + std::to_string(j) + "|";
  }
  return out;
}

SearchSpace nb201_space() {
  const auto names = nb201_op_names();
  const std::vector<nlohmann::json> choices(names.begin(), names.end());
  std::vector<Param> params;
  for (const char* edge : kEdgeNames) params.push_back(Param::categorical(edge, choices));
  return SearchSpace("nb201", std::move(params));
}

Nb201Arch nb201_arch_from_config(const Config& config) {
  Nb201Arch arch;
  for (std::size_t e = 0; e < kEdgeNames.size(); ++e) {
    arch.ops[e] = config.get_string(kEdgeNames[e]);  // InputError naming the field if missing / not a string
    if (!is_op(arch.ops[e])) {
      throw InputError(fmt::format("config: parameter '{}': unknown NAS-Bench-201 op '{}' (known: {})", kEdgeNames[e],
                                   arch.ops[e], known_ops()));
    }
  }
  return arch;
}

Config nb201_config(const Nb201Arch& arch) {
  Config config;
  for (std::size_t e = 0; e < kEdgeNames.size(); ++e) config.set(kEdgeNames[e], arch.ops[e]);
  return config;
}

}  // namespace fhist::space
