#include <catch2/catch.hpp>

#include "common/dataset.hpp"
#include "common/spec.hpp"
#include "orchestrator/prepare/exon_boundaries.hpp"
#include "orchestrator/prepare/genome_windows.hpp"
#include "orchestrator/prepare/gtf_windows_command.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

GtfExon exon(std::uint64_t start, std::uint64_t end, char strand = '+') {
  return GtfExon{"chr1", start, end, strand, 1};
}

std::string gtf_line(const std::string& chrom, int start, int end, char strand, const std::string& feature = "exon") {
  return chrom + "\ttest\t" + feature + "\t" + std::to_string(start) + "\t" + std::to_string(end) + "\t.\t" + strand +
         "\t.\tgene_id \"g\"; transcript_id \"t\";\n";
}

// chr1: 40 bases with one + strand exon at GTF 5-8 (bases 4..7 counted from 0) and one - strand
// exon at 31-33; chr2: 12 bases, unannotated.
struct SmallGenome {
  std::filesystem::path gtf, fasta;
};

SmallGenome small_genome(const TempDir& dir) {
  return SmallGenome{dir.write("a.gtf", gtf_line("chr1", 5, 8, '+') + gtf_line("chr1", 1, 40, '+', "gene") +
                                            gtf_line("chr1", 31, 33, '-')),
                     dir.write("g.fa",
                               ">chr1 test "
                               "chromosome\nacgtACGTAC\nGTACGTACGT\nACGTACGTAC\nGTACGTACGN\n>chr2\nAAAACCCCGGGG\n")};
}

}  // namespace

TEST_CASE("an exon's first and last bases are labelled start and end", "[gtf-windows]") {
  const std::vector<GtfExon> exons{exon(3, 6)};
  CHECK(exon_boundary_labels(8, exons) == "00100200");
}

TEST_CASE("on the minus strand the exon's start is its highest base", "[gtf-windows]") {
  const std::vector<GtfExon> exons{exon(3, 6, '-')};
  CHECK(exon_boundary_labels(8, exons) == "00200100");
}

TEST_CASE("a base that is both an exon start and an exon end is labelled a start", "[gtf-windows]") {
  const std::vector<GtfExon> one_base{exon(2, 2)};
  CHECK(exon_boundary_labels(4, one_base) == "0100");
  const std::vector<GtfExon> abutting{exon(1, 3), exon(3, 4)};
  CHECK(exon_boundary_labels(4, abutting) == "1012");
}

TEST_CASE("windows tile from the chromosome start and the last one is moved back to end at the end", "[gtf-windows]") {
  using W = GenomeWindow;
  CHECK(tile_windows(10, 4, 4) == std::vector<W>{{0, 4}, {4, 8}, {6, 10}});
  CHECK(tile_windows(8, 4, 4) == std::vector<W>{{0, 4}, {4, 8}});
  CHECK(tile_windows(10, 4, 3) == std::vector<W>{{0, 4}, {3, 7}, {6, 10}});
  CHECK(tile_windows(3, 4, 4) == std::vector<W>{{0, 3}});
  CHECK(tile_windows(0, 4, 4).empty());
}

TEST_CASE("windows without a boundary are dropped unless asked for", "[gtf-windows]") {
  TempDir dir;
  const SmallGenome genome = small_genome(dir);
  GtfWindowsOptions options{genome.gtf, genome.fasta, dir / "w.csv", 10, 0, false};
  const GtfWindowsSummary kept = prepare_gtf_windows(options);
  CHECK(kept.windows_written == 2);
  CHECK(kept.windows_dropped == 2);
  CHECK(kept.chromosomes == 1);
  CHECK(kept.positions == 20);
  CHECK(kept.exon_starts == 2);
  CHECK(kept.exon_ends == 2);
  CHECK(kept.positives_per_1000() == Approx(200.0));
  const TextTable table = read_table(options.out, ',');
  CHECK(table.header == std::vector<std::string>{"id", "sequence", "labels", "has_boundary"});
  REQUIRE(table.rows.size() == 2);
  CHECK(table.rows[0] == std::vector<std::string>{"chr1:0-10", "ACGTACGTAC", "0000100200", "1"});
  CHECK(table.rows[1] == std::vector<std::string>{"chr1:30-40", "GTACGTACGN", "2010000000", "1"});

  options.all_windows = true;
  const GtfWindowsSummary all = prepare_gtf_windows(options);
  CHECK(all.windows_written == 6);  // chr1: 4 windows; chr2 (12 bases): 0-10 and 2-12
  CHECK(all.windows_dropped == 0);
  CHECK(all.chromosomes == 2);
  const TextTable all_table = read_table(options.out, ',');
  CHECK(all_table.rows.back() == std::vector<std::string>{"chr2:2-12", "AACCCCGGGG", "0000000000", "0"});
  CHECK(all_table.rows[1][3] == "0");  // chr1:10-20 holds no boundary
}

