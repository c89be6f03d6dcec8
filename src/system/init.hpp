#pragma once
// `husk system init -- CMD...`: the smallest PID 1 a guest can boot into. It bootstraps the
// host, runs CMD as its child, forwards signals to it, reaps every orphan, and ends with
// CMD's status; as the real PID 1 of a VM it syncs and powers off instead, since the kernel
// panics when PID 1 exits.
#include <string>
#include <vector>

namespace husk::system {

struct InitOptions {
    bool bootstrap = true;
    bool network = false;  // bootstrap --network
    bool verbose = false;  // print every bootstrap step, not only the ones that failed
};

// Runs `argv`; returns its exit status (128 + signal when killed). Never returns when this
// process is PID 1 of the initial PID namespace: it powers the machine off.
int run_init(const std::vector<std::string>& argv, const InitOptions& options);

// PID 1 of the initial PID namespace (a VM's init), not of a container's.
bool is_machine_init();

}  // namespace husk::system
