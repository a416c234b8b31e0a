#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/text_file.hpp"
#include "common/archive.hpp"
#include "common/archive_catalog.hpp"
#include "common/result_inventory.hpp"
#include "common/checksum.hpp"
#include "common/file_bytes.hpp"
#include "orchestrator/pack/pack_lock.hpp"
#include "orchestrator/pack/pack_command.hpp"
#include "tests/support/test_experiment.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;
using gridfold::testing::TestExperiment;
namespace fs = std::filesystem;

namespace {

const std::string kSpec = R"(name: packed
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [0.1, 0.01, 0.001]
resampling:
  outer: {kfold: {k: 4}}
  inner: {kfold: {k: 2}}
)";

const fs::path kGridfold = fs::path(GRIDFOLD_BINARY_DIR) / "bin" / "gridfold";

using Checksums = std::map<std::string, std::uint64_t>;

std::uint64_t checksum_of(const fs::path& file) {
  std::vector<std::byte> bytes;
  REQUIRE(read_file_bytes(file, bytes));
  return xxh64(bytes);
}

// Every file under results/ and logs/ that pack would consider, by member name.
Checksums loose_files(const ExperimentLayout& layout) {
  Checksums files;
  for (const fs::path& dir : {layout.results_dir(), layout.logs_dir()}) {
    if (!fs::exists(dir)) continue;
    for (const auto& f : fs::recursive_directory_iterator(dir)) {
      if (!f.is_regular_file() || f.path().filename().string().starts_with(".tmp-")) continue;
      files[f.path().lexically_relative(layout.root()).generic_string()] = checksum_of(f.path());
    }
  }
  return files;
}

// Every member of the committed archives (the latest copy of each name), after reading every
// archive back in full, which checks each member against its index checksum.
Checksums archived_files(const fs::path& archive_dir, const std::string& experiment_id) {
  Checksums files;
  for (const CatalogedArchive& a : list_archives(archive_dir, experiment_id)) {
    read_archive(a.archive, a.index, [](const ArchiveMember&, std::span<const std::byte>) {});
    for (const ArchiveMember& m : a.index.members) files[m.name] = m.checksum;
  }
  return files;
}

fs::path archive_dir(const TestExperiment& e) {
  return archive_directory(e.layout(), e.spec(), e.plan().experiment_id);
}
Checksums archived_files(const TestExperiment& e) {
  return archived_files(archive_dir(e), e.plan().experiment_id);
}
std::string archive_name(const TestExperiment& e, std::uint64_t sequence) {
  return archive_file_name(e.plan().experiment_id, sequence, Compression::zstd);
}

PackOptions options_for(const TestExperiment& e) {
  PackOptions o;
  o.experiment = e.layout().root();
  return o;
}

// Nothing lost: every original is still loose and unchanged, or committed to an archive.
void check_nothing_lost(const ExperimentLayout& layout, const Checksums& originals) {
  const Checksums loose = loose_files(layout);
  const Checksums archived = archived_files(layout.archives_dir(), read_experiment_id(layout.plan()));
  for (const auto& [name, checksum] : originals) {
    const bool kept = loose.count(name) && loose.at(name) == checksum;
    const bool packed = archived.count(name) && archived.at(name) == checksum;
    if (!kept && !packed) FAIL_CHECK(name << " was lost");
  }
}

int run_gridfold(const std::string& arguments, const fs::path& output) {
  const std::string command = fmt::format("{} {} > {} 2>&1", kGridfold.string(), arguments, output.string());
  INFO(command);
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void age(const fs::path& file, std::chrono::seconds by) {
  fs::last_write_time(file, fs::file_time_type::clock::now() - by);
}

}  // namespace

