#include "vswitch/xdp_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "vswitch/log.hpp"
#include "vswitch_xdp.skel.h"

namespace vswitch {
namespace {

constexpr const char* kProgramName = "vswitch_xdp";

std::string hint(int err) {
  if (err == EPERM || err == EACCES) return " (needs root: CAP_BPF, CAP_NET_ADMIN)";
  return "";
}

// A program from a crashed run attached the legacy (netlink) way would block the link:
// replace it if it is ours, refuse if it is somebody else's.
Status clear_stale_program(int ifindex, const std::string& ifname) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof q;
  if (bpf_xdp_query(ifindex, 0, &q) != 0 || q.prog_id == 0) return Ok{};
  const int fd = bpf_prog_get_fd_by_id(q.prog_id);
  if (fd < 0) return Ok{};
  bpf_prog_info info{};
  __u32 len = sizeof info;
  const int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
  close(fd);
  if (rc != 0) return Ok{};
  if (std::strncmp(info.name, kProgramName, sizeof info.name) != 0)
    return Error{"interface " + ifname + " already has another XDP program (id " +
                 std::to_string(q.prog_id) + ", \"" + info.name + "\"); detach it first"};
  // Ours but not through a live link (a link would still have an owner and show here too;
  // detaching fails harmlessly then with EBUSY and the attach below reports it).
  const __u32 mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  if (bpf_xdp_detach(ifindex, mode, nullptr) == 0)
    VS_WARN("replaced a vswitch XDP program left on %s by an earlier run", ifname.c_str());
  return Ok{};
}

Status load_underlay_rules(const vswitch_xdp* skel, const UnderlayPolicy& policy) {
  const int fd = bpf_map__fd(skel->maps.underlay_rules);
  for (const UnderlayRule& rule : policy.trie_entries()) {
    vswitch_underlay_key key{};
    key.prefixlen = rule.prefix_len;
    std::memcpy(key.addr, rule.address.data(), sizeof key.addr);
    const auto verdict = static_cast<__u8>(rule.verdict);
    if (bpf_map_update_elem(fd, &key, &verdict, BPF_ANY) != 0)
      return errno_error("cannot load underlay prefix " + rule.prefix_text() + " into the XDP program");
  }
  return Ok{};
}

int attach_link(const vswitch_xdp* skel, int ifindex, __u32 flags) {
  bpf_link_create_opts opts{};
  opts.sz = sizeof opts;
  opts.flags = flags;
  const int fd = bpf_link_create(bpf_program__fd(skel->progs.vswitch_xdp), ifindex, BPF_XDP, &opts);
  return fd < 0 ? -errno : fd;
}

// Library messages: warnings stay warnings, the rest (chatty progress) is debug.
int forward_log(const char* library, bool warning, const char* fmt, va_list args) {
  const log::Level l = warning ? log::Level::warn : log::Level::debug;
  if (!log::enabled(l)) return 0;
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  std::size_t n = std::strlen(buf);
  while (n > 0 && buf[n - 1] == '\n') buf[--n] = 0;
  log::write(l, "%s: %s", library, buf);
  return 0;
}

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  return forward_log("libbpf", level == LIBBPF_WARN, fmt, args);
}

int libxdp_log(enum libxdp_print_level level, const char* fmt, va_list args) {
  return forward_log("libxdp", level == LIBXDP_WARN, fmt, args);
}

}  // namespace

void route_bpf_logs_to_logger() {
  libbpf_set_print(libbpf_log);
  libxdp_set_print(libxdp_log);
}

