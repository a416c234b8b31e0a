#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/text_file.hpp"
#include "common/archive.hpp"
#include "common/archive_catalog.hpp"
#include "common/checksum.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Members of varied kinds: compressible, incompressible, empty, and a name longer than the
// 100 bytes a plain ustar name field holds.
std::map<std::string, std::string> sample_members() {
  std::mt19937 rng(7);
  std::map<std::string, std::string> members;
  for (int i = 0; i < 40; ++i) {
    std::string data(1000 + 997 * i, 'a');
    for (auto& c : data) c = i % 2 ? static_cast<char>(rng()) : static_cast<char>('a' + rng() % 3);
    members[fmt::format("results/cfg{:02d}/outer{:03d}.h5", i % 5, i)] = data;
  }
  members["logs/empty.out"] = "";
  members[std::string("results/") + std::string(120, 'x') + "/outer000.h5"] = "long name";
  return members;
}

ArchiveIndex write_archive(const fs::path& file, Compression compression,
                           const std::map<std::string, std::string>& members, std::size_t frame_size = 16 * 1024) {
  ArchiveWriterOptions options;
  options.compression = compression;
  options.frame_size = frame_size;
  ArchiveWriter writer(file, options);
  for (const auto& [name, data] : members) writer.add(name, bytes_of(data), 1700000000);
  const ArchiveIndex index = writer.finish();
  write_index(index_path_for(file), index);
  return index;
}

int run(const std::string& command) {
  INFO(command);
  return std::system(command.c_str());
}

// Recomputes the checksum of the ustar header at `offset` after its bytes were edited.
void fix_tar_header_checksum(std::string& tar, std::size_t offset) {
  std::fill(tar.begin() + offset + 148, tar.begin() + offset + 156, ' ');
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[offset + i]);
  const std::string field = fmt::format("{:06o}", sum);
  std::copy(field.begin(), field.end(), tar.begin() + offset + 148);
  tar[offset + 154] = '\0';
}

}  // namespace

TEST_CASE("xxh64 matches the reference implementation's values", "[archive]") {
  CHECK(checksum_hex(xxh64({})) == "ef46db3751d8e999");
  CHECK(checksum_hex(xxh64(bytes_of("abc"))) == "44bc2cf5ad770999");
  CHECK(checksum_hex(xxh64(bytes_of("The quick brown fox jumps over the lazy dog"))) == "0b242d361fda71bc");
  std::string long_input;
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < 256; ++i) long_input += static_cast<char>(i);
  }
  long_input += "gridfold";
  CHECK(checksum_hex(xxh64(bytes_of(long_input))) == "e9f365f322c98666");
}

TEST_CASE("an archive returns every member intact, in one pass or one member at a time", "[archive]") {
  const auto members = sample_members();
  for (const Compression compression : {Compression::zstd, Compression::gzip, Compression::none}) {
    TempDir dir;
    const fs::path file = dir / ("a" + archive_extension(compression));
    const ArchiveIndex written = write_archive(file, compression, members);
    const ArchiveIndex index = read_index(index_path_for(file));
    INFO(to_string(compression));
    CHECK(index.compression == compression);
    CHECK(index.frames.size() > 3);
    CHECK(index.frames == written.frames);
    CHECK(index.members == written.members);

    std::map<std::string, std::string> seen;
    read_archive(file, index,
                 [&](const ArchiveMember& m, std::span<const std::byte> data) { seen[m.name] = text_of(data); });
    CHECK(seen == members);

    for (const ArchiveMember& m : index.members) CHECK(text_of(read_member(file, index, m)) == members.at(m.name));

    std::vector<const ArchiveMember*> some{&index.members[3], &index.members[17], &index.members[30]};
    std::vector<std::string> names;
    read_members(file, index, some, [&](const ArchiveMember& m, std::span<const std::byte> data) {
      names.push_back(m.name);
      CHECK(text_of(data) == members.at(m.name));
    });
    CHECK(names == std::vector<std::string>{some[0]->name, some[1]->name, some[2]->name});
  }
}

TEST_CASE("GNU tar lists and extracts every archive", "[archive][tar]") {
  const auto members = sample_members();
  for (const auto& [compression, flag] : std::vector<std::pair<Compression, std::string>>{{Compression::zstd, "--zstd"},
                                                                                          {Compression::gzip, "--gzip"},
                                                                                          {Compression::none, ""}}) {
    TempDir dir;
    const fs::path file = dir / ("a" + archive_extension(compression));
    write_archive(file, compression, members);
    INFO(to_string(compression));
    REQUIRE(run(fmt::format("tar {} -tf {} > {}", flag, file.string(), (dir / "list").string())) == 0);
    std::istringstream list(read_text_file(dir / "list"));
    std::map<std::string, std::string> listed;
    for (std::string line; std::getline(list, line);) listed[line] = members.count(line) ? members.at(line) : "?";
    CHECK(listed == members);

    fs::create_directories(dir / "out");
    REQUIRE(run(fmt::format("tar {} -xf {} -C {}", flag, file.string(), (dir / "out").string())) == 0);
    for (const auto& [name, data] : members) CHECK(read_text_file(dir / "out" / name) == data);
  }
}

