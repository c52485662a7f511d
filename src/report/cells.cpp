// Cell drawings for the report's best configurations: NB201 cells (edge_J_I: op on the edge from node I to node J)
// and DARTS genotypes ({normal,reduce}_N_{op,in}_{a,b}: node N's two inputs). Nodes sit on a line; an edge spanning
// one step is straight, longer ones arc above or below with the operation written at the arc's middle.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "report/html.hpp"

namespace fhist::report {

namespace {

struct Edge {
  int from = 0, to = 0;
  std::string op;
  bool above = true;
};

std::string draw(const std::string& title, const std::vector<std::string>& nodes, const std::vector<Edge>& edges,
                 const std::vector<int>& concat) {
  const double spacing = 118, left = 34, arc = 30;
  int max_span = 1;
  for (const auto& e : edges) max_span = std::max(max_span, e.to - e.from);
  for (int c : concat) max_span = std::max(max_span, static_cast<int>(nodes.size()) - 1 - c);
  const double mid = 26 + arc * max_span * 0.6 + 14;
  const double width = left * 2 + spacing * static_cast<double>(nodes.size() - 1);
  const double height = mid * 2;
  auto x = [&](int i) { return left + spacing * i; };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cell\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"{}\"><title>{}</title>"
      "<text x=\"4\" y=\"14\" class=\"cell-title\">{}</text>",
      width, height, width, height, html_escape(title), html_escape(title), html_escape(title));
  auto path = [&](int a, int b, bool above, const std::string& cls, const std::string& label) {
    const int span = b - a;
    const double x0 = x(a), x1 = x(b), h = span <= 1 ? 0 : arc * span * 0.6 * (above ? -1 : 1);
    const double cx = (x0 + x1) / 2, cy = mid + 2 * h;  // quadratic control point: the curve's apex is at mid + h
    s += fmt::format("<path class=\"{}\" d=\"M{:.1f},{:.1f} Q{:.1f},{:.1f} {:.1f},{:.1f}\"/>", cls, x0 + 12, mid, cx,
                     cy, x1 - 12, mid);
    if (!label.empty()) {
      const double ly = span <= 1 ? mid - 5 : mid + h + (above ? -3 : 11);
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"cell-op\" text-anchor=\"middle\">{}</text>", cx, ly,
                       html_escape(label));
    }
  };
  for (const auto& e : edges) path(e.from, e.to, e.above, e.op == "none" ? "cell-edge none" : "cell-edge", e.op);
  for (int c : concat) path(c, static_cast<int>(nodes.size()) - 1, false, "cell-edge concat", "");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"12\" class=\"cell-node\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"cell-label\" text-anchor=\"middle\">{}</text>",
                     x(static_cast<int>(i)), mid, x(static_cast<int>(i)), mid + 4, html_escape(nodes[i]));
  }
  return s + "</svg>";
}

}  // namespace

std::string cell_svg(const nlohmann::json& config) {
  if (!config.is_object()) return "";
  static const std::regex nb201_re(R"(edge_(\d)_(\d))");
  static const std::regex darts_re(R"((normal|reduce)_(\d)_op_([ab]))");
  std::vector<Edge> nb201;
  std::map<std::string, std::vector<Edge>> darts;
  for (const auto& [key, value] : config.items()) {
    std::smatch m;
    if (!value.is_string()) continue;
    if (std::regex_match(key, m, nb201_re)) {
      const int to = std::stoi(m[1].str()), from = std::stoi(m[2].str());
      if (from < to && to <= 3) nb201.push_back({from, to, value.get<std::string>(), (from + to) % 2 == 1});
    } else if (std::regex_match(key, m, darts_re)) {
      const std::string cell = m[1].str(), slot = m[3].str();
      const int node = std::stoi(m[2].str());
      const auto in_key = fmt::format("{}_{}_in_{}", cell, node, slot);
      if (!config.contains(in_key) || !config.at(in_key).is_number_integer()) continue;
      const int from = config.at(in_key).get<int>();
      if (from < 0 || from >= node || node > 5) continue;
      darts[cell].push_back({from, node, value.get<std::string>(), slot == "a"});
    }
  }
  if (nb201.size() == 6) return draw("NB201 cell", {"0", "1", "2", "3"}, nb201, {});
  std::string out;
  for (const char* cell : {"normal", "reduce"}) {
    const auto it = darts.find(cell);
    if (it == darts.end() || it->second.size() != 8) continue;
    out += draw(std::string(cell) + " cell", {"c[k-2]", "c[k-1]", "0", "1", "2", "3", "c[k]"}, it->second,
                {2, 3, 4, 5});
  }
  return out;
}

}  // namespace fhist::report