Result<XdpProgram> XdpProgram::attach(const std::string& ifname, const Endpoint& listen, XdpMode mode,
                                      std::uint32_t max_packet, const UnderlayPolicy& policy, const Endpoint* vxlan) {
  XdpProgram p;
  p.ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (p.ifindex_ == 0) return Error{"interface '" + ifname + "' not found"};
  p.skel_ = vswitch_xdp__open();
  if (p.skel_ == nullptr) return errno_error("cannot open the XDP program");
  p.skel_->rodata->cfg_port = listen.port();
  p.skel_->rodata->cfg_max_len = max_packet;
  p.skel_->rodata->cfg_default_deny = policy.default_verdict() == UnderlayVerdict::deny;
  if (listen.family() == AF_INET) {  // 0.0.0.0 leaves the filter off
    p.skel_->rodata->cfg_addr4 =
        reinterpret_cast<const sockaddr_in*>(listen.sockaddr_ptr())->sin_addr.s_addr;
  } else if (listen.family() == AF_INET6 && !listen.is_any_address()) {
    const auto& a = reinterpret_cast<const sockaddr_in6*>(listen.sockaddr_ptr())->sin6_addr;
    std::memcpy(const_cast<__u8*>(p.skel_->rodata->cfg_addr6), &a, 16);
    p.skel_->rodata->cfg_match_addr6 = 1;
  }
  if (vxlan != nullptr) {
    p.skel_->rodata->cfg_vxlan_port = vxlan->port();
    if (vxlan->family() == AF_INET) {
      p.skel_->rodata->cfg_vxlan_addr4 = reinterpret_cast<const sockaddr_in*>(vxlan->sockaddr_ptr())->sin_addr.s_addr;
    } else {
      const auto& a = reinterpret_cast<const sockaddr_in6*>(vxlan->sockaddr_ptr())->sin6_addr;
      std::memcpy(const_cast<__u8*>(p.skel_->rodata->cfg_vxlan_addr6), &a, 16);
      p.skel_->rodata->cfg_vxlan_ipv6 = 1;
    }
  }
  if (const int rc = vswitch_xdp__load(p.skel_); rc != 0)
    return errno_error("cannot load the XDP program" + hint(-rc), -rc);
  if (auto s = load_underlay_rules(p.skel_, policy); !s) return s.error();
  if (auto s = clear_stale_program(p.ifindex_, ifname); !s) return s.error();

  int fd = -EOPNOTSUPP;
  if (mode != XdpMode::generic) {
    fd = attach_link(p.skel_, p.ifindex_, XDP_FLAGS_DRV_MODE);
    if (fd >= 0) {
      p.native_ = true;
    } else if (mode == XdpMode::native) {
      return errno_error("cannot attach native XDP to " + ifname + hint(-fd) +
                         (-fd == EOPNOTSUPP || -fd == EINVAL ? " (driver without native XDP? try --xdp-mode generic)" : ""),
                         -fd);
    } else {
      VS_WARN("native XDP unavailable on %s (%s); falling back to generic XDP", ifname.c_str(),
              std::strerror(-fd));
    }
  }
  if (fd < 0) {
    // Before the program can see a packet: generic mode must tell super-packets apart.
    p.skel_->bss->generic_mode = 1;
    fd = attach_link(p.skel_, p.ifindex_, XDP_FLAGS_SKB_MODE);
    if (fd < 0) return errno_error("cannot attach generic XDP to " + ifname + hint(-fd), -fd);
  }
  p.link_fd_ = fd;
  return p;
}

XdpProgram::XdpProgram(XdpProgram&& other) noexcept
    : skel_(std::exchange(other.skel_, nullptr)),
      link_fd_(std::exchange(other.link_fd_, -1)),
      ifindex_(other.ifindex_),
      native_(other.native_) {}

XdpProgram& XdpProgram::operator=(XdpProgram&& other) noexcept {
  if (this != &other) {
    release();
    skel_ = std::exchange(other.skel_, nullptr);
    link_fd_ = std::exchange(other.link_fd_, -1);
    ifindex_ = other.ifindex_;
    native_ = other.native_;
  }
  return *this;
}

XdpProgram::~XdpProgram() { release(); }

void XdpProgram::release() noexcept {
  if (link_fd_ >= 0) close(link_fd_);  // detaches
  link_fd_ = -1;
  if (skel_ != nullptr) vswitch_xdp__destroy(skel_);
  skel_ = nullptr;
}

int XdpProgram::xsk_map_fd() const noexcept { return bpf_map__fd(skel_->maps.xsks); }

std::array<std::uint64_t, VSWITCH_XDP_COUNTER_COUNT> XdpProgram::counters() const {
  std::array<std::uint64_t, VSWITCH_XDP_COUNTER_COUNT> total{};
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return total;
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  for (__u32 slot = 0; slot < VSWITCH_XDP_COUNTER_COUNT; ++slot) {
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &slot, per_cpu.data()) != 0) continue;
    for (auto v : per_cpu) total[slot] += v;
  }
  return total;
}

}  // namespace vswitch
