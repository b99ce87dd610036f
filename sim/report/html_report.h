#pragma once
// report.html: one self-contained file (inline CSS and SVG, no scripts, no
// network fetches) with the comparison tables and charts: per-layer latency
// and energy as stacked bars, energy by component, one roofline per run.
#include <string>

#include "sim/report/results.h"

namespace xpu::report {

// A complete HTML document around `body` (trusted markup) with the report CSS.
std::string html_page(const std::string& title, const std::string& body);
// Manifest facts (version, revision, energy table, input hashes) as HTML.
std::string html_manifest(const nlohmann::json& manifest);
std::string report_html(const ExperimentResult& r);

}  // namespace xpu::report