TEST_CASE("a flipped byte in an archive is detected by every reader", "[archive]") {
  const auto members = sample_members();
  for (const Compression compression : {Compression::zstd, Compression::none}) {
    TempDir dir;
    const fs::path file = dir / ("a" + archive_extension(compression));
    const ArchiveIndex index = write_archive(file, compression, members);
    const ArchiveFrame& frame = index.frames[1];
    std::string bytes = read_text_file(file);
    bytes[frame.stored_offset + frame.stored_size / 2] ^= 0x20;
    write_text(file, bytes);
    INFO(to_string(compression));
    CHECK_THROWS_AS(read_archive(file, index, [](const ArchiveMember&, std::span<const std::byte>) {}), ArchiveError);
    std::size_t failures = 0;
    for (const ArchiveMember& m : index.members) {
      try {
        read_member(file, index, m);
      } catch (const ArchiveError&) {
        ++failures;
      }
    }
    CHECK(failures >= 1);
  }
}

TEST_CASE("a corrupt member names itself in the error", "[archive]") {
  TempDir dir;
  const fs::path file = dir / "a.tar";
  const ArchiveIndex index =
      write_archive(file, Compression::none, {{"results/c/outer000.h5", std::string(5000, 'q')}});
  std::string bytes = read_text_file(file);
  bytes[index.members[0].offset + 100] = 'Q';
  write_text(file, bytes);
  CHECK_THROWS_WITH(read_archive(file, index, [](const ArchiveMember&, std::span<const std::byte>) {}),
                    Catch::Contains("results/c/outer000.h5 is corrupt"));
}

TEST_CASE("member names with absolute paths or .. components are refused", "[archive][security]") {
  for (const std::string bad : {"/etc/passwd", "../x", "results/../../x", "a//b", "./a", "a/./b", "", "a\nb", "a\tb"}) {
    INFO(bad);
    CHECK_FALSE(is_safe_member_name(bad));
    CHECK_THROWS_AS(check_member_name(bad), ArchiveError);
  }
  CHECK(is_safe_member_name("results/0123abcd/outer003-inner01.h5"));
  CHECK(is_safe_member_name("logs/1234_5.out"));

  TempDir dir;
  ArchiveWriter writer(dir / "w.tar.zst", {});
  CHECK_THROWS_WITH(writer.add("../escape", bytes_of("x"), 0), Catch::Contains("path traversal"));
}

TEST_CASE("an index listing an unsafe name is refused", "[archive][security]") {
  TempDir dir;
  const fs::path file = dir / "a.tar.zst";
  write_archive(file, Compression::zstd, {{"aa/evil", "payload"}});
  const std::string text = read_text_file(index_path_for(file));
  for (const std::string bad : {"../evil", "/tmp/evil"}) {
    std::string edited = text;
    edited.replace(edited.find("aa/evil"), 7, bad);
    write_text(index_path_for(file), edited);
    INFO(bad);
    CHECK_THROWS_AS(read_index(index_path_for(file)), ArchiveError);
  }
}

TEST_CASE("a tar header naming a path outside the archive is refused even when the index is safe",
          "[archive][security]") {
  TempDir dir;
  const fs::path file = dir / "a.tar";
  const ArchiveIndex index = write_archive(file, Compression::none, {{"aa/evil", "payload"}});
  std::string tar = read_text_file(file);
  REQUIRE(tar.compare(0, 7, "aa/evil") == 0);
  tar.replace(0, 7, "../evil");
  fix_tar_header_checksum(tar, 0);
  write_text(file, tar);
  CHECK_THROWS_WITH(read_archive(file, index, [](const ArchiveMember&, std::span<const std::byte>) {}),
                    Catch::Contains("'../evil'") && Catch::Contains("path traversal"));
}

TEST_CASE("a truncated archive or index is an error, not a short read", "[archive]") {
  TempDir dir;
  const fs::path file = dir / "a.tar.zst";
  const ArchiveIndex index = write_archive(file, Compression::zstd, sample_members());
  const std::string index_text = read_text_file(index_path_for(file));
  write_text(index_path_for(file), index_text.substr(0, index_text.size() / 2));
  CHECK_THROWS_AS(read_index(index_path_for(file)), ArchiveError);

  fs::resize_file(file, fs::file_size(file) - 10);
  CHECK_THROWS_WITH(read_archive(file, index, [](const ArchiveMember&, std::span<const std::byte>) {}),
                    Catch::Contains("its index describes"));
}

