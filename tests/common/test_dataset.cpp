#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/dataset.hpp"
#include "common/text_file.hpp"
#include "common/text_lines.hpp"

using namespace gridfold;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp directory, removed with everything in it.
class FixtureDir {
 public:
  FixtureDir() : path_(fs::temp_directory_path() / unique_name()) { fs::create_directories(path_); }
  ~FixtureDir() {
    std::error_code ignored;  // a leftover temp directory must not fail the test run
    fs::remove_all(path_, ignored);
  }
  FixtureDir(const FixtureDir&) = delete;
  FixtureDir& operator=(const FixtureDir&) = delete;

  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  static std::string unique_name() {
    std::random_device random;
    const std::uint64_t bits = (std::uint64_t{random()} << 32) | random();
    return fmt::format("gridfold-dataset-{:016x}", bits);
  }

  fs::path path_;
};

DataSpec csv_spec(const fs::path& file, std::vector<TargetSpec> targets) {
  DataSpec spec;
  spec.path = file;
  spec.format = DataFormat::csv;
  spec.targets = std::move(targets);
  return spec;
}

TargetSpec target(const std::string& name, TaskType task, std::vector<std::string> classes = {}) {
  TargetSpec spec;
  spec.name = name;
  spec.task = task;
  spec.classes = std::move(classes);
  return spec;
}

}  // namespace

// --- read_table ---------------------------------------------------------------------------

TEST_CASE("a CSV cell with a quoted comma stays one cell", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.csv", "id,note,x\n1,\"hello, world\",2\n"), ',');
  REQUIRE(table.rows.size() == 1);
  CHECK(table.rows[0] == std::vector<std::string>{"1", "hello, world", "2"});
}

TEST_CASE("a quoted CSV cell keeps doubled quotes and line breaks, and lines are still counted", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.csv", "a,b\n\"say \"\"hi\"\"\",\"two\nlines\"\n3,4\n"), ',');
  REQUIRE(table.rows.size() == 2);
  CHECK(table.rows[0] == std::vector<std::string>{"say \"hi\"", "two\nlines"});
  CHECK(table.line_of_row == std::vector<std::size_t>{2, 4});
}

TEST_CASE("a TSV file splits on tabs only", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.tsv", "name\tnote\nx\ta, b\n"), '\t');
  CHECK(table.header == std::vector<std::string>{"name", "note"});
  CHECK(table.rows[0] == std::vector<std::string>{"x", "a, b"});
}

TEST_CASE("CRLF line endings are tolerated", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.csv", "a,b\r\n1,\"2\"\r\n3,4\r\n"), ',');
  CHECK(table.header == std::vector<std::string>{"a", "b"});
  CHECK(table.rows == std::vector<std::vector<std::string>>{{"1", "2"}, {"3", "4"}});
  CHECK(table.line_of_row == std::vector<std::size_t>{2, 3});
}

TEST_CASE("a UTF-8 byte order mark before the header is not part of the first column name", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.csv", "\xEF\xBB\xBFsequence,dG\nAC,1\n"), ',');
  CHECK(table.column("sequence") == 0);
}

TEST_CASE("blank lines are skipped but still counted", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.csv", "a,b\n\n1,2\n\n"), ',');
  CHECK(table.rows.size() == 1);
  CHECK(table.line_of_row == std::vector<std::size_t>{3});
}

TEST_CASE("a ragged row is reported with file, line and both cell counts", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("t.csv", "a,b,c\n1,2,3\n4,5\n");
  CHECK_THROWS_WITH(read_table(file, ','),
                    fmt::format("{}:3: the row has 2 cells but the header has 3 columns", file.string()));
}

TEST_CASE("an unclosed quote is reported with the line where the cell opened", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("t.csv", "a,b\n1,2\n3,\"open\n4,5\n");
  CHECK_THROWS_WITH(read_table(file, ','), Catch::StartsWith(file.string() + ":3: a quoted cell is never closed"));
}

TEST_CASE("text after a closing quote is an error", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("t.csv", "a,b\n\"x\"y,2\n");
  CHECK_THROWS_WITH(read_table(file, ','), Catch::StartsWith(file.string() + ":2: unexpected 'y'"));
}

