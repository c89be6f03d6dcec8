#include "runtime/systemd_bus.hpp"

#include <dlfcn.h>
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdlib>
#include <map>

#include "common/log.hpp"

namespace husk::runtime {
namespace {

constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kPrivateSocket = "/run/systemd/private";
constexpr uint64_t kCallTimeoutUs = 60ull * 1000 * 1000;

// The sd-bus entry points husk uses, resolved from libsystemd.so.0 once.
struct SdBus {
#define HUSK_SD_FN(name) decltype(&::name) name = nullptr
    HUSK_SD_FN(sd_bus_open_system);
    HUSK_SD_FN(sd_bus_new);
    HUSK_SD_FN(sd_bus_set_address);
    HUSK_SD_FN(sd_bus_start);
    HUSK_SD_FN(sd_bus_flush_close_unref);
    HUSK_SD_FN(sd_bus_message_new_method_call);
    HUSK_SD_FN(sd_bus_message_append);
    HUSK_SD_FN(sd_bus_message_append_array);
    HUSK_SD_FN(sd_bus_message_open_container);
    HUSK_SD_FN(sd_bus_message_close_container);
    HUSK_SD_FN(sd_bus_message_read);
    HUSK_SD_FN(sd_bus_message_unref);
    HUSK_SD_FN(sd_bus_call);
    HUSK_SD_FN(sd_bus_call_method);
    HUSK_SD_FN(sd_bus_error_free);
    HUSK_SD_FN(sd_bus_error_has_name);
    HUSK_SD_FN(sd_bus_match_signal);
    HUSK_SD_FN(sd_bus_slot_unref);
    HUSK_SD_FN(sd_bus_process);
    HUSK_SD_FN(sd_bus_wait);
#undef HUSK_SD_FN
};

Result<const SdBus*> load_sd_bus() {
    static SdBus api;
    static std::string load_error;
    static bool loaded = false;
    if (loaded) return &api;
    if (!load_error.empty()) return fail_invalid("{}", load_error);
    void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        load_error = fmt::format(
            "--systemd-cgroup: cannot load libsystemd.so.0 ({}): install libsystemd0", ::dlerror());
        return fail_invalid("{}", load_error);
    }
    bool ok = true;
    auto resolve = [&](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
        if (fn == nullptr && ok) {
            ok = false;
            load_error = fmt::format("--systemd-cgroup: libsystemd.so.0 has no {}", name);
        }
    };
#define HUSK_SD_RESOLVE(name) resolve(api.name, #name)
    HUSK_SD_RESOLVE(sd_bus_open_system);
    HUSK_SD_RESOLVE(sd_bus_new);
    HUSK_SD_RESOLVE(sd_bus_set_address);
    HUSK_SD_RESOLVE(sd_bus_start);
    HUSK_SD_RESOLVE(sd_bus_flush_close_unref);
    HUSK_SD_RESOLVE(sd_bus_message_new_method_call);
    HUSK_SD_RESOLVE(sd_bus_message_append);
    HUSK_SD_RESOLVE(sd_bus_message_append_array);
    HUSK_SD_RESOLVE(sd_bus_message_open_container);
    HUSK_SD_RESOLVE(sd_bus_message_close_container);
    HUSK_SD_RESOLVE(sd_bus_message_read);
    HUSK_SD_RESOLVE(sd_bus_message_unref);
    HUSK_SD_RESOLVE(sd_bus_call);
    HUSK_SD_RESOLVE(sd_bus_call_method);
    HUSK_SD_RESOLVE(sd_bus_error_free);
    HUSK_SD_RESOLVE(sd_bus_error_has_name);
    HUSK_SD_RESOLVE(sd_bus_match_signal);
    HUSK_SD_RESOLVE(sd_bus_slot_unref);
    HUSK_SD_RESOLVE(sd_bus_process);
    HUSK_SD_RESOLVE(sd_bus_wait);
#undef HUSK_SD_RESOLVE
    if (!ok) return fail_invalid("{}", load_error);
    loaded = true;
    return &api;
}

// "org.freedesktop.systemd1.NoSuchUnit: Unit x.scope not loaded." or the errno's text.
std::string bus_error_text(const sd_bus_error& error, int r) {
    if (error.message != nullptr)
        return fmt::format("{}: {}", error.name ? error.name : "error", error.message);
    return std::strerror(-r);
}

}  // namespace

