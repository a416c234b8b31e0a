// `gridfold pack`: consolidates the finished results and logs of an experiment into verified
// tar archives (common/archive.hpp) and removes the originals once their archive is safe.
//
// Order of operations, so that kill -9 or a full disk at any moment loses nothing: write
// archive and index under temporary names and fsync them; read the archive back and check
// every member against the checksum of the bytes read from its original; rename the archive,
// then the index (the commit record) into place under the first free archive number, never
// replacing a file (common/archive_catalog.hpp), and fsync the directory; only then remove the
// originals, each moved aside first and unlinked only if it is still the file that was read.
// A rerun removes what an interrupted run left and packs whatever is still loose. Packs of one
// archive directory are serialised by a lock file beside the archives
// (orchestrator/pack/pack_lock.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/spec.hpp"

namespace gridfold {

struct PackOptions {
  std::filesystem::path experiment;
  bool keep_originals = false;       // archive only; a later pack removes the archived copies
  bool break_lock = false;           // take over the archive directory's lock even when not stale
  double log_min_age_seconds = 600;  // younger logs may still be written to by a running job
  // Overrides of the spec's output settings (tests, benchmarks).
  std::optional<std::uint64_t> archive_size_bytes;
  std::size_t frame_size = 32 << 20;  // uncompressed bytes per independently compressed frame
  unsigned threads = 0;               // compression threads; 0 = one per core
  // Fault injection for tests: called with each temporary archive before it is verified.
  std::function<void(const std::filesystem::path& archive)> before_verification;
  // Fault injection for tests: called, from removal threads, with each archived original in
  // the moment between pack taking it from its place and checking it is the file archived.
  std::function<void(const std::filesystem::path& original)> before_removal;
};

struct PackedArchive {
  std::filesystem::path file;
  std::size_t members = 0;
  std::uint64_t original_bytes = 0, stored_bytes = 0;
};

struct PackSummary {
  std::filesystem::path experiment_dir, archive_dir;
  Compression compression = Compression::zstd;
  std::vector<PackedArchive> archives;  // written by this run
  std::size_t results = 0, logs = 0;    // packed by this run
  std::size_t already_archived = 0;     // loose files whose identical copy an archive holds
  std::size_t originals_removed = 0;
  std::size_t changed_while_packing = 0;  // replaced after being read: kept for the next pack
  std::size_t incomplete_results = 0, recent_logs = 0, unsafe_names = 0;  // left in place
  std::size_t debris_removed = 0;       // temporary files and uncommitted archives of interrupted packs
  std::size_t restored_from_trash = 0;  // originals an interrupted removal had moved aside, put back
  // Files in <experiment>/.pack-trash whose place a newer file took while they were aside: kept
  // there for the user to look at, never removed.
  std::size_t set_aside = 0;
  double seconds = 0;
};

// Throws PackBusy (orchestrator/pack/pack_lock.hpp) when another pack holds the archive
// directory's lock.
PackSummary pack_experiment(const PackOptions& options);

std::string render_text(const PackSummary& summary);
std::string render_json(const PackSummary& summary);

}  // namespace gridfold
