#include "vswitch/xsk_socket.hpp"

#include <bpf/bpf.h>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vswitch {

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9  // Linux 6.17
#endif

// Rings must not move: libxdp keeps pointers to them inside the socket and UMEM objects.
struct XskSocket::State {
  XskConfig config;
  void* area = nullptr;
  std::size_t area_size = 0;
  xsk_umem* umem = nullptr;
  xsk_socket* xsk = nullptr;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
  std::vector<std::uint64_t> pool;  // free chunk addresses
  std::uint64_t completed = 0;
  bool zero_copy = false;

  ~State() {
    if (xsk != nullptr) xsk_socket__delete(xsk);
    if (umem != nullptr) xsk_umem__delete(umem);
    if (area != nullptr) munmap(area, area_size);
  }
};

XskSocket::XskSocket(std::unique_ptr<State> state) : s_(std::move(state)) {}
XskSocket::XskSocket(XskSocket&&) noexcept = default;
XskSocket& XskSocket::operator=(XskSocket&&) noexcept = default;
XskSocket::~XskSocket() = default;

Result<XskSocket> XskSocket::open(const std::string& ifname, const XskConfig& config, int xsk_map_fd) {
  auto s = std::make_unique<State>();
  s->config = config;
  s->area_size = std::size_t{config.frames} * config.frame_size;
  s->area = mmap(nullptr, s->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s->area == MAP_FAILED) {
    s->area = nullptr;
    return errno_error("cannot map " + std::to_string(s->area_size >> 20) + " MiB of UMEM");
  }
  // Huge pages where the kernel has them (THP in madvise mode is enough): each packet sits in
  // its own 4 KiB chunk, so with small pages every packet the worker touches is a TLB miss,
  // and under virtualisation a miss walks two page tables. Before registration, which faults
  // the pages in.
  madvise(s->area, s->area_size, MADV_HUGEPAGE);
  xsk_umem_config ucfg{};
  ucfg.fill_size = config.ring_size;
  ucfg.comp_size = config.ring_size;
  ucfg.frame_size = config.frame_size;
  ucfg.frame_headroom = 0;
  if (const int rc = xsk_umem__create(&s->umem, s->area, s->area_size, &s->fill, &s->comp, &ucfg); rc != 0)
    return errno_error("cannot register UMEM for queue " + std::to_string(config.queue), -rc);

  xsk_socket_config xcfg{};
  xcfg.rx_size = config.ring_size;
  xcfg.tx_size = config.ring_size;
  xcfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // our own program steers
  xcfg.bind_flags = XDP_USE_NEED_WAKEUP;
  if (config.force_copy) xcfg.bind_flags |= XDP_COPY;
  if (config.force_zero_copy) xcfg.bind_flags |= XDP_ZEROCOPY;
  if (const int rc = xsk_socket__create(&s->xsk, ifname.c_str(), config.queue, s->umem, &s->rx, &s->tx, &xcfg);
      rc != 0) {
    const int err = -rc;
    std::string why = "cannot create AF_XDP socket on " + ifname + " queue " + std::to_string(config.queue);
    if (err == EOPNOTSUPP && config.force_zero_copy) why += " (driver without zero-copy: try --copy)";
    return errno_error(why, err);
  }
  const int fd = xsk_socket__fd(s->xsk);
  __u32 key = config.queue;
  if (!config.transmit_only && bpf_map_update_elem(xsk_map_fd, &key, &fd, BPF_ANY) != 0)
    return errno_error("cannot register the socket of queue " + std::to_string(config.queue));

  xdp_options opts{};
  socklen_t len = sizeof opts;
  if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0)
    s->zero_copy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  if (!s->zero_copy) {
    // Copy mode transmits at most 32 descriptors per kick by default; let one kick take the
    // whole ring. Older kernels lack the option and keep 32: flush_tx() kicks again.
    const unsigned budget = config.ring_size;
    setsockopt(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget);
  }
  if (config.busy_poll) {
    const int one = 1, usecs = 20, budget = static_cast<int>(config.batch);
    if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof usecs) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) != 0)
      return errno_error("cannot enable busy polling on queue " + std::to_string(config.queue));
  }

  s->pool.reserve(config.frames);
  for (std::uint32_t i = config.frames; i-- > 0;) s->pool.push_back(std::uint64_t{i} * config.frame_size);
  XskSocket sock(std::move(s));
  sock.refill();
  return sock;
}

