// SLURM time limits (slurm.time, resubmit --time) read as durations, so that they can be
// compared with slurm.signal_seconds.
#pragma once

#include <optional>
#include <string>

namespace gridfold {

// The limit in seconds for each form sbatch accepts: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM and
// D-HH:MM:SS; 0 stands for SLURM's "no limit". Nothing when `text` is none of these forms.
std::optional<long long> slurm_time_seconds(const std::string& text);

}  // namespace gridfold
