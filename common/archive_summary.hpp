// The summary of a committed archive's results: for every result member, its fingerprint
// digest and its scores (common/fold_scores.hpp), so that status and harvest of a million
// archived results read one text file per archive instead of opening a million HDF5 images.
//
// Pack writes it right after committing the archive, from the bytes it archived; where it is
// missing (a pack killed in between, archives of an older gridfold) the first reader computes
// it from the archive and keeps it. Archives never change once committed, so a summary stays
// valid; a reader still checks that it names exactly the archive's result members with their
// checksums, and recomputes it otherwise.
//
// File: <archive dir>/fingerprints/<archive name>.tsv (a folder of its own: a "pack-*" file
// without an index would be pack's debris). First line "#gridfold-archive-summary 3", then
// one line per result member in archive order, tab-separated: name, XXH64 hex, digest, and
// where the scores are known config id, outer fold, inner fold, the metrics as
// "target:metric=value,metric=value;target:..." (values in shortest round-trip form), the
// device it trained on, its diagnostic rule firings as "rule=count,rule=count" and the rule that
// stopped its training (empty: none). Lists written before scores were kept have the first three columns
// and no header; a list of another version is recomputed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/archive_catalog.hpp"
#include "common/fold_scores.hpp"

namespace gridfold {

struct ResultSummary {
  std::string name;
  std::string digest;                  // empty when the member is no readable result
  std::string device;                  // what it trained on ("cpu", "cuda:0"); empty where unrecorded
  std::map<std::string, int> firings;  // training-diagnostics rule -> times it fired
  std::string stopped_by;              // the rule that stopped its training; empty: none
  std::optional<FoldScores> scores;    // nothing when unreadable or its names cannot be written
};

// The summary of one result's bytes; a member that is no readable result gets an empty digest.
ResultSummary summarize_result(const std::string& name, std::span<const std::byte> data);

// The result members of an archive, in archive order: "results/.../*.h5".
std::vector<const ArchiveMember*> result_members(const ArchiveIndex& index);

// Writes the summary list of a committed archive atomically; `summaries` follow
// result_members(index). Best effort: a directory that cannot be written leaves it to readers.
void write_archive_summary(const std::filesystem::path& archive, const ArchiveIndex& index,
                           const std::vector<ResultSummary>& summaries);

// The kept summary list, when it exists and agrees with the index; with_scores = false leaves
// every `scores` empty (status needs only digests) and accepts lists without scores.
std::optional<std::vector<ResultSummary>> read_archive_summary(const CatalogedArchive& archive, bool with_scores);

// Whether the kept list agrees with the index and holds the scores of every result member;
// cheaper than read_archive_summary(archive, true), which builds them.
bool has_scored_summary(const CatalogedArchive& archive);

// The kept list, else one computed by reading the archive's result members, then kept.
std::vector<ResultSummary> archive_summary(const CatalogedArchive& archive, bool with_scores);

}  // namespace gridfold