TEST_CASE("flanks add context on each side, labelled '.', with N past the chromosome's ends", "[gtf-windows]") {
  TempDir dir;
  const SmallGenome genome = small_genome(dir);
  GtfWindowsOptions options{genome.gtf, genome.fasta, dir / "w.csv", 10, 0, false};
  options.flank = 3;
  const GtfWindowsSummary summary = prepare_gtf_windows(options);
  CHECK(summary.positions == 20);  // only the windows' own positions count
  const TextTable table = read_table(options.out, ',');
  REQUIRE(table.rows.size() == 2);
  CHECK(table.rows[0] == std::vector<std::string>{"chr1:0-10", "NNNACGTACGTACGTA", "...0000100200...", "1"});
  CHECK(table.rows[1] == std::vector<std::string>{"chr1:30-40", "TACGTACGTACGNNNN", "...2010000000...", "1"});
  CHECK_THAT(render_text(summary), Catch::Contains("with 3 bases of context on each side"));

  // The flanks load as positions without a label.
  const SpecDocument spec = SpecDocument::parse(
      "name: w\ndata: {path: w.csv, id_column: id, targets: [{name: labels, task: per_position}]}\n"
      "model: {family: cnn1d, global_pooling: none}\nresampling: {outer: {kfold: {k: 2}}}\n",
      "w.yaml", dir.path());
  const Dataset data = load_dataset(spec.base().data);
  CHECK(data.position_labels[0][0] == "...0000100200...");
}

TEST_CASE("the windows CSV loads as a per-position target", "[gtf-windows]") {
  TempDir dir;
  const SmallGenome genome = small_genome(dir);
  prepare_gtf_windows(GtfWindowsOptions{genome.gtf, genome.fasta, dir / "w.csv", 10, 5, false});
  const SpecDocument spec = SpecDocument::parse(
      "name: w\ndata: {path: w.csv, id_column: id, targets: [{name: labels, task: per_position}]}\n"
      "model: {family: cnn1d, global_pooling: none, dilation_growth: true}\n"
      "resampling: {outer: {kfold: {k: 2}}}\n",
      "w.yaml", dir.path());
  const Dataset data = load_dataset(spec.base().data);
  CHECK(data.ids == std::vector<std::string>{"chr1:0-10", "chr1:5-15", "chr1:25-35", "chr1:30-40"});
  CHECK(data.position_labels[0][1] == "0020000000");
}

TEST_CASE("a chromosome missing from the FASTA is a clear error", "[gtf-windows]") {
  TempDir dir;
  const SmallGenome genome = small_genome(dir);
  dir.write("a.gtf", gtf_line("chr1", 5, 8, '+') + gtf_line("chrX", 5, 8, '+'));
  const GtfWindowsOptions options{genome.gtf, genome.fasta, dir / "w.csv", 10, 0, false};
  CHECK_THROWS_AS(prepare_gtf_windows(options), DataError);
  CHECK_THROWS_WITH(prepare_gtf_windows(options), Catch::Contains("a.gtf:2: chromosome 'chrX' is not in the FASTA") &&
                                                      Catch::Contains("its 2 record(s) are: chr1, chr2"));
  CHECK_FALSE(std::filesystem::exists(options.out));
}

TEST_CASE("an exon past its chromosome's end is an error naming the line", "[gtf-windows]") {
  TempDir dir;
  const SmallGenome genome = small_genome(dir);
  dir.write("a.gtf", gtf_line("chr2", 5, 13, '+'));
  CHECK_THROWS_WITH(prepare_gtf_windows(GtfWindowsOptions{genome.gtf, genome.fasta, dir / "w.csv", 10, 0, false}),
                    Catch::Contains("a.gtf:1: the exon ends at 13, past the end of 'chr2', which has 12 bases"));
}

TEST_CASE("a letter that is not DNA in a written window is reported with the record and position", "[gtf-windows]") {
  TempDir dir;
  const SmallGenome genome = small_genome(dir);
  dir.write("g.fa", ">chr1\nACGTACGTAC\nGTACGTACGT\nACGTACGTAC\nGTACGTAC#T\n>chr2\nAAAACCCCGGGG\n");
  CHECK_THROWS_WITH(prepare_gtf_windows(GtfWindowsOptions{genome.gtf, genome.fasta, dir / "w.csv", 10, 0, false}),
                    Catch::Contains("g.fa:1: record 'chr1': letter '#' at position 39 is not DNA"));
}

TEST_CASE("the summary reports windows and positives per 1000 positions", "[gtf-windows]") {
  GtfWindowsSummary summary;
  summary.out = "w.csv";
  summary.window = 5000;
  summary.stride = 5000;
  summary.windows_written = 2;
  summary.positions = 10000;
  summary.exon_starts = 7;
  summary.exon_ends = 6;
  const std::string text = render_text(summary);
  CHECK_THAT(text, Catch::Contains("wrote 2 windows of 5000 bases") && Catch::Contains("1.30 positives per 1000"));
}