TEST_CASE("pack moves complete results and settled logs into a verified archive, then removes them", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const fs::path incomplete = e.layout().result(e.plan().configs[0].id, 9, -1);
  std::ofstream(incomplete) << "a result whose writer died";
  std::ofstream(e.layout().result(e.plan().configs[0].id, 0, -1).parent_path() / ".tmp-outer000.h5.host.1") << "x";
  fs::create_directories(e.layout().logs_dir());
  std::ofstream(e.layout().logs_dir() / "7_0.out") << "epoch 1 loss 0.5\n";
  age(e.layout().logs_dir() / "7_0.out", std::chrono::hours(2));
  std::ofstream(e.layout().logs_dir() / "8_0.out") << "still running\n";
  Checksums originals = loose_files(e.layout());
  originals.erase(incomplete.lexically_relative(e.layout().root()).generic_string());
  originals.erase("logs/8_0.out");

  const PackSummary s = pack_experiment(options_for(e));
  CHECK(s.results == 36);
  CHECK(s.logs == 1);
  CHECK(s.incomplete_results == 1);
  CHECK(s.recent_logs == 1);
  CHECK(s.originals_removed == 37);
  REQUIRE(s.archives.size() == 1);
  CHECK(s.archives[0].file.filename() == archive_name(e, 1));
  CHECK(s.archives[0].members == 37);
  CHECK(archived_files(e) == originals);
  const Checksums left = loose_files(e.layout());
  CHECK(left.size() == 2);
  CHECK(left.count("logs/8_0.out"));
  CHECK(fs::exists(incomplete));
  CHECK(list_debris(archive_dir(e), e.plan().experiment_id).empty());
}

TEST_CASE("a result copy cut short stays in place as incomplete, and is packed once it is whole", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  const fs::path result = e.write_result(0);
  const std::uint64_t whole = checksum_of(result);
  const auto size = fs::file_size(result);
  fs::resize_file(result, size - 100);

  const PackSummary cut = pack_experiment(options_for(e));
  CHECK(cut.incomplete_results == 1);
  CHECK(cut.results == 0);
  CHECK(cut.archives.empty());
  CHECK(fs::file_size(result) == size - 100);

  e.write_result(0);
  const PackSummary again = pack_experiment(options_for(e));
  CHECK(again.incomplete_results == 0);
  CHECK(again.results == 1);
  CHECK(archived_files(e).at(result.lexically_relative(e.layout().root()).generic_string()) == whole);
  CHECK_FALSE(fs::exists(result));
}

TEST_CASE("a later pack archives only what is not archived yet", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  for (std::size_t t = 0; t < 12; ++t) e.write_result(t);
  CHECK(pack_experiment(options_for(e)).results == 12);
  for (std::size_t t = 12; t < e.plan().tasks.size(); ++t) e.write_result(t);
  const Checksums originals = loose_files(e.layout());

  const PackSummary second = pack_experiment(options_for(e));
  REQUIRE(second.archives.size() == 1);
  CHECK(second.archives[0].file.filename() == archive_name(e, 2));
  CHECK(second.archives[0].members == 24);
  const auto archives = list_archives(archive_dir(e), e.plan().experiment_id);
  REQUIRE(archives.size() == 2);
  std::set<std::string> names;
  for (const auto& a : archives) {
    for (const auto& m : a.index.members) CHECK(names.insert(m.name).second);
  }
  CHECK(names.size() == 36);
  CHECK(pack_experiment(options_for(e)).archives.empty());
  for (const auto& [name, checksum] : originals) CHECK(archived_files(e).at(name) == checksum);
}

TEST_CASE("pack --keep archives without removing; the next pack removes the copies without archiving them again",
          "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  PackOptions keep = options_for(e);
  keep.keep_originals = true;
  const PackSummary first = pack_experiment(keep);
  CHECK(first.results == 36);
  CHECK(first.originals_removed == 0);
  CHECK(loose_files(e.layout()).size() == 36);

  const PackSummary second = pack_experiment(options_for(e));
  CHECK(second.archives.empty());
  CHECK(second.already_archived == 36);
  CHECK(second.originals_removed == 36);
  CHECK(loose_files(e.layout()).empty());
}

