#include "runtime/trace.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <vector>

#include "common/log.hpp"

namespace husk::runtime::trace {
namespace {

struct Record {
    uint64_t start, end;
    char who[8];
    char name[40];
    char detail[168];
};

constexpr size_t kRecords = 1024;

struct Buffer {
    std::atomic<uint32_t> count;
    uint64_t wall_start;
    Record records[kRecords];
};
static_assert(std::atomic<uint32_t>::is_always_lock_free, "shared between processes");

Buffer* g_buffer = nullptr;
const char* g_who = "runtime";

void copy(char* dst, size_t size, std::string_view src) {
    size_t n = std::min(size - 1, src.size());
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

}  // namespace

void enable(uint64_t wall_start_ns) {
    if (g_buffer != nullptr) return;
    void* p =
        ::mmap(nullptr, sizeof(Buffer), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        log::warn("--debug: no memory for the build trace: {}", std::strerror(errno));
        return;
    }
    g_buffer = new (p) Buffer{};
    g_buffer->wall_start = wall_start_ns;
}

void set_who(const char* who) {
    g_who = who;
}

bool enabled() {
    return g_buffer != nullptr;
}

uint64_t now_ns() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

void record(std::string_view name, std::string_view detail, uint64_t start_ns, uint64_t end_ns) {
    if (g_buffer == nullptr) return;
    uint32_t i = g_buffer->count.fetch_add(1);
    if (i >= kRecords) return;
    Record& r = g_buffer->records[i];
    r.start = start_ns;
    r.end = end_ns;
    copy(r.who, sizeof r.who, g_who);
    copy(r.name, sizeof r.name, name);
    copy(r.detail, sizeof r.detail, detail);
}

void report() {
    if (g_buffer == nullptr) return;
    uint64_t end = now_ns();
    uint64_t t0 = g_buffer->wall_start;
    size_t n = std::min<size_t>(g_buffer->count.load(), kRecords);
    std::vector<Record> records(g_buffer->records, g_buffer->records + n);
    std::sort(records.begin(), records.end(),
              [](const Record& a, const Record& b) { return a.start < b.start; });
    auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
    log::debug("trace: {:>9} {:>9}  {:<7} {:<28} {}", "start ms", "took ms", "who", "step",
               "detail");
    for (const auto& r : records)
        log::debug("trace: {:>9.3f} {:>9.3f}  {:<7} {:<28} {}", ms(r.start - t0),
                   ms(r.end - r.start), r.who, r.name, r.detail);
    // Coverage: the union of the steps' intervals (the init's steps run while the runtime
    // waits for it), so no time is counted twice.
    uint64_t covered = 0, reach = t0;
    for (const auto& r : records) {
        uint64_t s = std::max(r.start, reach), e = std::min(r.end, end);
        if (e > s) {
            covered += e - s;
            reach = e;
        }
    }
    uint64_t wall = end - t0;
    log::debug("trace: total {:.3f} ms wall (from main), steps cover {:.3f} ms ({:.1f}%), {} steps",
               ms(wall), ms(covered), wall ? 100.0 * static_cast<double>(covered) / wall : 0.0, n);
}

}  // namespace husk::runtime::trace
