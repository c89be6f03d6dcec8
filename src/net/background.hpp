#pragma once
// Kernel waits a short-lived caller need not sit through. husk-net runs on the start and
// exit path of every container; two of its steps block in the kernel well after their work
// is done (measured, docs/networking.md "Cost of attach and detach"):
//  - closing an nfnetlink socket flushes nf_tables' deferred frees of the last commit,
//    which wait for an RCU grace period (the close of the socket that committed took
//    3-19 ms here, and every process exit closes it);
//  - RTM_DELLINK of a veth runs under the rtnl lock with its own grace periods (~10 ms).
// With background cleanup on, src/net leaves its nfnetlink sockets open instead of closing
// them, and finish_in_background() hands them, and the veths to delete, to a detached
// child: the caller exits at once, the child sits through the waits. A child that deletes veths
// keeps the store lock (an inherited descriptor of it) until it is done, so no later attach or
// prune sees the store and the links disagree.
#include <string>
#include <vector>

namespace husk::net {

// For a process about to exit (husk-net); off by default (the `husk` CLI calls src/net
// in-process and waits for everything).
void set_background_cleanup(bool on);
bool background_cleanup();
// Records that a socket was left open (it is released when the worker child exits).
void left_open();
// Forks the worker if anything was left open or `links` is not empty; it deletes the links
// and exits. It keeps `lock_fd` only when there are links to delete. The worker is not
// waited for: the caller must exit soon (it then goes to init or the caller's subreaper).
// Without background cleanup, deletes the links here and now.
void finish_in_background(const std::vector<std::string>& links, int lock_fd);

}  // namespace husk::net
