#include "vswitch/metrics_server.hpp"

#include <sys/socket.h>

#include <utility>

#include "vswitch/unique_fd.hpp"

namespace vswitch {
namespace {

constexpr std::size_t kMaxRequestHead = 8192;

std::string http(std::string_view status, std::string_view content_type, std::string_view body,
                 std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace

std::string http_metrics_answer(std::string_view head, const MetricsServer::Render& render) {
  const std::string_view line = head.substr(0, head.find_first_of("\r\n"));
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1."))
    return http("400 Bad Request", "text/plain; charset=utf-8", "bad request\n");
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));  // Prometheus may add parameters; none matter here
  if (target != "/metrics" && target != "/")
    return http("404 Not Found", "text/plain; charset=utf-8", "not found: try /metrics\n");
  if (method != "GET" && method != "HEAD")
    return http("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n", "Allow: GET, HEAD\r\n");
  if (target == "/")
    return http("200 OK", "text/html; charset=utf-8",
                "<html><body><h1>vswitch</h1><p><a href=\"/metrics\">metrics</a></p></body></html>\n");
  std::string answer = http("200 OK", "text/plain; version=0.0.4; charset=utf-8", render());
  if (method == "HEAD") answer.resize(answer.find("\r\n\r\n") + 4);
  return answer;
}

Result<MetricsServer> MetricsServer::listen(const Endpoint& address) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno_error("--metrics: socket");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (address.family() == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), address.sockaddr_ptr(), address.size()) != 0)
    return errno_error("--metrics: cannot bind " + address.to_string());
  if (::listen(fd.get(), static_cast<int>(RequestServer::kMaxClients)) != 0)
    return errno_error("--metrics: listen on " + address.to_string());
  Endpoint bound = address;
  socklen_t len = bound.size();
  if (::getsockname(fd.get(), bound.sockaddr_ptr(), &len) != 0) bound = address;
  RequestServer server(std::move(fd), {.end = "\r\n\r\n",
                                       .max_request = kMaxRequestHead,
                                       .too_long = http("431 Request Header Fields Too Large",
                                                        "text/plain; charset=utf-8", "request too large\n"),
                                       .answer_at_eof = false});
  return MetricsServer(std::move(server), bound);
}

Status MetricsServer::start(Render render) {
  if (!render) return Error{"metrics server: start() without a renderer"};
  return server_.start([render = std::move(render)](std::string_view head) { return http_metrics_answer(head, render); });
}

}  // namespace vswitch
