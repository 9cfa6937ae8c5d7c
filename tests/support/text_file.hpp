// A whole file as text, for tests that read what a daemon or a script wrote ("" when missing).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace xvrrp::test {

inline std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

}  // namespace xvrrp::test
