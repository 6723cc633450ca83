#include "xdp_live_sender.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>

namespace vswitch::bench {

Result<XdpLiveSender> XdpLiveSender::open(const std::string& iface) {
  const auto ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
  if (ifindex == 0) return errno_error("no interface " + iface);
  // r0 = XDP_TX; exit
  const bpf_insn program[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = XDP_TX},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_XDP, "bench_xdp_tx", "GPL", program, 2, nullptr));
  if (!prog.valid()) return errno_error("cannot load the generator's XDP program");
  return XdpLiveSender(std::move(prog), ifindex);
}

Status XdpLiveSender::send(std::span<const std::uint8_t> frame, std::uint32_t count) noexcept {
  xdp_md ctx{};
  ctx.data_end = static_cast<std::uint32_t>(frame.size());
  ctx.ingress_ifindex = static_cast<std::uint32_t>(ifindex_);  // XDP_TX leaves by this device
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<std::uint32_t>(frame.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof ctx;
  opts.repeat = static_cast<int>(count);
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  if (bpf_prog_test_run_opts(prog_.get(), &opts) != 0) return errno_error("BPF_PROG_RUN (live frames)");
  return Ok{};
}

}  // namespace vswitch::bench
