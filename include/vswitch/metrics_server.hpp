// The Prometheus endpoint (`vswitch --metrics ADDR:PORT`): GET /metrics over HTTP/1.x, answered
// with the text exposition format and closed, on a thread of its own (request_server.hpp: at
// most 16 clients, each with deadlines), so a scraper, slow or hostile, never reaches the
// switch. Only GET of "/metrics" and "/" is served; anything else gets a 4xx answer.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "vswitch/endpoint.hpp"
#include "vswitch/request_server.hpp"
#include "vswitch/result.hpp"

namespace vswitch {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;  // the exposition text, at each scrape

  // Binds and listens (SO_REUSEADDR; IPv6 addresses take IPv6 only). Port 0 picks a free one.
  static Result<MetricsServer> listen(const Endpoint& address);
  Status start(Render render);
  void stop() noexcept { server_.stop(); }
  const Endpoint& address() const noexcept { return address_; }  // as bound

 private:
  MetricsServer(RequestServer server, Endpoint address) : server_(std::move(server)), address_(address) {}
  RequestServer server_;
  Endpoint address_;
};

// The whole HTTP answer to one request head (request line and headers, without the blank line).
std::string http_metrics_answer(std::string_view request_head, const MetricsServer::Render& render);

}  // namespace vswitch