TEST_CASE("a result rewritten after packing is archived again", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  PackOptions keep = options_for(e);
  keep.keep_originals = true;
  pack_experiment(keep);
  const fs::path rewritten = e.write_result(5, 1.0);

  const PackSummary s = pack_experiment(options_for(e));
  REQUIRE(s.archives.size() == 1);
  CHECK(s.archives[0].members == 1);
  CHECK(s.already_archived == 35);
  const auto archives = list_archives(archive_dir(e), e.plan().experiment_id);
  REQUIRE(archives.size() == 2);
  CHECK(archives[1].index.members[0].name == rewritten.lexically_relative(e.layout().root()).generic_string());
}

TEST_CASE("archives are split by the size target and GNU tar reads each", "[pack][tar]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 400);
  e.write_all_results();
  const Checksums originals = loose_files(e.layout());
  PackOptions o = options_for(e);
  o.archive_size_bytes = 16 * 1024;
  o.frame_size = 16 * 1024;
  const PackSummary s = pack_experiment(o);
  CHECK(s.archives.size() >= 3);
  CHECK(archived_files(e) == originals);
  std::size_t listed = 0;
  for (const PackedArchive& a : s.archives) {
    const std::string command = fmt::format("tar --zstd -tf {} > {}", a.file.string(), (dir / "list").string());
    REQUIRE(std::system(command.c_str()) == 0);
    std::istringstream list(read_text_file(dir / "list"));
    for (std::string line; std::getline(list, line);) listed += originals.count(line);
  }
  CHECK(listed == originals.size());
}

TEST_CASE("output.archive puts the archives under <archive>/<experiment name>-<experiment id>", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec + fmt::format("output: {{archive: {}}}\n", (dir / "store").string()), 40);
  e.write_all_results();
  const PackSummary s = pack_experiment(options_for(e));
  const fs::path expected = dir / "store" / ("packed-" + e.plan().experiment_id);
  CHECK(s.archive_dir == expected);
  REQUIRE(s.archives.size() == 1);
  CHECK(fs::exists(expected / (archive_name(e, 1) + ".index.tsv")));
  CHECK_FALSE(fs::exists(e.layout().archives_dir()));
}

TEST_CASE("a second packer on the same archives is refused with a clear message", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const PackLock held(archive_dir(e), false);
  CHECK(fs::exists(archive_dir(e) / ".pack.lock"));
  CHECK_THROWS_AS(pack_experiment(options_for(e)), PackBusy);
  CHECK(run_gridfold("pack " + e.layout().root().string(), dir / "out") == 6);
  CHECK_THAT(read_text_file(dir / "out"), Catch::Contains("another gridfold pack is running"));
  CHECK(loose_files(e.layout()).size() == 36);
}

TEST_CASE("an archive that fails verification is discarded and every original stays", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const Checksums originals = loose_files(e.layout());
  PackOptions o = options_for(e);
  o.before_verification = [](const fs::path& archive) {
    std::fstream f(archive, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(archive) / 2));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(fs::file_size(archive) / 2));
    f.put(static_cast<char>(c ^ 0x01));
  };
  CHECK_THROWS_WITH(pack_experiment(o), Catch::Contains("verification of " + archive_name(e, 1) + " failed") &&
                                            Catch::Contains("every original kept"));
  CHECK(loose_files(e.layout()) == originals);
  CHECK(list_archives(archive_dir(e), e.plan().experiment_id).empty());
  CHECK(fs::is_empty(archive_dir(e)));

  CHECK(pack_experiment(options_for(e)).results == 36);
  CHECK(archived_files(e) == originals);
}

TEST_CASE("files left by an interrupted pack are removed and their results packed", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  fs::create_directories(archive_dir(e));
  std::ofstream(archive_dir(e) / archive_name(e, 1)) << "renamed before its index was";
  std::ofstream(archive_dir(e) / (".tmp-" + archive_name(e, 2) + ".host.99")) << "half written";
  const PackSummary s = pack_experiment(options_for(e));
  CHECK(s.debris_removed == 2);
  REQUIRE(s.archives.size() == 1);
  CHECK(s.archives[0].members == 36);
  CHECK(list_debris(archive_dir(e), e.plan().experiment_id).empty());
  CHECK(archived_files(e).size() == 36);
}

