#include "vswitch/metrics.hpp"

#include <gtest/gtest.h>

#include <string>

#include "vswitch/metrics_server.hpp"
#include "vswitch/switch_stats.hpp"

using namespace vswitch;
using metrics::Section;
using metrics::Type;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Metrics, OneHelpAndTypePerFamilyInFirstSeenOrder) {
  metrics::Samples s;
  metrics::Collector(s)
      .counter("b_total", "B things.", "b1", 1, {{"k", "x"}})
      .gauge("a", "A gauge.", "a", 7)
      .counter("b_total", "", "b2", 2, {{"k", "y"}});
  const std::string text = metrics::render_prometheus(s);
  EXPECT_EQ(text,
            "# HELP vswitch_b_total B things.\n# TYPE vswitch_b_total counter\n"
            "vswitch_b_total{k=\"x\"} 1\nvswitch_b_total{k=\"y\"} 2\n"
            "# HELP vswitch_a A gauge.\n# TYPE vswitch_a gauge\nvswitch_a 7\n");
}

TEST(Metrics, LabelValuesAreEscapedAndUnexportedSamplesStayOut) {
  metrics::Samples s;
  metrics::Collector(s)
      .counter("x_total", "Help with a \\ and a\nnewline.", "x", 3, {{"member", "a\"b\\c\nd"}})
      .counter("", "", "sum_only_for_vswitchctl", 9);
  const std::string text = metrics::render_prometheus(s);
  EXPECT_NE(text.find("# HELP vswitch_x_total Help with a \\\\ and a\\nnewline.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vswitch_x_total{member=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("sum_only"), std::string::npos);
  EXPECT_EQ(text.find(" 9\n"), std::string::npos);
}

TEST(Metrics, ScaledValuesAreBaseUnits) {
  metrics::Samples s;
  metrics::Collector(s).add("hold_seconds", "h", Type::gauge, {}, Section::counters, "hold_ns", 1'500'000, 1e-9);
  EXPECT_NE(metrics::render_prometheus(s).find("vswitch_hold_seconds 0.0015\n"), std::string::npos);
  EXPECT_EQ(s.front().value, 1'500'000u);  // vswitchctl keeps the exact nanoseconds
}

TEST(Metrics, EveryDropReasonIsALabelOfOneFamily) {
  SwitchStats stats;
  stats.drop(DropReason::bad_tag);
  stats.drop(DropReason::bad_tag);
  metrics::Samples s;
  stats.describe(s);
  const std::string text = metrics::render_prometheus(s);
  EXPECT_EQ(count(text, "# TYPE vswitch_drops_total counter"), 1u);
  EXPECT_EQ(count(text, "vswitch_drops_total{reason="), kDropReasonCount);
  EXPECT_NE(text.find("vswitch_drops_total{reason=\"bad_tag\"} 2\n"), std::string::npos);
  // Counters end in _total, every one (promtool's rule; the e2e test runs promtool itself).
  for (const auto& sample : s)
    if (sample.type == Type::counter && !sample.family.empty()) {
      EXPECT_TRUE(sample.family.ends_with("_total")) << sample.family;
    }
}

TEST(MetricsHttp, GetMetricsIsTheExpositionWithItsLength) {
  const std::string body = "vswitch_x 1\n";
  const std::string a = http_metrics_answer("GET /metrics HTTP/1.1\r\nHost: x", [&] { return body; });
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << a;
  EXPECT_NE(a.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(a.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
  EXPECT_EQ(a.substr(a.size() - body.size()), body);
  EXPECT_NE(http_metrics_answer("GET /metrics?x=1 HTTP/1.0", [&] { return body; }).find("200 OK"), std::string::npos);
  const std::string head = http_metrics_answer("HEAD /metrics HTTP/1.1", [&] { return body; });
  EXPECT_EQ(head.find(body), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

TEST(MetricsHttp, AnythingElseIsRefusedWithoutRendering) {
  bool rendered = false;
  auto render = [&] {
    rendered = true;
    return std::string();
  };
  EXPECT_EQ(http_metrics_answer("GET /other HTTP/1.1", render).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(http_metrics_answer("POST /metrics HTTP/1.1", render).rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(http_metrics_answer("garbage", render).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_metrics_answer("GET /metrics SPDY/3", render).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_metrics_answer("", render).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_FALSE(rendered);
}