TEST_CASE("an empty table file is rejected because a header is required", "[dataset]") {
  const FixtureDir dir;
  CHECK_THROWS_WITH(read_table(dir.write("t.csv", ""), ','), Catch::Contains("a header line"));
}

TEST_CASE("a column name that appears twice in the header is an error", "[dataset]") {
  const FixtureDir dir;
  CHECK_THROWS_WITH(read_table(dir.write("t.csv", "a,b,a\n1,2,3\n"), ','),
                    Catch::Contains("column 'a' appears twice in the header (columns 1 and 3)"));
}

TEST_CASE("a missing column is reported with a suggestion and the available columns", "[dataset]") {
  const FixtureDir dir;
  const auto table = read_table(dir.write("t.csv", "sequence,dG\nACGT,1\n"), ',');
  CHECK(table.column("dG") == 1);
  CHECK_THROWS_WITH(table.column("dg"),
                    Catch::EndsWith("no column 'dg' (did you mean 'dG'?); the columns are: sequence, dG"));
}

TEST_CASE("a missing table file is reported with its path", "[dataset]") {
  CHECK_THROWS_WITH(read_table("/nonexistent/gridfold/t.csv", ','),
                    Catch::StartsWith("/nonexistent/gridfold/t.csv: cannot open for reading"));
}

TEST_CASE("every text reader reports a missing file or a directory the same way, as bad input", "[dataset]") {
  const FixtureDir dir;
  const fs::path folder = dir.write("t.csv", "x\n").parent_path();
  for (const fs::path& file : {fs::path("/nonexistent/gridfold/t.csv"), folder}) {
    INFO(file.string());
    const std::vector<std::function<void()>> readers = {
        [&] { read_table(file, ','); },
        [&] { read_fasta(file); },
        [&] { read_text_file(file); },
        [&] { for_each_line(file, [](std::string_view, std::size_t) {}); },
    };
    for (const auto& read : readers) {
      try {
        read();
        FAIL("no error");
      } catch (const UnreadableFileError& e) {
        CHECK(e.exit_code() == kExitBadInput);
        CHECK_THAT(e.what(), Catch::StartsWith(file.string() + ": cannot open for reading"));
      }
    }
  }
}

// --- read_fasta ---------------------------------------------------------------------------

TEST_CASE("FASTA records span several lines and the id is the first word of the header", "[dataset]") {
  const FixtureDir dir;
  const auto records = read_fasta(dir.write("s.fa", ">seq1 some description\nACGT\nAC\r\n\n>seq2\nGG\n"));
  REQUIRE(records.size() == 2);
  CHECK(records[0].id == "seq1");
  CHECK(records[0].sequence == "ACGTAC");
  CHECK(records[0].line == 1);
  CHECK(records[1].id == "seq2");
  CHECK(records[1].sequence == "GG");
  CHECK(records[1].line == 5);
}

TEST_CASE("a duplicate FASTA id is reported with both lines", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("s.fa", ">a\nAC\n>b\nGG\n>a\nTT\n");
  CHECK_THROWS_WITH(read_fasta(file), fmt::format("{}:5: duplicate id 'a' (first used at line 1)", file.string()));
}

TEST_CASE("sequence text before the first FASTA header is an error", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("s.fa", "\nACGT\n>a\nAC\n");
  CHECK_THROWS_WITH(read_fasta(file),
                    fmt::format("{}:2: sequence text before the first '>' header line", file.string()));
}

TEST_CASE("a FASTA header without an id is an error", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("s.fa", ">a\nAC\n>  \nGG\n");
  CHECK_THROWS_WITH(read_fasta(file), fmt::format("{}:3: the '>' header has no id", file.string()));
}

// --- load_dataset: tables -----------------------------------------------------------------