TEST_CASE("pack --json reports what it archived", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  REQUIRE(run_gridfold("pack --json " + e.layout().root().string(), dir / "out.json") == 0);
  const auto j = nlohmann::json::parse(read_text_file(dir / "out.json"));
  CHECK(j["results"] == 36);
  CHECK(j["originals_removed"] == 36);
  CHECK(j["compression"] == "zstd");
  REQUIRE(j["archives"].size() == 1);
  CHECK(j["archives"][0]["members"] == 36);
}

TEST_CASE("kill -9 at any moment of a pack loses nothing and a rerun completes it", "[pack][crash]") {
  // Thousands of files are created and removed per round; tmpfs keeps that fast, and kill -9
  // tests the order of operations, which does not depend on the file system.
  const fs::path scratch = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path root = scratch / fmt::format("gridfold-kill-test-{}", getpid());
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{root};
  const std::string spec = R"(name: killed
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [)" + [] {
    std::string values;
    for (int i = 0; i < 60; ++i) values += fmt::format("{}{}", i ? ", " : "", 0.001 * (i + 1));
    return values;
  }() + R"(]
resampling:
  outer: {kfold: {k: 50}}
)";
  const TestExperiment pristine(root / "pristine", spec, 200);
  // A few real results copied under every task's name: pack checks completeness, not content.
  std::vector<fs::path> originals_written;
  for (std::size_t t = 0; t < 8; ++t) originals_written.push_back(pristine.write_result(t));
  for (std::size_t t = 8; t < pristine.plan().tasks.size(); ++t) {
    const Task& task = pristine.plan().tasks[t];
    const fs::path to = pristine.layout().result(pristine.plan().configs[task.config].id, task.outer_fold, -1);
    fs::create_directories(to.parent_path());
    fs::copy_file(originals_written[t % 8], to);
  }
  const Checksums originals = loose_files(pristine.layout());
  REQUIRE(originals.size() == 3000);

  const auto fresh_copy = [&](const fs::path& to) {
    fs::remove_all(to);
    fs::copy(root / "pristine", to, fs::copy_options::recursive);
  };
  const auto start_pack = [&](const fs::path& experiment) {
    const pid_t pid = fork();
    if (pid == 0) {
      // dup2, not freopen: freopen would flush the test runner's buffered output a second time.
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execl(kGridfold.c_str(), "gridfold", "pack", experiment.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  };

  fresh_copy(root / "timed");
  const auto started = std::chrono::steady_clock::now();
  int status = 0;
  waitpid(start_pack(root / "timed"), &status, 0);
  const double full_run = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  std::mt19937 rng(2024);
  for (const double fraction : {0.02, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9}) {
    const fs::path work = root / "work";
    fresh_copy(work);
    const double delay = full_run * (fraction + std::uniform_real_distribution<double>(0, 0.1)(rng));
    INFO("killed after " << delay << " s of a " << full_run << " s pack");
    const pid_t pid = start_pack(work);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);

    const ExperimentLayout layout(work);
    check_nothing_lost(layout, originals);
    // Under a final name there is only ever a whole archive: committed ones were read back in
    // full above; one renamed just before its index must still be a complete tar.
    const auto archive_files =
        fs::exists(layout.archives_dir()) ? fs::directory_iterator(layout.archives_dir()) : fs::directory_iterator();
    for (const auto& f : archive_files) {
      const std::string name = f.path().filename().string();
      if (!name.starts_with("pack-") || name.ends_with(".index.tsv") || fs::exists(index_path_for(f.path()))) continue;
      const std::string command = fmt::format("tar --zstd -tf {} > /dev/null 2>&1", f.path().string());
      CHECK(std::system(command.c_str()) == 0);
    }

    waitpid(start_pack(work), &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(loose_files(layout).empty());
    CHECK(archived_files(layout.archives_dir(), pristine.plan().experiment_id) == originals);
    CHECK(list_debris(layout.archives_dir(), pristine.plan().experiment_id).empty());
    CHECK_FALSE(fs::exists(layout.archives_dir() / ".pack.lock"));
    CHECK_FALSE(fs::exists(layout.root() / ".pack-trash"));
  }
}

TEST_CASE("a full disk fails the pack cleanly and a rerun with space completes it", "[pack][disk]") {
  TempDir dir;
  const fs::path mount_point = dir / "small";
  fs::create_directories(mount_point);
  if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=2m") != 0) {
    WARN("skipped: cannot mount a tmpfs here (" << std::strerror(errno) << "); needs root");
    return;
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};

  const TestExperiment e(mount_point / "exp", R"(name: full
data: {path: d.csv, targets: [y]}
grid:
  training.lr: [0.1, 0.01, 0.001]
resampling:
  outer: {kfold: {k: 4}}
  inner: {kfold: {k: 2}}
output: {compression: none}
)",
                         3000);
  e.write_all_results();
  const Checksums originals = loose_files(e.layout());
  // Leave less free space than the uncompressed archive needs.
  std::uintmax_t used = 0;
  for (const auto& f : fs::recursive_directory_iterator(mount_point)) {
    if (f.is_regular_file()) used += f.file_size();
  }
  const std::string tight = fmt::format("size={}k", (used + used / 2) / 1024 + 64);
  REQUIRE(::mount("tmpfs", mount_point.c_str(), "tmpfs", MS_REMOUNT, tight.c_str()) == 0);

  CHECK_THROWS_WITH(pack_experiment(options_for(e)), Catch::Contains("No space left on device"));
  CHECK(loose_files(e.layout()) == originals);
  CHECK(list_archives(archive_dir(e), e.plan().experiment_id).empty());
  CHECK(fs::is_empty(archive_dir(e)));

  REQUIRE(::mount("tmpfs", mount_point.c_str(), "tmpfs", MS_REMOUNT, "size=16m") == 0);
  CHECK(pack_experiment(options_for(e)).results == 36);
  CHECK(loose_files(e.layout()).empty());
  CHECK(archived_files(e) == originals);
}

