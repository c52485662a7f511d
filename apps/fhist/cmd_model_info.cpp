// fhist model-info: parameters, multiply-accumulates and feature size of a zoo model, without training it.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "models/model_info.hpp"

namespace fhist::cli {
namespace {

struct ModelInfoCmd {
  models::ModelSpec spec;
  std::string input = "3x32x32";
  std::string depth_mult;
  std::string stage_width_mult;
  bool json = false;
};

void run_model_info(ModelInfoCmd& c) {
  const auto shape = models::parse_input_shape(c.input, "--input");
  if (!c.depth_mult.empty()) c.spec.depth_mults = models::parse_stage_mults(c.depth_mult, "--depth-mult");
  if (!c.stage_width_mult.empty()) {
    c.spec.width_mults = models::parse_stage_mults(c.stage_width_mult, "--stage-width-mult");
  }
  const auto info = models::describe_model(c.spec, shape);
  const double gmacs = static_cast<double>(info.macs) / 1e9;
  if (c.json) {
    nlohmann::json out = {{"model", c.spec.name},
                          {"width_mult", c.spec.width_mult},
                          {"input", shape},
                          {"classes", c.spec.num_classes},
                          {"parameters", info.parameters},
                          {"macs", info.macs},
                          {"gmacs", gmacs},
                          {"feature_dim", info.feature_dim}};
    if (!c.spec.depth_mults.empty()) out["depth_mult"] = c.spec.depth_mults;
    if (!c.spec.width_mults.empty()) out["stage_width_mult"] = c.spec.width_mults;
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("model        {} (width x{}), input {}x{}x{}, {} classes\n", c.spec.name, c.spec.width_mult, shape[0],
             shape[1], shape[2], c.spec.num_classes);
  fmt::print("parameters   {}\n", models::with_thousands(info.parameters));
  fmt::print("MACs         {} ({:.3f} G; conv + linear, one image)\n", models::with_thousands(info.macs), gmacs);
  fmt::print("feature dim  {}\n", info.feature_dim);
}

}  // namespace

void register_model_info(CLI::App& app) {
  auto c = std::make_shared<ModelInfoCmd>();
  auto* sub = app.add_subcommand("model-info", "parameter count, multiply-accumulates and feature size of a model");
  sub->add_option("--model", c->spec.name, "network")->check(CLI::IsMember(models::model_names()))->required();
  sub->add_option("--width-mult", c->spec.width_mult, "multiplies every layer's channel count")->capture_default_str();
  sub->add_option("--depth-mult", c->depth_mult, "resnet-scale: d2,d3,d4,d5 (stage s has round(2 d_s) blocks)");
  sub->add_option("--stage-width-mult", c->stage_width_mult,
                  "resnet-scale: w2,w3,w4,w5 (stage s has round(w_s 64 2^(s-2)) channels)");
  sub->add_option("--input", c->input, "CxHxW of one image")->capture_default_str();
  sub->add_option("--classes", c->spec.num_classes, "number of classes")->capture_default_str();
  sub->add_flag("--json", c->json, "print JSON instead of a table");
  sub->callback([c]() { run_model_info(*c); });
}

}  // namespace fhist::cli