TEST_CASE("a CSV dataset keeps file order, uppercases sequences and numbers ids by row", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\nacgt,1.5\nGGNR,-2e1\n");
  const Dataset data = load_dataset(csv_spec(file, {target("dG", TaskType::regression)}));
  CHECK(data.size() == 2);
  CHECK(data.ids == std::vector<std::string>{"1", "2"});
  CHECK(data.sequences == std::vector<std::string>{"ACGT", "GGNR"});
  CHECK(data.target_names == std::vector<std::string>{"dG"});
  CHECK(data.targets == std::vector<std::vector<float>>{{1.5f, -20.0f}});
  CHECK(data.feature_count == 0);
}

TEST_CASE("missing regression targets become NaN", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\nA,\nC,NA\nG,NaN\nT,nan\nA,3\n");
  const Dataset data = load_dataset(csv_spec(file, {target("dG", TaskType::regression)}));
  const auto& dG = data.targets.at(0);
  REQUIRE(dG.size() == 5);
  for (std::size_t i = 0; i < 4; ++i) CHECK(std::isnan(dG[i]));
  CHECK(dG[4] == 3.0f);
}

TEST_CASE("an unparsable regression target is reported with file, line and column", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\nACGT,1\nACGT,abc\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("dG", TaskType::regression)})),
                    Catch::StartsWith(fmt::format("{}:3: column 'dG': 'abc' is not a number", file.string())));
}

TEST_CASE("an invalid letter is reported with file, line and position", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\nACGT,1\nACGTACGTACGXA,2\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("dG", TaskType::regression)})),
                    fmt::format("{}:3: column 'sequence': letter 'X' at position 12 is not valid for alphabet dna "
                                "(valid: A C G T and IUPAC codes N R Y S W K M B D H V)",
                                file.string()));
}

TEST_CASE("an empty sequence is an error", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\nACGT,1\n,2\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("dG", TaskType::regression)})),
                    fmt::format("{}:3: column 'sequence': the sequence is empty", file.string()));
}

TEST_CASE("a TSV dataset reads protein sequences", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec = csv_spec(dir.write("d.tsv", "seq\tlabel\nmkwx\t1\n"), {target("label", TaskType::binary)});
  spec.format = DataFormat::tsv;
  spec.sequence_column = "seq";
  spec.alphabet = Alphabet::protein;
  const Dataset data = load_dataset(spec);
  CHECK(data.sequences == std::vector<std::string>{"MKWX"});
}

TEST_CASE("binary targets accept 0/1 and true/false", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,active\nA,0\nA,1\nA,true\nA,FALSE\nA,1.0\nA,\n");
  const Dataset data = load_dataset(csv_spec(file, {target("active", TaskType::binary)}));
  const auto& active = data.targets.at(0);
  REQUIRE(active.size() == 6);
  CHECK(std::vector<float>(active.begin(), active.begin() + 5) == std::vector<float>{0, 1, 1, 0, 1});
  CHECK(std::isnan(active[5]));
}

TEST_CASE("a binary target other than 0/1 or true/false is reported with the valid values", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,active\nA,1\nA,yes\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("active", TaskType::binary)})),
                    Catch::StartsWith(
                        fmt::format("{}:3: column 'active': 'yes' is not a binary label (valid: 0, 1, true, false",
                                    file.string())));
}

TEST_CASE("multiclass labels map to their index in the spec's classes", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,kind\nA,loop\nC,helix\nG,\nT,sheet\n");
  const Dataset data = load_dataset(csv_spec(file, {target("kind", TaskType::multiclass, {"helix", "sheet", "loop"})}));
  const auto& kind = data.targets.at(0);
  CHECK(kind[0] == 2.0f);
  CHECK(kind[1] == 0.0f);
  CHECK(std::isnan(kind[2]));
  CHECK(kind[3] == 1.0f);
  CHECK(data.classes.at(0) == std::vector<std::string>{"helix", "sheet", "loop"});
}

