// fhist model-info: parameters, multiply-accumulates and feature size of a zoo model, without training it.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/errors.hpp"
#include "models/model_info.hpp"
#include "space/catalog.hpp"
#include "space/nb201.hpp"
#include "nas/network.hpp"

namespace fhist::cli {
namespace {

struct ModelInfoCmd {
  models::ModelSpec spec;
  std::string input = "1x28x28";  // the default dataset, Fashion-MNIST
  std::string depth_mult;
  std::string stage_width_mult;
  JsonOutput out;
};

void run_model_info(ModelInfoCmd& c) {
  const auto shape = models::parse_input_shape(c.input, "--input");
  if (!c.depth_mult.empty()) c.spec.depth_mults = models::parse_stage_mults(c.depth_mult, "--depth-mult");
  if (!c.stage_width_mult.empty()) {
    c.spec.width_mults = models::parse_stage_mults(c.stage_width_mult, "--stage-width-mult");
  }
  if (!c.spec.arch.empty() && c.spec.name != "nb201" && c.spec.name != "darts") {
    throw InputError(
        fmt::format("--arch: only the nb201 and darts models have a cell to set (--model is {})", c.spec.name));
  }
  if (c.spec.name == "nb201") space::parse_nb201_arch(c.spec.arch);
  c.spec.in_channels = shape[0];
  c.spec.in_features = shape[0] * shape[1] * shape[2];  // the mlp flattens one example
  auto model = nas::make_network(c.spec);
  const auto info = models::describe_model(*model, shape);
  const double gmacs = static_cast<double>(info.macs) / 1e9;
  if (c.out.any()) {
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
    c.out.write(out);
    if (c.out.json) return;
  }
  if (!c.spec.arch.empty()) fmt::print("arch         {}\n", c.spec.arch);
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
  sub->add_option("--model", c->spec.name, "network")->check(CLI::IsMember(space::network_names()))->required();
  sub->add_option("--arch,--genotype", c->spec.arch, "nb201: the cell's arch string; darts: Genotype(...) text (default DARTS_V2)");
  sub->add_option("--channels", c->spec.channels, "nb201/darts: initial channels (0 = 16 / 36)");
  sub->add_option("--cells", c->spec.cells, "nb201: cells per stage (0 = 5); darts: layers (0 = 20)");
  sub->add_flag("--auxiliary", c->spec.auxiliary, "darts: count the auxiliary head too");
  sub->add_option("--width-mult", c->spec.width_mult, "multiplies every layer's channel count")->capture_default_str();
  sub->add_option("--depth-mult", c->depth_mult, "resnet-scale: d2,d3,d4,d5 (stage s has round(2 d_s) blocks)");
  sub->add_option("--stage-width-mult", c->stage_width_mult,
                  "resnet-scale: w2,w3,w4,w5 (stage s has round(w_s 64 2^(s-2)) channels)");
  sub->add_option("--input", c->input, "CxHxW of one image")->capture_default_str();
  sub->add_option("--classes", c->spec.num_classes, "number of classes")->capture_default_str();
  add_json_output_flags(*sub, c->out, "the model's size");
  sub->callback([c]() { run_model_info(*c); });
}

}  // namespace fhist::cli
