#include <catch2/catch.hpp>

#include <cmath>

#include "orchestrator/prepare/bed.hpp"
#include "common/dataset.hpp"
#include "orchestrator/prepare/expression_table.hpp"
#include "orchestrator/prepare/genomic_region.hpp"
#include "orchestrator/prepare/gtf.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

TEST_CASE("a region is read as chrom, 0-based start and half-open end", "[genomic-inputs]") {
  const GenomicRegion region = parse_region("chr1:0-1000000");
  CHECK(region.chrom == "chr1");
  CHECK(region.start == 0);
  CHECK(region.end == 1000000);
  CHECK(region.contains("chr1", 999999));
  CHECK_FALSE(region.contains("chr1", 1000000));
  CHECK_FALSE(region.contains("chr2", 10));
  CHECK(parse_region("HLA-A*01:01:5-10").chrom == "HLA-A*01:01");
}

TEST_CASE("a malformed region names the value and the valid form", "[genomic-inputs]") {
  for (const char* text : {"chr1", "chr1:100", "chr1:a-100", "chr1:100-50", ":0-10", "chr1:-5-10"}) {
    INFO(text);
    CHECK_THROWS_AS(parse_region(text), DataError);
    CHECK_THROWS_WITH(parse_region(text), Catch::Contains(text) && Catch::Contains("chrN:START-END"));
  }
}

TEST_CASE("BED lines give 0-based half-open intervals with name and score", "[genomic-inputs]") {
  TempDir dir;
  const auto bed =
      dir.write("peaks.bed", "track name=peaks\n# comment\n\nchr1\t10\t20\tp1\t1000\t.\nchr2 5 5 p2 12.5\n");
  const auto records = read_bed(bed, BedFields::score);
  REQUIRE(records.size() == 2);
  CHECK(records[0].chrom == "chr1");
  CHECK(records[0].start == 10);
  CHECK(records[0].end == 20);
  CHECK(records[0].name == "p1");
  CHECK(records[0].score == 1000);
  CHECK(records[0].line == 4);
  CHECK(records[1].score == 12.5);
  CHECK(records[1].line == 5);
}

TEST_CASE("a malformed BED line is reported with file and line", "[genomic-inputs]") {
  TempDir dir;
  const auto check = [&](const std::string& line, BedFields needed, const std::string& what) {
    const auto bed = dir.write("bad.bed", "chr1\t1\t2\tp\t5\n" + line + "\n");
    INFO(line);
    CHECK_THROWS_AS(read_bed(bed, needed), DataError);
    CHECK_THROWS_WITH(read_bed(bed, needed), Catch::Contains(bed.string() + ":2:") && Catch::Contains(what));
  };
  check("chr1\t10", BedFields::coordinates, "2 column(s); BED needs at least 3");
  check("chr1\tten\t20", BedFields::coordinates, "start 'ten' (column 2) is not a whole number");
  check("chr1\t10\t2e3", BedFields::coordinates, "end '2e3' (column 3) is not a whole number");
  check("chr1\t-1\t20", BedFields::coordinates, "start '-1'");
  check("chr1\t30\t20", BedFields::coordinates, "end 20 is before start 30");
  check("chr1\t10\t20\tp", BedFields::score, "column 5 (score) is needed");
  check("chr1\t10\t20\tp\thigh", BedFields::score, "score 'high' (column 5) is not a number");
}

TEST_CASE("a score column is not required when no score is asked for", "[genomic-inputs]") {
  TempDir dir;
  const auto bed = dir.write("peaks.bed", "chr1\t10\t20\nchr1\t30\t40\tp\tnot-a-score\n");
  CHECK(read_bed(bed, BedFields::coordinates).size() == 2);
}