TEST_CASE("multiclass classes default to the sorted distinct labels", "[dataset]") {
  const FixtureDir dir;
  const auto text = dir.write("t.csv", "sequence,kind\nA,b\nC,a\nG,c\nT,a\n");
  const Dataset by_text = load_dataset(csv_spec(text, {target("kind", TaskType::multiclass)}));
  CHECK(by_text.classes.at(0) == std::vector<std::string>{"a", "b", "c"});
  CHECK(by_text.targets.at(0) == std::vector<float>{1, 0, 2, 0});
  // numeric labels sort as numbers, so "10" comes after "2"
  const auto numbers = dir.write("n.csv", "sequence,kind\nA,10\nC,2\nG,NA\n");
  const Dataset by_number = load_dataset(csv_spec(numbers, {target("kind", TaskType::multiclass)}));
  CHECK(by_number.classes.at(0) == std::vector<std::string>{"2", "10"});
}

TEST_CASE("a multiclass label outside the classes is reported with the valid classes", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,kind\nA,helix\nC,coil\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("kind", TaskType::multiclass, {"helix", "sheet"})})),
                    fmt::format("{}:3: column 'kind': 'coil' is not one of the classes (valid: helix, sheet)",
                                file.string()));
}

TEST_CASE("per-position labels are kept as digit strings, one digit per letter", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,boundary,dG\nACGT,0010,1\nAC,,2\n");
  const Dataset data =
      load_dataset(csv_spec(file, {target("boundary", TaskType::per_position), target("dG", TaskType::regression)}));
  CHECK(data.position_labels.at(0) == std::vector<std::string>{"0010", ""});
  CHECK(data.targets.at(0).empty());
  CHECK(data.position_labels.at(1).empty());
  CHECK(data.targets.at(1) == std::vector<float>{1, 2});
}

TEST_CASE("a per-position label whose length differs from its sequence is reported with file and line", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,boundary\nACGT,0010\nACGTA,0010\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("boundary", TaskType::per_position)})),
                    fmt::format("{}:3: column 'boundary': the label has 4 positions but the sequence has 5 letters",
                                file.string()));
}

TEST_CASE("a per-position label with a non-digit is reported with its position", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,boundary\nACGT,00x0\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("boundary", TaskType::per_position)})),
                    Catch::StartsWith(fmt::format("{}:2: column 'boundary': character 'x' at position 3 is not a digit",
                                                  file.string())));
}

TEST_CASE("feature columns form a row-major matrix", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec = csv_spec(dir.write("d.csv", "gc,length,y\n0.5,10,1\n0.25,+20,0\n-1e-2,30,1\n"),
                           {target("y", TaskType::regression)});
  spec.sequence_column.clear();
  spec.alphabet = Alphabet::none;
  spec.feature_columns = {"gc", "length"};
  const Dataset data = load_dataset(spec);
  CHECK(data.sequences.empty());
  CHECK(data.feature_count == 2);
  CHECK(data.features == std::vector<float>{0.5f, 10.0f, 0.25f, 20.0f, -0.01f, 30.0f});
}

TEST_CASE("a non-numeric or missing feature is reported with file, line and column", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec = csv_spec(dir.write("d.csv", "sequence,gc\nACGT,0.5\nACGT,NA\n"), {});
  spec.feature_columns = {"gc"};
  CHECK_THROWS_WITH(load_dataset(spec),
                    Catch::StartsWith(fmt::format("{}:3: column 'gc': 'NA' is not a number", spec.path.string())));
}

TEST_CASE("ids come from the id column and must be unique", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec = csv_spec(dir.write("d.csv", "name,sequence\nx1,AC\nx2,GT\n"), {});
  spec.id_column = "name";
  CHECK(load_dataset(spec).ids == std::vector<std::string>{"x1", "x2"});
  spec.path = dir.write("dup.csv", "name,sequence\nx1,AC\nx1,GT\n");
  CHECK_THROWS_WITH(load_dataset(spec),
                    fmt::format("{}:3: column 'name': id 'x1' was already used at line 2", spec.path.string()));
}

TEST_CASE("extra columns are kept as text", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG,family\nAC,1,k1\nGT,2,k2\n");
  const Dataset data = load_dataset(csv_spec(file, {target("dG", TaskType::regression)}), {"family"});
  CHECK(data.extra_names == std::vector<std::string>{"family"});
  CHECK(data.extra_column("family") == std::vector<std::string>{"k1", "k2"});
  CHECK_THROWS_AS(data.extra_column("cluster"), std::out_of_range);
}

