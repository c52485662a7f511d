#pragma once
// The chart library the HTML report inlines: the browser builds of vega, vega-lite and vega-embed, embedded at build
// time from web/node_modules (npm ci, versions pinned by web/package-lock.json). Empty when fhist was built
// without them.
#include <vector>

namespace fhist::report {

struct WebAsset {
  const char* name;     // npm package
  const char* version;  // from its package.json
  const char* text;     // the minified browser build
};

const std::vector<WebAsset>& web_assets();

}  // namespace fhist::report