struct SystemdBus::Impl {
    const SdBus* api = nullptr;
    sd_bus* bus = nullptr;
    sd_bus_slot* job_slot = nullptr;
    std::map<std::string, std::string> finished_jobs;  // job path -> result

    ~Impl() {
        if (job_slot != nullptr) api->sd_bus_slot_unref(job_slot);
        if (bus != nullptr) api->sd_bus_flush_close_unref(bus);
    }

    static int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
        auto* self = static_cast<Impl*>(userdata);
        uint32_t id = 0;
        const char *job = nullptr, *unit = nullptr, *result = nullptr;
        if (self->api->sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0)
            self->finished_jobs[job] = result;
        return 0;
    }

    Status append_property(sd_bus_message* m, const UnitProperty& p) {
        const SdBus& a = *api;
        int r = a.sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0) r = a.sd_bus_message_append(m, "s", p.name.c_str());
        if (r >= 0) r = a.sd_bus_message_open_container(m, 'v', property_signature(p.value));
        if (r < 0) return fail(Error(-r, "build property " + p.name));
        if (auto* n = std::get_if<uint64_t>(&p.value)) {
            r = a.sd_bus_message_append(m, "t", *n);
        } else if (auto* s = std::get_if<std::string>(&p.value)) {
            r = a.sd_bus_message_append(m, "s", s->c_str());
        } else if (auto* b = std::get_if<bool>(&p.value)) {
            r = a.sd_bus_message_append(m, "b", static_cast<int>(*b));
        } else if (auto* pids = std::get_if<std::vector<uint32_t>>(&p.value)) {
            r = a.sd_bus_message_append_array(m, 'u', pids->data(),
                                              pids->size() * sizeof(uint32_t));
        } else if (auto* bytes = std::get_if<std::vector<uint8_t>>(&p.value)) {
            r = a.sd_bus_message_append_array(m, 'y', bytes->data(), bytes->size());
        } else {
            r = a.sd_bus_message_open_container(m, 'a', "(ss)");
            for (auto& [path, access] :
                 std::get<std::vector<std::pair<std::string, std::string>>>(p.value))
                if (r >= 0) r = a.sd_bus_message_append(m, "(ss)", path.c_str(), access.c_str());
            if (r >= 0) r = a.sd_bus_message_close_container(m);
        }
        if (r >= 0) r = a.sd_bus_message_close_container(m);
        if (r >= 0) r = a.sd_bus_message_close_container(m);
        if (r < 0) return fail(Error(-r, "build property " + p.name));
        return {};
    }

    Status append_properties(sd_bus_message* m, const std::vector<UnitProperty>& props) {
        int r = api->sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0) return fail(Error(-r, "build the properties"));
        for (const auto& p : props) HUSK_TRY(append_property(m, p));
        r = api->sd_bus_message_close_container(m);
        if (r < 0) return fail(Error(-r, "build the properties"));
        return {};
    }

    // Calls the method; on success returns the reply (the caller unrefs it).
    Result<sd_bus_message*> call(sd_bus_message* m, const std::string& what) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        int r = api->sd_bus_call(bus, m, kCallTimeoutUs, &error, &reply);
        if (r < 0) {
            std::string text = bus_error_text(error, r);
            bool no_unit =
                api->sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit");
            api->sd_bus_error_free(&error);
            // The bus error's name and message say it all; its errno would only repeat it.
            return fail(Error(no_unit ? ENOENT : 0, fmt::format("{}: {}", what, text)));
        }
        return reply;
    }

    Result<sd_bus_message*> new_call(const char* member) {
        sd_bus_message* m = nullptr;
        int r = api->sd_bus_message_new_method_call(bus, &m, kDestination, kManagerPath, kManager,
                                                    member);
        if (r < 0) return fail(Error(-r, fmt::format("systemd: build a {} call", member)));
        return m;
    }

    // Reads the job object path from a StartUnit-style reply and waits for its JobRemoved.
    Status wait_job(sd_bus_message* reply, const std::string& what, int timeout_s) {
        const char* job = nullptr;
        int r = api->sd_bus_message_read(reply, "o", &job);
        if (r < 0) return fail(Error(-r, what + ": read the job path"));
        std::string job_path = job;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
        while (!finished_jobs.contains(job_path)) {
            r = api->sd_bus_process(bus, nullptr);
            if (r < 0) return fail(Error(-r, what + ": read from systemd"));
            if (r > 0) continue;
            auto left = std::chrono::duration_cast<std::chrono::microseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return fail(Error(ETIMEDOUT, fmt::format("{}: job {} did not finish in {} s", what,
                                                         job_path, timeout_s)));
            r = api->sd_bus_wait(bus, static_cast<uint64_t>(left.count()));
            if (r < 0) return fail(Error(-r, what + ": wait for systemd"));
        }
        std::string result = finished_jobs[job_path];
        finished_jobs.erase(job_path);
        if (result != "done")
            return fail_invalid("{}: the job finished with result {:?}", what, result);
        return {};
    }
};

