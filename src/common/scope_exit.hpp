#pragma once
// Runs an undo step when a scope is left, unless dismissed: how a failed operation takes
// back what it already did (a created directory, a mount, a cgroup).
#include <utility>

namespace husk {

template <typename F>
class [[nodiscard]] ScopeExit {
public:
    explicit ScopeExit(F fn) : fn_(std::move(fn)) {}
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;
    ~ScopeExit() {
        if (armed_) fn_();
    }
    void dismiss() { armed_ = false; }

private:
    F fn_;
    bool armed_ = true;
};

}  // namespace husk
