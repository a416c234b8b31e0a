// The committed archives of an experiment. An archive counts only once its index is beside
// it under its final name: pack renames the archive first and the index last, so the index
// is the commit record, and an archive without one is debris of an interrupted pack.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/archive.hpp"
#include "common/experiment_layout.hpp"
#include "common/spec.hpp"

namespace gridfold {

struct CatalogedArchive {
  std::filesystem::path archive;
  std::uint64_t sequence = 0;  // pack-000042.tar.zst -> 42; later archives hold newer copies
  ArchiveIndex index;
};

// <output.archive>/<experiment name> when the spec sets output.archive (one archive root can
// serve many experiments without their archives colliding), else <experiment>/archives.
std::filesystem::path archive_directory(const ExperimentLayout& layout, const ExperimentSpec& spec);

// "pack-000042.tar.zst"
std::string archive_file_name(std::uint64_t sequence, Compression compression);

// Files an interrupted pack left in `dir`: temporary files and archives without their index.
// Only a pack holding the experiment's lock may remove them.
std::vector<std::filesystem::path> list_debris(const std::filesystem::path& dir);

// Every committed archive in `dir` with its index, by increasing sequence; none when the
// directory does not exist. Throws ArchiveError for an unreadable index.
std::vector<CatalogedArchive> list_archives(const std::filesystem::path& dir);

}  // namespace gridfold
