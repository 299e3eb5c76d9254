// Crash injection for tests: TERN_AGENT_CRASH_AT=<step> makes the agent _exit(3) at that step,
// as a power cut or a kill would, without flushing or cleaning anything. The steps are listed in
// docs/agent.md; tests run every one and check the device is consistent on restart.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace tern::agent {

class CrashPoints {
 public:
  CrashPoints() = default;
  explicit CrashPoints(std::string at) : at_(std::move(at)) {}
  void Hit(std::string_view step) const {
    if (!at_.empty() && step == at_) {
      std::fprintf(stderr, "tern-agent: crash injected at %s\n", at_.c_str());
      _exit(3);
    }
  }

 private:
  std::string at_;
};

}  // namespace tern::agent
