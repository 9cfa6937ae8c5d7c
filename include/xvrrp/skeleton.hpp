// One owner for every libbpf skeleton: destroys it (programs, maps, links) once.
#pragma once

#include <memory>

namespace xvrrp {

template <class Skel, void (*Destroy)(Skel*)>
struct SkeletonDeleter {
    void operator()(Skel* s) const noexcept {
        if (s) Destroy(s);
    }
};

template <class Skel, void (*Destroy)(Skel*)>
using SkeletonPtr = std::unique_ptr<Skel, SkeletonDeleter<Skel, Destroy>>;

}  // namespace xvrrp