SystemdBus::SystemdBus(std::unique_ptr<Impl> impl, std::string address)
    : impl_(std::move(impl)), address_(std::move(address)) {}
SystemdBus::SystemdBus(SystemdBus&&) noexcept = default;
SystemdBus& SystemdBus::operator=(SystemdBus&&) noexcept = default;
SystemdBus::~SystemdBus() = default;

Result<SystemdBus> SystemdBus::connect() {
    auto api = load_sd_bus();
    if (!api) return fail(api.error());
    auto impl = std::make_unique<Impl>();
    impl->api = *api;
    std::string address = "the system bus";
    int r = (*api)->sd_bus_open_system(&impl->bus);
    if (r < 0) {
        // No dbus-daemon (or not reachable): systemd's own socket, a direct connection.
        int system_error = -r;
        impl->bus = nullptr;
        sd_bus* bus = nullptr;
        r = (*api)->sd_bus_new(&bus);
        if (r < 0) return fail(Error(-r, "systemd: create a bus connection"));
        impl->bus = bus;
        std::string unix_address = std::string("unix:path=") + kPrivateSocket;
        r = (*api)->sd_bus_set_address(bus, unix_address.c_str());
        if (r >= 0) r = (*api)->sd_bus_start(bus);
        if (r < 0)
            return fail(Error(
                -r, fmt::format("--systemd-cgroup: cannot reach systemd: the system bus failed "
                                "({}) and so did {}",
                                std::strerror(system_error), kPrivateSocket)));
        address = kPrivateSocket;
    } else {
        // On the bus, systemd sends job signals only to subscribed clients.
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        r = (*api)->sd_bus_call_method(impl->bus, kDestination, kManagerPath, kManager, "Subscribe",
                                       &error, &reply, "");
        if (r < 0) log::debug("systemd Subscribe: {}", bus_error_text(error, r));
        (*api)->sd_bus_error_free(&error);
        if (reply != nullptr) (*api)->sd_bus_message_unref(reply);
    }
    r = (*api)->sd_bus_match_signal(impl->bus, &impl->job_slot, nullptr, kManagerPath, kManager,
                                    "JobRemoved", &Impl::on_job_removed, impl.get());
    if (r < 0) return fail(Error(-r, "systemd: watch for JobRemoved"));
    log::debug("systemd: connected on {}", address);
    return SystemdBus(std::move(impl), address);
}