TEST_CASE("GTF exons keep their 1-based inclusive coordinates and strand", "[genomic-inputs]") {
  TempDir dir;
  const auto gtf = dir.write("a.gtf",
                             "#!genome-build test\n"
                             "chr1\tsrc\tgene\t100\t500\t.\t+\t.\tgene_id \"g1\";\n"
                             "chr1\tsrc\texon\t100\t200\t.\t+\t.\tgene_id \"g1\";\n"
                             "chr1\tsrc\tCDS\t120\t200\t.\t+\t0\tgene_id \"g1\";\n"
                             "chr2\tsrc\texon\t7\t7\t.\t-\t.\tgene_id \"g2\";\n");
  const auto exons = read_gtf_exons(gtf);
  REQUIRE(exons.size() == 2);
  CHECK(exons[0].chrom == "chr1");
  CHECK(exons[0].start == 100);
  CHECK(exons[0].end == 200);
  CHECK(exons[0].strand == '+');
  CHECK(exons[0].line == 3);
  CHECK(exons[1].strand == '-');
  CHECK(exons[1].line == 5);
}

TEST_CASE("a malformed GTF line is reported with file and line", "[genomic-inputs]") {
  TempDir dir;
  const auto check = [&](const std::string& line, const std::string& what) {
    const auto gtf = dir.write("bad.gtf", "chr1\tsrc\texon\t1\t10\t.\t+\t.\tx\n" + line + "\n");
    INFO(line);
    CHECK_THROWS_AS(read_gtf_exons(gtf), DataError);
    CHECK_THROWS_WITH(read_gtf_exons(gtf), Catch::Contains(gtf.string() + ":2:") && Catch::Contains(what));
  };
  check("chr1 src exon 1 10 . + . x", "1 tab-separated column(s); GTF needs 9");
  check("chr1\tsrc\texon\t1\t10\t.\t+\t.", "8 tab-separated column(s)");
  check("chr1\tsrc\tgene\tone\t10\t.\t+\t.\tx", "start 'one' (column 4)");
  check("chr1\tsrc\texon\t0\t10\t.\t+\t.\tx", "start '0' (column 4) is not a whole number >= 1");
  check("chr1\tsrc\texon\t5\t1e3\t.\t+\t.\tx", "end '1e3' (column 5)");
  check("chr1\tsrc\texon\t50\t10\t.\t+\t.\tx", "end 10 is before start 50");
  check("chr1\tsrc\texon\t1\t10\t.\t.\t.\tx", "must be + or -");
  check("chr1\tsrc\tgene\t1\t10\t.\tplus\t.\tx", "strand 'plus' (column 7)");
}

TEST_CASE("an expression table gives one value per gene and sample, NA as missing", "[genomic-inputs]") {
  TempDir dir;
  const auto tsv = dir.write("expr.tsv", "gene\ts1\ts2\ng1\t1.5\tNA\ng2\t-2\t3e1\n");
  const ExpressionTable table = read_expression_table(tsv);
  CHECK(table.samples == std::vector<std::string>{"s1", "s2"});
  CHECK(table.genes == std::vector<std::string>{"g1", "g2"});
  CHECK(table.values[0][0] == 1.5);
  CHECK(std::isnan(table.values[0][1]));
  CHECK(table.values[1][1] == 30);
  CHECK(table.sample_column("s2") == 1u);
  CHECK_FALSE(table.sample_column("s3"));
}

TEST_CASE("a malformed expression table is reported with file and line", "[genomic-inputs]") {
  TempDir dir;
  CHECK_THROWS_WITH(read_expression_table(dir.write("a.tsv", "gene\ts1\ng1\thigh\n")),
                    Catch::Contains("a.tsv:2: column 's1': 'high' is not a number"));
  CHECK_THROWS_WITH(read_expression_table(dir.write("b.tsv", "gene\ts1\ng1\t1\ng1\t2\n")),
                    Catch::Contains("b.tsv:3: gene 'g1' was already listed at line 2"));
  CHECK_THROWS_WITH(read_expression_table(dir.write("c.tsv", "gene\n")), Catch::Contains("one column per sample"));
}