TEST_CASE("two experiments of one name sharing output.archive never count each other's results", "[pack]") {
  TempDir dir;
  // One spec planned into two directories, as `gridfold plan spec.yaml --out a` and `--out b` do.
  const std::string spec = kSpec + fmt::format("output: {{archive: {}}}\n", (dir / "store").string());
  const TestExperiment first(dir / "a", spec, 40), second(dir / "b", spec, 40);
  CHECK(first.plan().experiment_id != second.plan().experiment_id);
  first.write_all_results();
  pack_experiment(options_for(first));
  second.write_result(0);
  pack_experiment(options_for(second));

  const auto done = [](const TestExperiment& e) {
    const std::vector<bool> finished =
        finished_tasks(e.layout(), e.plan(), archive_directory(e.layout(), e.spec())).done;
    return static_cast<std::size_t>(std::count(finished.begin(), finished.end(), true));
  };
  CHECK(done(first) == 36);
  CHECK(done(second) == 1);
  CHECK(archived_files(first).size() == 36);
  CHECK(archived_files(second).size() == 1);
}

TEST_CASE("an archive number another pack claimed meanwhile is never overwritten", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const Checksums originals = loose_files(e.layout());
  // Between this pack choosing number 1 and committing it, another pack (on another node, say)
  // commits its own number 1.
  const fs::path theirs = archive_dir(e) / archive_name(e, 1);
  PackOptions o = options_for(e);
  o.before_verification = [&](const fs::path&) {
    std::ofstream(theirs) << "another pack's archive";
    std::ofstream(index_path_for(theirs)) << "another pack's index";
  };
  const PackSummary s = pack_experiment(o);
  REQUIRE(s.archives.size() == 1);
  CHECK(s.archives[0].file.filename() == archive_name(e, 2));
  CHECK(read_text_file(theirs) == "another pack's archive");
  CHECK(read_text_file(index_path_for(theirs)) == "another pack's index");
  fs::remove(theirs);
  fs::remove(index_path_for(theirs));
  CHECK(archived_files(e) == originals);
}

