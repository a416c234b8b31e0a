// Reading only the identity and the test-set metrics of a fold result, for code that reads
// very many results (harvest): a full read_fold_result_image costs ~270 µs per result, most
// of it in history, provenance and string datasets; this reads what ranking needs in ~60 µs.
// The schema belongs to fold_result.cpp (docs/result-schema.md); a test checks that both
// readers agree, and a schema version this reader does not know is an error, not a misread.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "common/metrics.hpp"

namespace gridfold {

struct FoldScores {
  std::string config_id;
  int outer_fold = 0;
  int inner_fold = -1;
  std::string fingerprint;                      // ResultFingerprint::digest; empty before result schema version 4
  std::string device;                           // Provenance::device ("cpu", "cuda:0"); empty where unrecorded
  std::map<std::string, MetricValues> metrics;  // target -> metric -> value (test set)
  std::map<std::string, int> firings;           // diagnostic rule -> times it fired in training
  std::string stopped_by;                       // the rule that stopped training; empty: none did
};

// `name` appears in error messages. Throws h5::Error for an unreadable or incomplete result.
FoldScores read_fold_scores_image(const void* data, std::size_t size, const std::string& name);

}  // namespace gridfold
