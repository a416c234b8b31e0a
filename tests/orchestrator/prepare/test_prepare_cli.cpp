#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/exit_codes.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

const std::string kGridfold = GRIDFOLD_BINARY_DIR "/bin/gridfold";

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CommandResult run(const TempDir& dir, const std::string& command) {
  const auto log = dir / "command.log";
  const int status = std::system(fmt::format("{} > {} 2>&1", command, log.string()).c_str());
  std::ostringstream output;
  output << std::ifstream(log).rdbuf();
  return CommandResult{WIFEXITED(status) ? WEXITSTATUS(status) : -1, output.str()};
}

void write_atac_inputs(const TempDir& dir) {
  dir.write("a.bed", "chr1\t100\t300\tp1\t1000\nchr1\t5000\t5200\tp2\t1000\nchr1\t7000\t7100\tp3\t200\n");
  dir.write("b.bed", "chr1\t2100\t2200\tp1\t1000\nchr2\t100\t200\tp2\t1000\n");
  dir.write("expr.tsv", "gene_id\ta\tb\ngene,1\t1.25\t0.5\ngene2\t3\tNA\n");
}

}  // namespace

TEST_CASE("gridfold prepare bed-bins writes a CSV that pandas reads", "[prepare-cli][python]") {
  TempDir dir;
  write_atac_inputs(dir);
  const CommandResult prepared =
      run(dir, fmt::format("{} prepare bed-bins --region chr1:0-10000 --bin 1000 --min-score 1000 {} {} "
                           "--expression {} --out {}",
                           kGridfold, (dir / "a.bed").string(), (dir / "b.bed").string(), (dir / "expr.tsv").string(),
                           (dir / "out").string()));
  INFO(prepared.output);
  REQUIRE(prepared.exit_code == kExitOk);
  CHECK_THAT(prepared.output, Catch::Contains("2 samples x 10 bins over chr1:0-10000"));

  const auto script = dir.write("read.py", R"(import sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
assert list(df.columns[:3]) == ["sample", "bin_000000", "bin_000001"], list(df.columns)
assert list(df.columns[-2:]) == ["gene,1", "gene2"], list(df.columns)
assert df.shape == (2, 1 + 10 + 2), df.shape
assert list(df["sample"]) == ["a", "b"]
assert df.loc[0, ["bin_000000", "bin_000005", "bin_000007"]].tolist() == [1, 1, 0]
assert df.loc[1, "bin_000002"] == 1 and df.iloc[1, 1:11].sum() == 1
assert df.loc[0, "gene,1"] == 1.25 and pd.isna(df.loc[1, "gene2"])
print("ok")
)");
  const CommandResult read =
      run(dir, fmt::format("/usr/bin/python3 {} {}", script.string(), (dir / "out" / "atac_expression.csv").string()));
  INFO(read.output);
  CHECK(read.exit_code == 0);

  const CommandResult planned =
      run(dir, fmt::format("{} plan {} --dry-run", kGridfold, (dir / "out" / "atac_expression.yaml").string()));
  INFO(planned.output);
  CHECK(planned.exit_code == kExitOk);
}

TEST_CASE("a malformed BED line stops prepare with exit code 3 and names file and line", "[prepare-cli]") {
  TempDir dir;
  write_atac_inputs(dir);
  dir.write("b.bed", "chr1\t2100\t2200\tp1\t1000\nchr1\t2300\n");
  const CommandResult r =
      run(dir, fmt::format("{} prepare bed-bins --region chr1:0-10000 {} {} --expression {} --out {}", kGridfold,
                           (dir / "a.bed").string(), (dir / "b.bed").string(), (dir / "expr.tsv").string(),
                           (dir / "out").string()));
  CHECK(r.exit_code == kExitBadInput);
  CHECK_THAT(r.output, Catch::Contains((dir / "b.bed").string() + ":2:"));
}

TEST_CASE("prepare gtf-windows without a chromosome in the FASTA exits with code 3", "[prepare-cli]") {
  TempDir dir;
  dir.write("a.gtf", "chrZ\tt\texon\t2\t5\t.\t+\t.\tgene_id \"g\";\n");
  dir.write("g.fa", ">chr1\nACGTACGTAC\n");
  const CommandResult r =
      run(dir, fmt::format("{} prepare gtf-windows --gtf {} --fasta {} --window 5 --out {}", kGridfold,
                           (dir / "a.gtf").string(), (dir / "g.fa").string(), (dir / "w.csv").string()));
  CHECK(r.exit_code == kExitBadInput);
  CHECK_THAT(r.output, Catch::Contains("chromosome 'chrZ' is not in the FASTA"));
}
