// Typed views of BPF maps, keyed and valued by the shared ABI structs.
// Non-owning: the skeleton (or a pinned-map fd owner) keeps the map alive.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "xvrrp/error.hpp"

namespace xvrrp {

template <class Key, class Value>
class BpfMap {
    static_assert(std::is_trivially_copyable_v<Key> && std::is_trivially_copyable_v<Value>);

public:
    BpfMap(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

    [[nodiscard]] std::optional<Value> get(const Key& key) const {
        Value v{};
        if (bpf_map_lookup_elem(fd_, &key, &v) != 0) return std::nullopt;
        return v;
    }

    void put(const Key& key, const Value& value, std::uint64_t flags = BPF_ANY) {
        check_libbpf(bpf_map_update_elem(fd_, &key, &value, flags), "update " + name_);
    }

    // True when the key was there.
    bool erase(const Key& key) { return bpf_map_delete_elem(fd_, &key) == 0; }

    [[nodiscard]] std::vector<Key> keys() const {
        std::vector<Key> out;
        Key k{}, next{};
        const Key* prev = nullptr;
        while (bpf_map_get_next_key(fd_, prev, &next) == 0) {
            out.push_back(next);
            k = next;
            prev = &k;
        }
        return out;
    }

    [[nodiscard]] int fd() const { return fd_; }

private:
    int fd_;
    std::string name_;
};

// Sum of per-CPU copies of a struct made only of 64-bit counters.
template <class Value>
Value sum_u64_fields(std::span<const Value> per_cpu) {
    static_assert(sizeof(Value) % sizeof(std::uint64_t) == 0);
    constexpr std::size_t n = sizeof(Value) / sizeof(std::uint64_t);
    std::uint64_t acc[n] = {};
    for (const Value& v : per_cpu) {
        std::uint64_t words[n];
        std::memcpy(words, &v, sizeof(Value));
        for (std::size_t i = 0; i < n; ++i) acc[i] += words[i];
    }
    Value out;
    std::memcpy(&out, acc, sizeof(Value));
    return out;
}

// Per-CPU array or hash: one value per possible CPU, each padded to 8 bytes.
template <class Key, class Value>
class PerCpuMap {
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values must be 8-byte multiples here");

public:
    PerCpuMap(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
        int n = libbpf_num_possible_cpus();
        if (n <= 0) throw_errno(n, "libbpf_num_possible_cpus");
        cpus_ = static_cast<std::size_t>(n);
    }

    [[nodiscard]] std::optional<std::vector<Value>> get_per_cpu(const Key& key) const {
        std::vector<Value> v(cpus_);
        if (bpf_map_lookup_elem(fd_, &key, v.data()) != 0) return std::nullopt;
        return v;
    }

    [[nodiscard]] std::optional<Value> sum(const Key& key) const {
        auto v = get_per_cpu(key);
        if (!v) return std::nullopt;
        return sum_u64_fields<Value>(*v);
    }

    // Sets every CPU's copy to value (normally zero).
    void put_all(const Key& key, const Value& value, std::uint64_t flags = BPF_ANY) {
        std::vector<Value> v(cpus_, value);
        check_libbpf(bpf_map_update_elem(fd_, &key, v.data(), flags), "update " + name_);
    }

    [[nodiscard]] int fd() const { return fd_; }

private:
    int fd_;
    std::string name_;
    std::size_t cpus_ = 1;
};

}  // namespace xvrrp
