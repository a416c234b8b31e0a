#include <catch2/catch.hpp>

#include <cmath>

#include "common/dataset.hpp"
#include "common/spec.hpp"
#include "orchestrator/prepare/bed_bins_command.hpp"
#include "orchestrator/prepare/peak_bins.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

BedRecord peak(std::uint64_t start, std::uint64_t end, double score = 1000, std::string chrom = "chr1") {
  return BedRecord{std::move(chrom), start, end, "p", score, 1};
}

PeakBinning binning(std::optional<double> min_score = std::nullopt) {
  return PeakBinning{parse_region("chr1:1000-2000"), 100, min_score};
}

// Two samples: s1 with peaks in the first and last bins of chr1:0-300, s2 with one weak peak.
BedBinsOptions two_samples(const TempDir& dir) {
  BedBinsOptions options;
  options.region = "chr1:0-300";
  options.bin_size = 100;
  options.min_score = 500;
  options.peak_files = {dir.write("s1.bed", "chr1\t0\t10\tp\t900\nchr1\t250\t290\tp\t600\n"),
                        dir.write("s2.bed", "chr1\t100\t200\tp\t100\n")};
  options.expression = dir.write("expr.tsv", "gene\ts2\ts1\tother\ngA\t2.5\t1\t0\ngB\tNA\t4\t0\n");
  options.out_dir = dir / "out";
  return options;
}

}  // namespace