TEST_CASE("a target column missing from the table lists the available columns", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\nAC,1\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("ddG", TaskType::regression)})),
                    Catch::Contains("no column 'ddG'") && Catch::Contains("the columns are: sequence, dG"));
}

TEST_CASE("a table without samples is rejected", "[dataset]") {
  const FixtureDir dir;
  const auto file = dir.write("d.csv", "sequence,dG\n");
  CHECK_THROWS_WITH(load_dataset(csv_spec(file, {target("dG", TaskType::regression)})),
                    Catch::Contains("the data holds no samples"));
}

// --- load_dataset: FASTA with a labels table ----------------------------------------------

TEST_CASE("FASTA records join the labels table by id and a record without a label has missing targets", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec;
  spec.format = DataFormat::fasta;
  spec.path = dir.write("s.fa", ">r1 first\nacg\nt\n>r2\nGGCC\n>r3\nTTAA\n");
  spec.labels = dir.write("labels.tsv", "name\tdG\tfamily\nr3\t3.5\tf3\nr1\t-1\tf1\nextra\t9\tfx\n");
  spec.targets = {target("dG", TaskType::regression)};
  const Dataset data = load_dataset(spec, {"family"});
  CHECK(data.ids == std::vector<std::string>{"r1", "r2", "r3"});
  CHECK(data.sequences == std::vector<std::string>{"ACGT", "GGCC", "TTAA"});
  const auto& dG = data.targets.at(0);
  CHECK(dG[0] == -1.0f);
  CHECK(std::isnan(dG[1]));
  CHECK(dG[2] == 3.5f);
  CHECK(data.extra_column("family") == std::vector<std::string>{"f1", "", "f3"});
}

TEST_CASE("the labels table is keyed by the id column when one is set", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec;
  spec.format = DataFormat::fasta;
  spec.path = dir.write("s.fa", ">r1\nAC\n>r2\nGG\n");
  spec.labels = dir.write("labels.csv", "dG,record\n5,r2\n4,r1\n");
  spec.id_column = "record";
  spec.targets = {target("dG", TaskType::regression)};
  CHECK(load_dataset(spec).targets.at(0) == std::vector<float>{4, 5});
}

TEST_CASE("a labels table whose ids match no FASTA record is rejected", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec;
  spec.format = DataFormat::fasta;
  spec.path = dir.write("s.fa", ">r1\nAC\n");
  spec.labels = dir.write("labels.csv", "dG,record\n5,r1\n");
  spec.targets = {target("dG", TaskType::regression)};
  CHECK_THROWS_WITH(load_dataset(spec), Catch::Contains("no id in column 'dG' matches a record"));
}

TEST_CASE("an id labelled twice is reported with both lines", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec;
  spec.format = DataFormat::fasta;
  spec.path = dir.write("s.fa", ">r1\nAC\n");
  spec.labels = dir.write("labels.csv", "id,dG\nr1,1\nr1,2\n");
  spec.targets = {target("dG", TaskType::regression)};
  CHECK_THROWS_WITH(load_dataset(spec),
                    fmt::format("{}:3: column 'id': id 'r1' is labelled twice (also at line 2)", spec.labels.string()));
}

TEST_CASE("an invalid letter in a FASTA record names the record and its header line", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec;
  spec.format = DataFormat::fasta;
  spec.alphabet = Alphabet::rna;
  spec.path = dir.write("s.fa", ">r1\nACGU\n>r2\nACGT\n");
  CHECK_THROWS_WITH(load_dataset(spec),
                    Catch::StartsWith(
                        fmt::format("{}:3: record 'r2': letter 'T' at position 4 is not valid for alphabet rna",
                                    spec.path.string())));
}

TEST_CASE("FASTA data with targets but no labels table is rejected", "[dataset]") {
  const FixtureDir dir;
  DataSpec spec;
  spec.format = DataFormat::fasta;
  spec.path = dir.write("s.fa", ">r1\nAC\n");
  spec.targets = {target("dG", TaskType::regression)};
  CHECK_THROWS_WITH(load_dataset(spec), Catch::Contains("needs a labels table (data.labels)"));
}
