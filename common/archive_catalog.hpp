// The committed archives of an experiment. An archive counts only once its index is beside
// it under its final name: pack renames the archive first and the index last, so the index
// is the commit record, and an archive without one is debris of an interrupted pack.
//
// Archive directories and archive names carry the experiment id (common/plan.hpp), so two
// experiments of one name sharing output.archive never see each other's archives. A plan
// written before ids existed has an empty id and keeps the older names, so its archives stay
// readable (docs/archive-format.md).
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
  std::uint64_t sequence = 0;  // pack-<id>-000042.tar.zst -> 42; later archives hold newer copies
  ArchiveIndex index;
};

// <output.archive>/<experiment name>-<experiment id> when the spec sets output.archive (one
// archive root serves many experiments, of one name or not, without their archives meeting),
// else <experiment>/archives. Without an id: <output.archive>/<experiment name>.
std::filesystem::path archive_directory(const ExperimentLayout& layout, const ExperimentSpec& spec,
                                        const std::string& experiment_id);
// The same, with the id read from the experiment's plan.h5 (throws what reading it throws).
std::filesystem::path archive_directory(const ExperimentLayout& layout, const ExperimentSpec& spec);

// "pack-<experiment id>-000042.tar.zst"; "pack-000042.tar.zst" without an id.
std::string archive_file_name(const std::string& experiment_id, std::uint64_t sequence, Compression compression);

// This experiment's files that an interrupted pack left in `dir`: temporary files and
// archives without their index. Only a pack holding the archive directory's lock may remove them.
std::vector<std::filesystem::path> list_debris(const std::filesystem::path& dir, const std::string& experiment_id);

// Every committed archive of the experiment in `dir` with its index, by increasing sequence;
// none when the directory does not exist. Archives of other ids are not listed. Throws
// ArchiveError for an unreadable index.
std::vector<CatalogedArchive> list_archives(const std::filesystem::path& dir, const std::string& experiment_id);

struct CommittedArchive {
  std::filesystem::path archive;
  std::uint64_t sequence = 0;
};

// Moves a verified archive and its index from their temporary names (in `dir`) to the first
// archive number >= `first_sequence` that no file holds, archive first, index last (the
// commit record). Each number is claimed by an exclusive rename (renameat2 RENAME_NOREPLACE,
// or link where the file system lacks it), so an existing archive or index is never replaced,
// whoever else is packing into `dir`. Throws IoError when a rename fails otherwise; the
// temporary files are then where they were.
CommittedArchive commit_archive(const std::filesystem::path& temporary_archive,
                                const std::filesystem::path& temporary_index, const std::filesystem::path& dir,
                                const std::string& experiment_id, std::uint64_t first_sequence,
                                Compression compression);

}  // namespace gridfold
