// The switch state and the one lock that serialises it. Packet threads take the lock once per
// batch, and only to decide (docs/architecture.md, "What the switch lock protects").
#pragma once

#include "vswitch/hold_timed_mutex.hpp"
#include "vswitch/switch_state.hpp"
#include "vswitch/switch_stats.hpp"

namespace vswitch {

struct SharedSwitch {
  SharedSwitch(const SwitchConfig& switch_config, const SessionConfig& session_config)
      : state(switch_config, session_config) {}
  SwitchState state;
  HoldTimedMutex mutex;
  HandshakeStats handshakes;  // the control thread's counters (atomics: read without the lock)

  // Every switch-wide number, without the lock (metrics.hpp).
  void describe(metrics::Samples& out) const {
    state.describe(out);
    handshakes.describe(out);
    mutex.describe(out);
  }
};

}  // namespace vswitch
