// Base64 (RFC 4648, with padding), for embedding images in a page as data URIs.
#pragma once

#include <string>
#include <string_view>

namespace gridfold {

std::string base64_encode(std::string_view bytes);

}  // namespace gridfold