TEST_CASE("a peak whose midpoint falls in a bin sets that bin", "[bed-bins]") {
  const PeakBins bins = bin_peaks({peak(1190, 1210), peak(1000, 1001), peak(1995, 2005)}, binning());
  CHECK(bins.bins == std::vector<std::uint8_t>{1, 0, 1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(bins.peaks_counted == 2);  // the last peak's midpoint 2000 is past the half-open end
}

TEST_CASE("a peak's midpoint is floor((start + end) / 2), the upper middle base of an even-length peak", "[bed-bins]") {
  CHECK(peak_midpoint(peak(1090, 1110)) == 1100);
  CHECK(peak_midpoint(peak(1090, 1109)) == 1099);
  CHECK(bin_peaks({peak(1090, 1110)}, binning()).bins[1] == 1);
  CHECK(bin_peaks({peak(1090, 1109)}, binning()).bins[0] == 1);
}

TEST_CASE("a peak below the minimum score is ignored", "[bed-bins]") {
  const auto bins = bin_peaks({peak(1100, 1120, 999.5), peak(1300, 1320, 1000)}, binning(1000));
  CHECK(bins.bins[1] == 0);
  CHECK(bins.bins[3] == 1);
  CHECK(bin_peaks({peak(1100, 1120, 3)}, binning()).bins[1] == 1);  // no minimum: every peak counts
}

TEST_CASE("a peak on another chromosome or outside the region sets nothing", "[bed-bins]") {
  const auto bins = bin_peaks({peak(1100, 1120, 1000, "chr2"), peak(500, 600), peak(2500, 2600)}, binning());
  CHECK(bins.peaks_counted == 0);
  CHECK(std::count(bins.bins.begin(), bins.bins.end(), 1) == 0);
}

TEST_CASE("the last bin is shorter when the region is not a multiple of the bin size", "[bed-bins]") {
  const PeakBinning b{parse_region("chr1:0-250"), 100, std::nullopt};
  CHECK(b.bin_count() == 3);
  CHECK(bin_peaks({peak(240, 248)}, b).bins == std::vector<std::uint8_t>{0, 0, 1});
}

TEST_CASE("bed-bins writes one row per sample with bins and gene expression, and a spec that loads it", "[bed-bins]") {
  TempDir dir;
  const BedBinsSummary summary = prepare_bed_bins(two_samples(dir));
  CHECK(summary.samples == 2);
  CHECK(summary.bins == 3);
  CHECK(summary.genes == 2);
  CHECK(summary.peaks_read == 3);
  CHECK(summary.peaks_counted == 2);
  CHECK(summary.bins_set == 2);

  const TextTable table = read_table(summary.csv, ',');
  CHECK(table.header == std::vector<std::string>{"sample", "bin_000000", "bin_000001", "bin_000002", "gA", "gB"});
  REQUIRE(table.rows.size() == 2);
  CHECK(table.rows[0] == std::vector<std::string>{"s1", "1", "0", "1", "1", "4"});
  CHECK(table.rows[1] == std::vector<std::string>{"s2", "0", "0", "0", "2.5", ""});

  const SpecDocument spec = SpecDocument::load(summary.spec);
  CHECK(spec.base().model.family == ModelFamily::mlp);
  CHECK(spec.base().data.feature_columns == std::vector<std::string>{"bin_000000", "bin_000001", "bin_000002"});
  const Dataset data = load_dataset(spec.base().data);
  CHECK(data.ids == std::vector<std::string>{"s1", "s2"});
  CHECK(data.target_names == std::vector<std::string>{"gA", "gB"});
  CHECK(data.features == std::vector<float>{1, 0, 1, 0, 0, 0});
  CHECK(data.targets[0] == std::vector<float>{1, 2.5f});
  CHECK(std::isnan(data.targets[1][1]));
}

TEST_CASE("sample names can be given instead of the BED files' stems", "[bed-bins]") {
  TempDir dir;
  BedBinsOptions options = two_samples(dir);
  options.names = {"other", "s1"};
  const auto summary = prepare_bed_bins(options);
  CHECK(read_table(summary.csv, ',').rows[0][0] == "other");
  options.names = {"s1"};
  CHECK_THROWS_WITH(prepare_bed_bins(options), Catch::Contains("1 sample names are given for 2 BED files"));
}

TEST_CASE("a sample missing from the expression table is a clear error listing its samples", "[bed-bins]") {
  TempDir dir;
  BedBinsOptions options = two_samples(dir);
  options.peak_files.push_back(dir.write("s3.bed", "chr1\t0\t10\tp\t900\n"));
  CHECK_THROWS_AS(prepare_bed_bins(options), DataError);
  CHECK_THROWS_WITH(prepare_bed_bins(options), Catch::Contains("s3.bed: sample 's3' has no column") &&
                                                   Catch::Contains("its samples are: s2, s1, other"));
}

TEST_CASE("a BED line without a score is an error when a minimum score is asked for", "[bed-bins]") {
  TempDir dir;
  BedBinsOptions options = two_samples(dir);
  dir.write("s2.bed", "chr1\t100\t200\n");
  CHECK_THROWS_WITH(prepare_bed_bins(options), Catch::Contains("s2.bed:1:") && Catch::Contains("column 5 (score)"));
  options.min_score.reset();
  CHECK(prepare_bed_bins(options).peaks_counted == 3);
}

TEST_CASE("with gene coordinates only the genes overlapping the region are targets", "[bed-bins]") {
  TempDir dir;
  BedBinsOptions options = two_samples(dir);
  options.genes = dir.write("genes.bed", "chr1\t250\t900\tgB\nchr1\t300\t900\tgA\nchr1\t10\t20\tgC\n");
  const BedBinsSummary summary = prepare_bed_bins(options);
  CHECK(summary.genes == 1);
  CHECK(summary.genes_without_expression == std::vector<std::string>{"gC"});
  CHECK(read_table(summary.csv, ',').header.back() == "gB");
  dir.write("genes.bed", "chr2\t0\t100\tgA\n");
  CHECK_THROWS_WITH(prepare_bed_bins(options), Catch::Contains("no gene of the expression table"));
}

TEST_CASE("peaks on none of the region's chromosome name the chromosomes they are on", "[bed-bins]") {
  TempDir dir;
  BedBinsOptions options = two_samples(dir);
  options.region = "1:0-300";
  CHECK_THROWS_WITH(prepare_bed_bins(options),
                    Catch::Contains("on chromosome '1'") && Catch::Contains("their chromosomes are: chr1"));
}