TEST_CASE("a result renamed into place while pack removes the archived original is kept", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const fs::path rerun = e.layout().result(e.plan().configs[0].id, 0, -1);
  const Checksums originals = loose_files(e.layout());
  PackOptions o = options_for(e);
  o.before_removal = [&](const fs::path& original) {
    if (original == rerun) e.write_result(0, 1.0);  // a rerun task renaming its new result into place
  };
  pack_experiment(o);
  REQUIRE(fs::exists(rerun));
  CHECK(checksum_of(rerun) != originals.at(rerun.lexically_relative(e.layout().root()).generic_string()));
  CHECK(loose_files(e.layout()).size() == 1);
  CHECK(archived_files(e) == originals);
  CHECK_FALSE(fs::exists(e.layout().root() / ".pack-trash"));
}

TEST_CASE("originals an interrupted removal left in the trash are put back, or set aside when replaced", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  const fs::path restored = e.write_result(0), replaced = e.write_result(1);
  const fs::path trash = e.layout().root() / ".pack-trash";
  for (const fs::path& f : {restored, replaced}) {
    fs::create_directories((trash / f.lexically_relative(e.layout().root())).parent_path());
    fs::rename(f, trash / f.lexically_relative(e.layout().root()));
  }
  e.write_result(1, 1.0);  // the task reran meanwhile
  const PackSummary s = pack_experiment(options_for(e));
  CHECK(s.restored_from_trash == 1);
  CHECK(s.set_aside == 1);
  CHECK(s.results == 2);
  CHECK(fs::exists(trash / replaced.lexically_relative(e.layout().root())));
  CHECK_THAT(render_text(s), Catch::Contains(".pack-trash"));
}

namespace {

void write_lock(const fs::path& dir, const std::string& host, long pid, std::int64_t started) {
  fs::create_directories(dir);
  std::ofstream(PackLock::file_in(dir)) << fmt::format("gridfold pack lock\nhost\t{}\npid\t{}\nstarted\t{}\n", host,
                                                       pid, started);
}

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

}  // namespace

TEST_CASE("a pack lock whose holder died on this host is taken over; a live holder's is not", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const std::int64_t now = std::time(nullptr);

  write_lock(archive_dir(e), hostname(), getpid(), now);
  CHECK_THROWS_WITH(pack_experiment(options_for(e)),
                    Catch::Contains(fmt::format("pid {}", getpid())) && Catch::Contains("--break-lock"));
  CHECK(run_gridfold("pack " + e.layout().root().string(), dir / "out") == 6);
  CHECK(loose_files(e.layout()).size() == 36);

  write_lock(archive_dir(e), hostname(), dead_pid(), now);
  CHECK(pack_experiment(options_for(e)).results == 36);
  CHECK_FALSE(fs::exists(PackLock::file_in(archive_dir(e))));
}

TEST_CASE("a pack lock from another host is held until it is stale or broken", "[pack]") {
  TempDir dir;
  const TestExperiment e(dir / "exp", kSpec, 40);
  e.write_all_results();
  const std::int64_t now = std::time(nullptr);
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(kStaleLockAge).count();

  write_lock(archive_dir(e), "login-node-that-is-not-this-one", 1, now - age + 60);
  CHECK_THROWS_AS(pack_experiment(options_for(e)), PackBusy);
  PackOptions broken = options_for(e);
  broken.break_lock = true;
  broken.keep_originals = true;
  CHECK(pack_experiment(broken).results == 36);

  write_lock(archive_dir(e), "login-node-that-is-not-this-one", 1, now - age - 60);
  CHECK(pack_experiment(options_for(e)).originals_removed == 36);
  CHECK_FALSE(fs::exists(PackLock::file_in(archive_dir(e))));
}
