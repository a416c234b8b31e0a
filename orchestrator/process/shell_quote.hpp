// Making arbitrary text safe to paste into a POSIX shell script.
#pragma once

#include <string>
#include <string_view>

namespace gridfold {

// True when `text` consists only of characters no shell treats specially.
bool is_shell_safe(std::string_view text);

// `text` unchanged when shell-safe, else single-quoted with embedded quotes escaped; the
// shell reads the result back as exactly `text`, never as a command.
std::string shell_quote(std::string_view text);

}  // namespace gridfold
