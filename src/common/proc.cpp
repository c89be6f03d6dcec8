#include "common/proc.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "common/files.hpp"

namespace husk {

uint64_t process_start_time(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return 0;
    // The command name may hold spaces and parens: fields start after the last ')'.
    auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) return 0;
    const char* p = stat->c_str() + close + 2;
    if (*p == 'Z' || *p == 'X') return 0;
    // Field 3 is the state; the start time is field 22.
    for (int field = 3; field < 22; ++field) {
        p = std::strchr(p, ' ');
        if (p == nullptr) return 0;
        ++p;
    }
    return std::strtoull(p, nullptr, 10);
}

}  // namespace husk