int XskSocket::fd() const noexcept { return xsk_socket__fd(s_->xsk); }
bool XskSocket::zero_copy() const noexcept { return s_->zero_copy; }
std::uint32_t XskSocket::queue() const noexcept { return s_->config.queue; }
std::uint32_t XskSocket::frame_size() const noexcept { return s_->config.frame_size; }
xsk_ring_cons& XskSocket::rx() noexcept { return s_->rx; }
xsk_ring_prod& XskSocket::tx() noexcept { return s_->tx; }
std::uint8_t* XskSocket::data(std::uint64_t addr) noexcept {
  return static_cast<std::uint8_t*>(xsk_umem__get_data(s_->area, addr));
}
std::uint64_t XskSocket::chunk_of(std::uint64_t addr) const noexcept {
  return addr - addr % s_->config.frame_size;
}

std::uint64_t XskSocket::completed() const noexcept { return s_->completed; }

bool XskSocket::alloc(std::uint64_t& addr) noexcept {
  if (s_->pool.empty()) return false;
  addr = s_->pool.back();
  s_->pool.pop_back();
  return true;
}

void XskSocket::release(std::uint64_t addr) noexcept { s_->pool.push_back(chunk_of(addr)); }

std::uint32_t XskSocket::reap_completions() noexcept {
  std::uint32_t idx = 0;
  const std::uint32_t n = xsk_ring_cons__peek(&s_->comp, s_->config.ring_size, &idx);
  for (std::uint32_t i = 0; i < n; ++i) release(*xsk_ring_cons__comp_addr(&s_->comp, idx + i));
  if (n > 0) xsk_ring_cons__release(&s_->comp, n);
  s_->completed += n;
  return n;
}

void XskSocket::refill() noexcept {
  if (s_->config.transmit_only) return;
  // A quarter of the UMEM stays in the pool for frames we build ourselves (flood copies,
  // replies); the rest feeds the kernel.
  const std::size_t reserve = s_->config.frames / 4;
  if (s_->pool.size() <= reserve) return;
  std::uint32_t want = static_cast<std::uint32_t>(s_->pool.size() - reserve);
  // nb_free() answers "at least `want`" with the ring's whole free count: clamp it.
  want = std::min(want, xsk_prod_nb_free(&s_->fill, want));
  if (want == 0) return;
  std::uint32_t idx = 0;
  const std::uint32_t n = xsk_ring_prod__reserve(&s_->fill, want, &idx);
  for (std::uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&s_->fill, idx + i) = s_->pool.back();
    s_->pool.pop_back();
  }
  xsk_ring_prod__submit(&s_->fill, n);
}

void XskSocket::kick_tx() noexcept {
  if (!xsk_ring_prod__needs_wakeup(&s_->tx)) return;
  // ENOBUFS, EAGAIN, EBUSY and ENETDOWN mean "try again later", not failure.
  sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
}

std::uint32_t XskSocket::tx_pending() noexcept {
  return s_->config.ring_size - xsk_prod_nb_free(&s_->tx, s_->config.ring_size);
}

void XskSocket::flush_tx() noexcept {
  if (s_->zero_copy) {  // the driver drains the ring on its own once woken
    kick_tx();
    return;
  }
  // Each round frees completion slots too: a full completion ring also stops the kernel.
  for (int round = 0; round < 64 && tx_pending() > 0; ++round) {
    if (sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN && errno != EBUSY &&
        errno != ENOBUFS)
      return;  // ENETDOWN and the like: the next batch tries again
    reap_completions();
  }
}

XskSocket::KernelStats XskSocket::kernel_stats() const noexcept {
  xdp_statistics st{};
  socklen_t len = sizeof st;
  KernelStats k;
  if (getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len) != 0) return k;
  k.rx_dropped = st.rx_dropped;
  k.rx_invalid_descs = st.rx_invalid_descs;
  k.tx_invalid_descs = st.tx_invalid_descs;
  if (len >= sizeof st) {  // fields added in 5.9
    k.rx_ring_full = st.rx_ring_full;
    k.rx_fill_ring_empty = st.rx_fill_ring_empty_descs;
  }
  return k;
}

}  // namespace vswitch