TEST_CASE("an index whose offsets overflow or whose frame expands impossibly is refused", "[archive]") {
  TempDir dir;
  const fs::path index = dir / "a.tar.zst.index.tsv";
  const std::string head = "gridfold-archive-index\t1\ncompression\tzstd\n";
  const std::string huge = "18446744073709551000";  // 2^64 - 616
  const std::map<std::string, std::string> damaged{
      {"member past 2^64", head + "frame\t0\t4096\t0\t100\nmember\t" + huge +
                               "\t1000\t0000000000000000\tresults/a/outer000.h5\n"
                               "end\t1\t1\n"},
      {"member size wrapping to inside its frame", head + "frame\t0\t4096\t0\t100\nmember\t1000\t" + huge +
                                                       "\t0000000000000000\tresults/a/outer000.h5\n"
                                                       "end\t1\t1\n"},
      {"frame past 2^64", head + "frame\t0\t4096\t0\t100\nframe\t4096\t" + huge + "\t100\t100\nend\t2\t0\n"},
      {"stored frame past 2^64",
       head + "frame\t0\t4096\t0\t" + huge + "\nframe\t4096\t10\t" + huge + "\t100000\nend\t2\t0\n"},
      {"frame claiming a million-fold expansion", head + "frame\t0\t100000000\t0\t100\nend\t1\t0\n"},
  };
  for (const auto& [what, text] : damaged) {
    INFO(what);
    write_text(index, text);
    CHECK_THROWS_AS(read_index(index), ArchiveError);
  }
}

TEST_CASE("concurrent commits into one directory each claim an archive number of their own", "[archive]") {
  TempDir dir;
  const std::string id = "0123456789abcdef";
  // A committed archive the committers must step over, never replace.
  write_text(dir / archive_file_name(id, 2, Compression::zstd), "committed before");
  write_text(index_path_for(dir / archive_file_name(id, 2, Compression::zstd)), "its index");
  constexpr int kCommitters = 8;
  std::vector<CommittedArchive> committed(kCommitters);
  std::vector<std::thread> threads;
  for (int t = 0; t < kCommitters; ++t) {
    const fs::path archive = dir / fmt::format(".tmp-pack-{}-000001.tar.zst.{}", id, t);
    const fs::path index = index_path_for(archive);
    write_text(archive, fmt::format("archive of committer {}", t));
    write_text(index, fmt::format("index of committer {}", t));
    threads.emplace_back([&, t, archive, index] {
      committed[t] = commit_archive(archive, index, dir.path(), id, 1, Compression::zstd);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::uint64_t> numbers;
  for (int t = 0; t < kCommitters; ++t) {
    INFO("committer " << t);
    numbers.insert(committed[t].sequence);
    CHECK(committed[t].archive == dir / archive_file_name(id, committed[t].sequence, Compression::zstd));
    CHECK(read_text_file(committed[t].archive) == fmt::format("archive of committer {}", t));
    CHECK(read_text_file(index_path_for(committed[t].archive)) == fmt::format("index of committer {}", t));
  }
  CHECK(numbers.size() == kCommitters);
  CHECK_FALSE(numbers.contains(2));
  CHECK(read_text_file(dir / archive_file_name(id, 2, Compression::zstd)) == "committed before");
}

TEST_CASE("archive names carry the experiment id and the catalog lists only its own", "[archive]") {
  TempDir dir;
  const ArchiveIndex index = write_archive(dir / archive_file_name("00000000000000aa", 1, Compression::zstd),
                                           Compression::zstd, {{"results/a/outer000.h5", "a"}});
  write_archive(dir / archive_file_name("00000000000000bb", 1, Compression::zstd), Compression::zstd,
                {{"results/b/outer000.h5", "b"}});
  write_archive(dir / archive_file_name("", 3, Compression::zstd), Compression::zstd, {{"results/c/outer000.h5", "c"}});
  CHECK(archive_file_name("00000000000000aa", 1, Compression::zstd) == "pack-00000000000000aa-000001.tar.zst");
  const auto ours = list_archives(dir.path(), "00000000000000aa");
  REQUIRE(ours.size() == 1);
  CHECK(ours[0].index.members == index.members);
  const auto older = list_archives(dir.path(), "");
  REQUIRE(older.size() == 1);
  CHECK(older[0].sequence == 3);
  write_text(dir / ".tmp-pack-00000000000000bb-000002.tar.zst.host.1", "another experiment's pack in progress");
  write_text(dir / ".tmp-pack-00000000000000aa-000002.tar.zst.host.1", "ours, interrupted");
  CHECK(list_debris(dir.path(), "00000000000000aa") ==
        std::vector<fs::path>{dir / ".tmp-pack-00000000000000aa-000002.tar.zst.host.1"});
}