Status SystemdBus::start_transient_unit(const std::string& unit,
                                        const std::vector<UnitProperty>& properties,
                                        int timeout_s) {
    std::string what = fmt::format("systemd: start transient unit {}", unit);
    auto m = impl_->new_call("StartTransientUnit");
    if (!m) return fail(m.error());
    auto unref = [&](sd_bus_message* msg) { impl_->api->sd_bus_message_unref(msg); };
    std::unique_ptr<sd_bus_message, decltype(unref)> msg(*m, unref);
    // "fail": an existing unit of that name is an error, not something to replace.
    int r = impl_->api->sd_bus_message_append(*m, "ss", unit.c_str(), "fail");
    if (r < 0) return fail(Error(-r, what));
    HUSK_TRY_CTX(impl_->append_properties(*m, properties), "{}", what);
    r = impl_->api->sd_bus_message_append(*m, "a(sa(sv))", 0);
    if (r < 0) return fail(Error(-r, what));
    auto reply = impl_->call(*m, what);
    if (!reply) return fail(reply.error());
    std::unique_ptr<sd_bus_message, decltype(unref)> reply_guard(*reply, unref);
    return impl_->wait_job(*reply, what, timeout_s);
}

Status SystemdBus::set_unit_properties(const std::string& unit,
                                       const std::vector<UnitProperty>& properties) {
    if (properties.empty()) return {};
    std::string what = fmt::format("systemd: set the properties of {}", unit);
    auto m = impl_->new_call("SetUnitProperties");
    if (!m) return fail(m.error());
    auto unref = [&](sd_bus_message* msg) { impl_->api->sd_bus_message_unref(msg); };
    std::unique_ptr<sd_bus_message, decltype(unref)> msg(*m, unref);
    int r = impl_->api->sd_bus_message_append(*m, "sb", unit.c_str(), 1);
    if (r < 0) return fail(Error(-r, what));
    HUSK_TRY_CTX(impl_->append_properties(*m, properties), "{}", what);
    auto reply = impl_->call(*m, what);
    if (!reply) return fail(reply.error());
    impl_->api->sd_bus_message_unref(*reply);
    return {};
}

Status SystemdBus::stop_unit(const std::string& unit, int timeout_s) {
    std::string what = fmt::format("systemd: stop unit {}", unit);
    auto m = impl_->new_call("StopUnit");
    if (!m) return fail(m.error());
    auto unref = [&](sd_bus_message* msg) { impl_->api->sd_bus_message_unref(msg); };
    std::unique_ptr<sd_bus_message, decltype(unref)> msg(*m, unref);
    int r = impl_->api->sd_bus_message_append(*m, "ss", unit.c_str(), "replace");
    if (r < 0) return fail(Error(-r, what));
    auto reply = impl_->call(*m, what);
    if (!reply) {
        if (reply.error().errnum() == ENOENT) return {};  // collected already
        return fail(reply.error());
    }
    std::unique_ptr<sd_bus_message, decltype(unref)> reply_guard(*reply, unref);
    return impl_->wait_job(*reply, what, timeout_s);
}

Result<bool> SystemdBus::unit_exists(const std::string& unit) {
    auto m = impl_->new_call("GetUnit");
    if (!m) return fail(m.error());
    auto unref = [&](sd_bus_message* msg) { impl_->api->sd_bus_message_unref(msg); };
    std::unique_ptr<sd_bus_message, decltype(unref)> msg(*m, unref);
    int r = impl_->api->sd_bus_message_append(*m, "s", unit.c_str());
    if (r < 0) return fail(Error(-r, "systemd: GetUnit"));
    auto reply = impl_->call(*m, fmt::format("systemd: get unit {}", unit));
    if (!reply) {
        if (reply.error().errnum() == ENOENT) return false;
        return fail(reply.error());
    }
    impl_->api->sd_bus_message_unref(*reply);
    return true;
}

}  // namespace husk::runtime
