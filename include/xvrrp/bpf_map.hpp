// Typed views of BPF maps, keyed and valued by the shared ABI structs.
// Non-owning: the skeleton (or a pinned-map fd owner) keeps the map alive.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
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

// An array map made with BPF_F_MMAPABLE, mapped into the controller: reads and writes are
// memory accesses, no system call. Owns the mapping (the map belongs to the skeleton).
template <class Value>
class MappedArray {
    static_assert(std::is_trivially_copyable_v<Value> && sizeof(Value) % 8 == 0,
                  "the kernel lays out mmapable array values 8-byte aligned");

public:
    MappedArray() = default;
    MappedArray(int fd, std::size_t entries, const std::string& name) : entries_(entries) {
        void* p = ::mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) throw_errno(errno, "mmap " + name);
        values_ = static_cast<Value*>(p);
    }
    MappedArray(MappedArray&& other) noexcept
        : values_(std::exchange(other.values_, nullptr)), entries_(std::exchange(other.entries_, 0)) {}
    MappedArray& operator=(MappedArray&& other) noexcept {
        if (this != &other) {
            unmap();
            values_ = std::exchange(other.values_, nullptr);
            entries_ = std::exchange(other.entries_, 0);
        }
        return *this;
    }
    MappedArray(const MappedArray&) = delete;
    MappedArray& operator=(const MappedArray&) = delete;
    ~MappedArray() { unmap(); }

    [[nodiscard]] std::size_t size() const { return entries_; }
    [[nodiscard]] Value& operator[](std::size_t i) { return values_[i]; }
    [[nodiscard]] const Value& operator[](std::size_t i) const { return values_[i]; }
    [[nodiscard]] std::span<Value> all() { return {values_, entries_}; }
    [[nodiscard]] std::span<const Value> all() const { return {values_, entries_}; }

private:
    [[nodiscard]] std::size_t bytes() const {
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        return (entries_ * sizeof(Value) + page - 1) / page * page;
    }
    void unmap() noexcept {
        if (values_) ::munmap(values_, bytes());
        values_ = nullptr;
    }
    Value* values_ = nullptr;
    std::size_t entries_ = 0;
};

}  // namespace xvrrp
