#include "evpn_sync.hpp"

#include <linux/neighbour.h>
#include <net/if.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

#include "vswitch/log.hpp"
#include "vswitch/vxlan.hpp"

namespace vswitch {
namespace {

constexpr const char* kBridgePrefix = "vsbr";
constexpr const char* kVxlanPrefix = "vsvx";
constexpr const char* kTapPrefix = "vstp";
// Our entries leave when we delete them, never by the bridge's own aging (the maximum: 497 days).
constexpr std::uint32_t kBridgeAgeing = 0xfffffffe;
constexpr std::size_t kBatch = 4096;  // changes copied or routes applied per hold of the switch lock
constexpr int kPollMs = 50;

bool ours(const char* name, const char* prefix) {
  const std::size_t n = std::strlen(prefix);
  if (std::strncmp(name, prefix, n) != 0 || name[n] == 0) return false;
  for (const char* c = name + n; *c != 0; ++c)
    if (*c < '0' || *c > '9') return false;
  return true;
}

}  // namespace

std::uint32_t evpn_vni_of(const EvpnOptions& options, std::uint64_t network) noexcept {
  const auto it = options.vnis.find(network);
  return it != options.vnis.end() ? it->second : static_cast<std::uint32_t>(network & vxlan::kMaxVni);
}

Result<std::unique_ptr<EvpnSync>> EvpnSync::open(const EvpnOptions& options, SharedSwitch& sw) {
  auto requests = netlink::Socket::open();
  if (!requests) return Error{"--evpn-vtep: " + requests.error().message};
  auto events = netlink::Socket::open(RTMGRP_NEIGH);
  if (!events) return Error{"--evpn-vtep: " + events.error().message};
  // A crashed run left its bridges and VXLAN devices (its TAPs went with it): they still
  // advertise its flood lists, so they go first.
  if (struct if_nameindex* names = ::if_nameindex()) {
    std::vector<int> stale;
    for (struct if_nameindex* i = names; i->if_index != 0; ++i)
      if (ours(i->if_name, kVxlanPrefix) || ours(i->if_name, kBridgePrefix)) stale.push_back(static_cast<int>(i->if_index));
    ::if_freenameindex(names);
    for (const int index : stale)
      if (auto s = netlink::delete_link(*requests, index); s) VS_INFO("EVPN: removed a stale shadow link (index %d)", index);
  }
  std::unique_ptr<EvpnSync> sync(new EvpnSync(options, sw, std::move(requests).value(), std::move(events).value()));
  {
    std::lock_guard lock(sw.mutex);
    sw.state.core.set_change_log(&sync->changes_);
  }
  return sync;
}

EvpnSync::EvpnSync(const EvpnOptions& options, SharedSwitch& sw, netlink::Socket requests, netlink::Socket events)
    : options_(options), sw_(sw), requests_(std::move(requests)), events_(std::move(events)), changes_(kChangeLogSize) {}

EvpnSync::~EvpnSync() {
  stop();
  {
    std::lock_guard lock(sw_.mutex);
    sw_.state.core.set_change_log(nullptr);
  }
  for (auto& [network, shadow] : shadows_) remove_shadow(shadow);
}

Status EvpnSync::start(const std::vector<std::uint64_t>& networks) {
  for (const std::uint64_t n : networks) ensure_shadow(n);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return Error{std::string("cannot start the EVPN thread: ") + e.what()};
  }
  return Ok{};
}

