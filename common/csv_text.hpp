// Writing CSV fields that pandas and gridfold's own table reader read back unchanged.
#pragma once

#include <string>
#include <string_view>

namespace gridfold {

// The text as one CSV field: as is, or quoted per RFC 4180 when it holds a comma, a quote or a
// line break.
std::string csv_field(std::string_view text);

}  // namespace gridfold
