#pragma once
// Facts about a process from /proc.
#include <sys/types.h>

#include <cstdint>

namespace husk {

// /proc/PID/stat field 22 (the start time, in clock ticks since boot), 0 when the process is
// gone or a zombie. A recorded pid is trusted only while pid and start time both match.
uint64_t process_start_time(pid_t pid);

}  // namespace husk