void EvpnSync::stop() noexcept {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void EvpnSync::run() noexcept {
  while (!stop_.load()) {
    pollfd p{events_.fd(), POLLIN, 0};
    ::poll(&p, 1, kPollMs);
    try {
      cycle();
    } catch (const std::exception& e) {  // out of memory and the like: say so, carry on
      VS_ERROR("EVPN: %s", e.what());
    }
  }
}

EvpnSync::Shadow* EvpnSync::ensure_shadow(std::uint64_t network) {
  if (const auto it = shadows_.find(network); it != shadows_.end()) return &it->second;
  if (refused_networks_.count(network) != 0) return nullptr;
  const std::uint32_t vni = evpn_vni_of(options_, network);
  if (const auto taken = vni_taken_.find(vni); taken != vni_taken_.end()) {
    VS_ERROR("EVPN: network %llu would run on VNI %u, which network %llu has: map one with --evpn-vni",
             static_cast<unsigned long long>(network), vni, static_cast<unsigned long long>(taken->second));
    refused_networks_.insert(network);
    return nullptr;
  }
  const std::string id = std::to_string(vni);
  Shadow s;
  s.network = network;
  s.vni = vni;
  auto fail = [&](const Status& status) -> Shadow* {
    VS_ERROR("EVPN: network %llu: %s", static_cast<unsigned long long>(network), status.error().message.c_str());
    bump(netlink_errors_);
    remove_shadow(s);
    refused_networks_.insert(network);
    return nullptr;
  };
  if (auto st = netlink::add_bridge(requests_, kBridgePrefix + id, kBridgeAgeing); !st) return fail(st);
  s.bridge = netlink::ifindex(kBridgePrefix + id);
  if (auto st = netlink::add_vxlan(requests_, kVxlanPrefix + id, vni, options_.vtep, options_.shadow_port, s.bridge); !st)
    return fail(st);
  s.vxlan = netlink::ifindex(kVxlanPrefix + id);
  auto tap = TapDevice::create(kTapPrefix + id);
  if (!tap) return fail(tap.error());
  s.tap = std::move(tap).value();
  s.tap_index = netlink::ifindex(kTapPrefix + id);
  for (const auto& [index, master] : {std::pair{s.tap_index, s.bridge}, {s.vxlan, s.bridge}, {s.bridge, 0}})
    if (auto st = netlink::set_master_up(requests_, index, master); !st) return fail(st);
  // Only our entries on the shadow port: nothing it might receive teaches the bridge anything.
  if (auto st = netlink::set_port_learning(requests_, s.tap_index, false); !st) return fail(st);
  {
    std::lock_guard lock(sw_.mutex);
    sw_.state.evpn_network(network, vni);
  }
  VS_INFO("EVPN: network %llu on VNI %u (bridge %s, VXLAN device %s, shadow port %s)",
          static_cast<unsigned long long>(network), vni, (kBridgePrefix + id).c_str(), (kVxlanPrefix + id).c_str(),
          (kTapPrefix + id).c_str());
  vni_taken_[vni] = network;
  by_vxlan_[s.vxlan] = network;
  bump(networks_);
  auto [it, added] = shadows_.emplace(network, std::move(s));
  // What zebra already installed for this VNI (other servers' MACs and flood lists).
  std::vector<std::pair<Remote, bool>> updates;
  resync_remote(updates);
  apply_remote(updates);
  return &it->second;
}

void EvpnSync::remove_shadow(Shadow& s) noexcept {
  s.tap = TapDevice{};  // the port and its entries go: zebra withdraws their routes
  if (s.vxlan != 0) (void)netlink::delete_link(requests_, s.vxlan);
  if (s.bridge != 0) (void)netlink::delete_link(requests_, s.bridge);
  s.vxlan = s.bridge = 0;
}

void EvpnSync::on_kernel_fdb(const netlink::FdbEntry& e, std::vector<std::pair<Remote, bool>>& updates) {
  const auto net = by_vxlan_.find(e.ifindex);
  if (net == by_vxlan_.end() || !e.dst || (e.flags & NTF_SELF) == 0) return;
  // The zero MAC lists a VTEP for floods; any other MAC with a destination is behind it. Entries
  // we did not get from zebra (no NTF_EXT_LEARNED) except the flood list are not routes.
  const std::uint64_t mac = e.mac.to_u64();
  if (mac != 0 && (e.flags & NTF_EXT_LEARNED) == 0) return;
  updates.push_back({Remote{net->second, mac, *e.dst}, !e.deleted});
}

void EvpnSync::resync_remote(std::vector<std::pair<Remote, bool>>& updates) {
  std::set<Remote> now;
  netlink::Message dump = netlink::fdb_dump();
  std::vector<std::pair<Remote, bool>> seen;
  if (auto st = requests_.dump(dump, [&](const nlmsghdr* h) {
        if (auto e = netlink::parse_fdb(h)) on_kernel_fdb(*e, seen);
      });
      !st) {
    VS_ERROR("EVPN: %s", st.error().message.c_str());
    bump(netlink_errors_);
    return;
  }
  for (const auto& [r, present] : seen) now.insert(r);
  for (const Remote& r : remote_)
    if (now.count(r) == 0) updates.push_back({r, false});
  for (const Remote& r : now)
    if (remote_.count(r) == 0) updates.push_back({r, true});
  bump(resyncs_);
}

void EvpnSync::apply_remote(const std::vector<std::pair<Remote, bool>>& updates) {
  const std::uint64_t frozen_before = read(sw_.state.core.stats().evpn_duplicates);
  for (std::size_t at = 0; at < updates.size();) {
    const std::size_t end = std::min(updates.size(), at + kBatch);
    const TimePoint now = Clock::now();
    std::lock_guard lock(sw_.mutex);
    for (; at < end; ++at) {
      const auto& [r, present] = updates[at];
      if (r.mac == 0) sw_.state.evpn_flood(r.network, r.vtep, present, now);
      else sw_.state.evpn_mac(r.network, MacAddr::from_u64(r.mac), r.vtep, present, now);
    }
  }
  for (const auto& [r, present] : updates) {
    if (present) remote_.insert(r);
    else remote_.erase(r);
  }
  bump(remote_updates_, updates.size());
  if (const std::uint64_t frozen = read(sw_.state.core.stats().evpn_duplicates) - frozen_before; frozen != 0)
    VS_WARN("EVPN: %llu route(s) would move a MAC that flaps between servers: frozen where it is (duplicate MAC, "
            "as FRR's duplicate detection freezes it)",
            static_cast<unsigned long long>(frozen));
}

void EvpnSync::write_local(const std::vector<FdbChange>& changes) {
  for (const FdbChange& c : changes) {
    Shadow* s = ensure_shadow(c.network);
    if (s == nullptr) continue;
    netlink::Message m = netlink::fdb_entry(c.added, s->tap_index, MacAddr::from_u64(c.mac));
    if (auto st = requests_.post(m); !st) {
      bump(netlink_errors_);
      continue;
    }
    if (c.added) local_.insert({c.network, c.mac});
    else local_.erase({c.network, c.mac});
    bump(local_writes_);
  }
}

// The change log lost changes: compare what the table holds locally with what we wrote.
void EvpnSync::resync_local() {
  std::set<std::pair<std::uint64_t, std::uint64_t>> table;
  for (std::size_t at = 0, end = 1; at < end;) {
    std::lock_guard lock(sw_.mutex);
    const Fdb& fdb = sw_.state.core.fdb();
    end = fdb.max_entries();
    const TimePoint now = Clock::now();
    at = fdb.for_each_from(at, kBatch, [&](const Fdb::Entry& e) {
      if (!e.remote && now - e.last_seen <= fdb.aging()) table.insert({e.network, e.mac});
    });
  }
  std::vector<FdbChange> changes;
  for (const auto& [network, mac] : local_)
    if (table.count({network, mac}) == 0) changes.push_back({network, mac, false});
  for (const auto& [network, mac] : table)
    if (local_.count({network, mac}) == 0) changes.push_back({network, mac, true});
  write_local(changes);
  bump(resyncs_);
}

void EvpnSync::cycle() {
  // Routes first: the kernel's notifications (or a dump, when it dropped some).
  std::vector<std::pair<Remote, bool>> updates;
  const bool complete = events_.drain([&](const nlmsghdr* h) {
    if (auto e = netlink::parse_fdb(h)) on_kernel_fdb(*e, updates);
  });
  if (!complete) {
    updates.clear();
    resync_remote(updates);
  }
  if (!updates.empty()) apply_remote(updates);
  // Errors of posted entries come back on the request socket.
  requests_.drain([&](const nlmsghdr* h) {
    if (h->nlmsg_type == NLMSG_ERROR && static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error != 0) bump(netlink_errors_);
  });
  // Then what the switch did: new networks, local MACs that came or went.
  std::vector<std::uint64_t> networks;
  std::vector<FdbChange> changes;
  changes.reserve(kBatch);
  bool lost = false;
  {
    std::lock_guard lock(sw_.mutex);
    sw_.state.core.fdb().for_each_network([&](std::uint64_t n) {
      if (shadows_.count(n) == 0 && refused_networks_.count(n) == 0) networks.push_back(n);
    });
    changes_.drain(changes, kBatch);
    lost = changes_.take_overflow();
  }
  for (const std::uint64_t n : networks) ensure_shadow(n);
  write_local(changes);
  if (lost) resync_local();
}

void EvpnSync::describe(metrics::Samples& out) const {
  metrics::Collector(out)
      .gauge("evpn_networks", "Networks that take part in EVPN (their shadow objects exist).", "evpn_networks",
             read(networks_))
      .counter("evpn_local_writes_total", "Local MACs written to (or removed from) the kernel for zebra.",
               "evpn_local_writes", read(local_writes_))
      .counter("evpn_route_updates_total", "Routes (remote MACs, flood lists) read from the kernel and applied.",
               "evpn_route_updates", read(remote_updates_))
      .counter("evpn_resyncs_total", "Whole comparisons with the kernel (a start, lost notifications or changes).",
               "evpn_resyncs", read(resyncs_))
      .counter("evpn_netlink_errors_total", "Netlink requests the kernel refused.", "evpn_netlink_errors",
               read(netlink_errors_));
}

report::Facts EvpnSync::facts() const {
  return {{"evpn_vtep", options_.vtep.to_string()}};
}

}  // namespace vswitch
