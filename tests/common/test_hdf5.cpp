#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>

#include "common/errors.hpp"
#include "common/experiment_layout.hpp"
#include "common/hdf5.hpp"
#include "common/hdf5_settings.hpp"
#include "tests/temp_dir.hpp"

using namespace gridfold;
using gridfold::testing::TempDir;

namespace {

// Sets (or, given nullopt, unsets) an environment variable for one scope.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;
  ~ScopedVariable() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The spec's setting for one scope; the process default (none) afterwards.
class ScopedSpecLocking {
 public:
  explicit ScopedSpecLocking(std::optional<bool> value) { h5::use_spec_file_locking(value); }
  ScopedSpecLocking(const ScopedSpecLocking&) = delete;
  ScopedSpecLocking& operator=(const ScopedSpecLocking&) = delete;
  ~ScopedSpecLocking() { h5::use_spec_file_locking(std::nullopt); }
};

// Holds an exclusive flock on a file, as another process writing it would.
class HeldLock {
 public:
  explicit HeldLock(const std::filesystem::path& file) : fd_(::open(file.c_str(), O_RDWR | O_CLOEXEC)) {
    REQUIRE(fd_ >= 0);
    REQUIRE(::flock(fd_, LOCK_EX | LOCK_NB) == 0);
  }
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;
  ~HeldLock() { ::close(fd_); }

 private:
  int fd_;
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("opening a file that is not HDF5 is bad input naming HDF5's own reason", "[hdf5]") {
  TempDir dir;
  std::ofstream(dir / "table.csv") << "sequence,dG\nACGT,1\n";
  CHECK_THROWS_AS(h5::File::open_read(dir / "table.csv"), h5::Error);
  const std::string message = message_of([&] { h5::File::open_read(dir / "table.csv"); });
  CHECK_THAT(message, Catch::StartsWith("cannot open HDF5 file " + (dir / "table.csv").string()));
  CHECK_THAT(message, Catch::Contains("file signature not found"));
  try {
    h5::File::open_read(dir / "table.csv");
  } catch (const Error& e) {
    CHECK(e.exit_code() == kExitBadInput);
  }
}

TEST_CASE("creating an HDF5 file that cannot be written is an I/O error (exit 5) with HDF5's reason", "[hdf5]") {
  TempDir dir;
  const auto file = dir / "missing" / "result.h5";
  CHECK_THROWS_AS(h5::File::create(file), h5::WriteError);
  CHECK_THROWS_AS(h5::File::create(file), IoError);
  const std::string message = message_of([&] { h5::File::create(file); });
  CHECK_THAT(message, Catch::StartsWith("cannot create HDF5 file " + file.string()));
  CHECK_THAT(message, Catch::Contains("No such file or directory"));
  try {
    h5::File::create(file);
  } catch (const Error& e) {
    CHECK(e.exit_code() == kExitInternal);
  }
}

TEST_CASE("error_stack is empty when no HDF5 call failed", "[hdf5]") {
  TempDir dir;
  h5::File file = h5::File::create(dir / "ok.h5");
  file.close();
  CHECK(h5::error_stack().empty());
}

TEST_CASE("close() ends the file even while one of its groups is still open", "[hdf5]") {
  TempDir dir;
  h5::File file = h5::File::create(dir / "r.h5");
  const h5::Node group = file.create_group("metrics");
  group.set_attr("r2", 0.5);
  file.close();
  // A file still open for writing in this process could not be opened again.
  const h5::File reread = h5::File::open_read(dir / "r.h5");
  CHECK(reread.group("metrics").attr_double("r2") == 0.5);
}

TEST_CASE("the spec's hdf5_file_locking reaches every file HDF5 opens and creates", "[hdf5]") {
  TempDir dir;
  const ScopedVariable hdf5_own("HDF5_USE_FILE_LOCKING", std::nullopt);
  const ScopedVariable gridfold_own("GRIDFOLD_HDF5_FILE_LOCKING", std::nullopt);
  for (const char* name : {"plan.h5", "result.h5"}) {
    h5::File file = h5::File::create(dir / name);
    file.close();
  }
  const HeldLock plan_lock(dir / "plan.h5");
  const HeldLock result_lock(dir / "result.h5");
  // HDF5's default locks, and the message names the refused lock.
  CHECK_THAT(message_of([&] { h5::File::open_read(dir / "plan.h5"); }),
             Catch::Contains("unable to lock file, errno = 11"));
  CHECK_THROWS_AS(h5::File::create(dir / "result.h5"), h5::WriteError);

  const ScopedSpecLocking off(false);
  const h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  h5::apply_file_locking(fapl.id());
  hbool_t use = true, ignore = true;
  REQUIRE(H5Pget_file_locking(fapl.id(), &use, &ignore) >= 0);
  CHECK_FALSE(use);
  CHECK_NOTHROW(h5::File::open_read(dir / "plan.h5"));
  CHECK_NOTHROW(h5::File::create(dir / "result.h5").close());
}

TEST_CASE("the environment overrides the spec's file locking, HDF5's own variable first", "[hdf5]") {
  const ScopedSpecLocking spec_off(false);
  {
    const ScopedVariable hdf5_own("HDF5_USE_FILE_LOCKING", std::nullopt);
    const ScopedVariable gridfold_own("GRIDFOLD_HDF5_FILE_LOCKING", "true");
    CHECK(h5::file_locking() == h5::FileLocking{true, false});
  }
  {
    const ScopedVariable hdf5_own("HDF5_USE_FILE_LOCKING", "FALSE");
    const ScopedVariable gridfold_own("GRIDFOLD_HDF5_FILE_LOCKING", "true");
    CHECK(h5::file_locking() == h5::FileLocking{false, false});
  }
  {
    const ScopedVariable hdf5_own("HDF5_USE_FILE_LOCKING", "BEST_EFFORT");
    CHECK(h5::file_locking() == h5::FileLocking{true, true});
  }
  {
    const ScopedVariable hdf5_own("HDF5_USE_FILE_LOCKING", std::nullopt);
    const ScopedVariable gridfold_own("GRIDFOLD_HDF5_FILE_LOCKING", "sometimes");
    CHECK_THROWS_AS(h5::file_locking(), BadInputError);
    CHECK_THAT(message_of([] { h5::file_locking(); }),
               Catch::Contains("GRIDFOLD_HDF5_FILE_LOCKING='sometimes' is not valid"));
  }
}

TEST_CASE("an experiment's frozen spec chooses the file locking of the files opened after it", "[hdf5]") {
  TempDir dir;
  const ScopedVariable hdf5_own("HDF5_USE_FILE_LOCKING", std::nullopt);
  const ScopedVariable gridfold_own("GRIDFOLD_HDF5_FILE_LOCKING", std::nullopt);
  const ScopedSpecLocking reset_afterwards(std::nullopt);
  std::ofstream(dir / "spec.yaml") << "name: e\n"
                                      "data: {path: d.csv, targets: [y]}\n"
                                      "resampling: {outer: {kfold: {k: 2}}}\n"
                                      "output: {hdf5_file_locking: false}\n";
  use_experiment_hdf5_settings(ExperimentLayout(dir.path()));
  CHECK(h5::file_locking() == h5::FileLocking{false, false});
}
