#include "orchestrator/prepare/genome_windows.hpp"

#include <stdexcept>

namespace gridfold {

std::vector<GenomeWindow> tile_windows(std::uint64_t length, std::uint64_t window, std::uint64_t stride) {
  if (window == 0 || stride == 0) throw std::invalid_argument("window and stride must be at least 1");
  if (length == 0) return {};
  if (length <= window) return {GenomeWindow{0, length}};
  std::vector<GenomeWindow> windows;
  std::uint64_t start = 0;
  for (; start + window <= length; start += stride) windows.push_back(GenomeWindow{start, start + window});
  if (windows.back().end < length) windows.push_back(GenomeWindow{length - window, length});
  return windows;
}

}  // namespace gridfold
