// Tiling a chromosome into windows for `gridfold prepare gtf-windows`: windows of `window`
// bases starting every `stride` bases from position 0. A window that would run past the
// chromosome's end is moved back to end at the end, so that every window has full length and
// the tail is still covered (it overlaps its neighbour); a chromosome shorter than the window
// is one window of the whole chromosome. Coordinates are 0-based and half-open.
#pragma once

#include <cstdint>
#include <vector>

namespace gridfold {

struct GenomeWindow {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  bool operator==(const GenomeWindow&) const = default;
};

// window and stride must be > 0.
std::vector<GenomeWindow> tile_windows(std::uint64_t length, std::uint64_t window, std::uint64_t stride);

}  // namespace gridfold
