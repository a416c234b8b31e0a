#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "common/config_text.hpp"
#include "common/spec.hpp"
#include "common/training_diagnostics.hpp"

using namespace gridfold;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Validation losses, training losses and gradient norms of a constructed training.
struct Series {
  std::vector<double> train, validation, gradient, weight;
  RuleInputs inputs(bool validation_split = true) const {
    return {train, validation, gradient, weight, validation_split};
  }
};

Series flat(std::size_t n) {
  return {std::vector<double>(n, 1.0), std::vector<double>(n, 1.0), std::vector<double>(n, 0.5),
          std::vector<double>(n, 10.0)};
}

// Every firing over the whole series, as the trainer collects them validation by validation.
std::vector<RuleFiring> all_firings(const DiagnosticsSpec& spec, const Series& s, bool validation_split = true) {
  std::vector<RuleFiring> out;
  for (std::size_t i = 0; i < s.train.size(); ++i) {
    for (const RuleFiring& f :
         rules_firing_at(spec, s.inputs(validation_split), i, static_cast<std::int64_t>(i) + 1, 10 * (i + 1))) {
      out.push_back(f);
    }
  }
  return out;
}

// Only `rule` enabled, with its default settings.
DiagnosticsSpec only(DiagnosticRule rule, RuleAction action = RuleAction::record) {
  DiagnosticsSpec spec;
  for (DiagnosticRule r : kDiagnosticRules) spec.setting(r).action = r == rule ? action : RuleAction::off;
  return spec;
}

std::vector<double> decreasing(std::size_t n, double from = 1.0) {
  std::vector<double> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(from / static_cast<double>(i + 1));
  return v;
}

}  // namespace

TEST_CASE("the default rules are those an ML user expects", "[unit][diagnostics]") {
  const DiagnosticsSpec spec;
  CHECK(spec.enabled);
  CHECK(spec.vanishing_gradient.threshold == 1e-7);
  CHECK(spec.exploding_gradient.threshold == 1e3);
  CHECK(spec.loss_not_decreasing.patience == 5);
  CHECK(spec.overfitting.patience == 5);
  for (DiagnosticRule rule : kDiagnosticRules) CHECK(spec.action(rule) == RuleAction::record);
}

TEST_CASE("a healthy training fires no rule", "[unit][diagnostics]") {
  Series s = flat(20);
  s.train = decreasing(20);
  s.validation = decreasing(20, 2.0);
  CHECK(all_firings(DiagnosticsSpec{}, s).empty());
}

TEST_CASE("vanishing_gradient fires once when the gradient norm falls below its threshold", "[unit][diagnostics]") {
  Series s = flat(6);
  s.train = s.validation = decreasing(6);
  s.gradient = {1e-3, 1e-6, 1e-8, 1e-9, 1e-3, 1e-8};
  const auto firings = all_firings(only(DiagnosticRule::vanishing_gradient), s);
  REQUIRE(firings.size() == 2);  // one per episode below the threshold
  CHECK(firings[0].validation == 2);
  CHECK(firings[0].value == 1e-8);
  CHECK(firings[0].epoch == 3);
  CHECK(firings[0].step == 30);
  CHECK(firings[1].validation == 5);
}

TEST_CASE("exploding_gradient fires above its threshold, which the spec can move", "[unit][diagnostics]") {
  Series s = flat(4);
  s.train = s.validation = decreasing(4);
  s.gradient = {10, 500, 2000, 5};
  DiagnosticsSpec spec = only(DiagnosticRule::exploding_gradient, RuleAction::stop);
  auto firings = all_firings(spec, s);
  REQUIRE(firings.size() == 1);
  CHECK(firings[0].rule == DiagnosticRule::exploding_gradient);
  CHECK(firings[0].validation == 2);
  CHECK(firings[0].action == RuleAction::stop);
  spec.exploding_gradient.threshold = 100;
  firings = all_firings(spec, s);
  REQUIRE(firings.size() == 1);
  CHECK(firings[0].validation == 1);
}

TEST_CASE("loss_not_decreasing fires after `patience` validations without a new best training loss",
          "[unit][diagnostics]") {
  Series s = flat(9);
  s.validation = decreasing(9);
  s.train = {1.0, 0.9, 0.8, 0.85, 0.81, 0.9, 0.82, 0.7, 0.75};
  DiagnosticsSpec spec = only(DiagnosticRule::loss_not_decreasing);
  CHECK(all_firings(spec, s).empty());  // 4 validations since the best at index 2: below 5
  spec.loss_not_decreasing.patience = 3;
  const auto firings = all_firings(spec, s);
  REQUIRE(firings.size() == 1);
  CHECK(firings[0].validation == 5);
  CHECK(firings[0].value == 3);
}

TEST_CASE("overfitting fires when the validation loss stalls while the training loss falls", "[unit][diagnostics]") {
  Series s = flat(8);
  s.train = decreasing(8);
  s.validation = {1.0, 0.8, 0.7, 0.75, 0.8, 0.9, 1.0, 1.1};
  DiagnosticsSpec spec = only(DiagnosticRule::overfitting);
  spec.overfitting.patience = 3;
  auto firings = all_firings(spec, s);
  REQUIRE(firings.size() == 1);
  CHECK(firings[0].rule == DiagnosticRule::overfitting);
  CHECK(firings[0].validation == 5);

  SECTION("not while the training loss stalls too") {
    s.train = {1.0, 0.8, 0.7, 0.75, 0.8, 0.9, 1.0, 1.1};
    CHECK(all_firings(spec, s).empty());
  }
  SECTION("not without a validation split") {
    s.validation.assign(8, kNaN);
    CHECK(all_firings(spec, s, false).empty());
  }
}

TEST_CASE("non_finite fires on a NaN or infinite loss, gradient norm or weight norm", "[unit][diagnostics]") {
  const DiagnosticsSpec spec = only(DiagnosticRule::non_finite, RuleAction::stop);
  for (int which = 0; which < 4; ++which) {
    Series s = flat(3);
    std::vector<double>* series[] = {&s.train, &s.validation, &s.gradient, &s.weight};
    (*series[which])[1] = which % 2 ? kNaN : std::numeric_limits<double>::infinity();
    const auto firings = all_firings(spec, s);
    REQUIRE(firings.size() == 1);
    CHECK(firings[0].validation == 1);
    CHECK_FALSE(std::isfinite(firings[0].value));
  }
  SECTION("a NaN validation loss without a validation split is no firing") {
    Series s = flat(3);
    s.validation.assign(3, kNaN);
    CHECK(all_firings(spec, s, false).empty());
  }
}

TEST_CASE("a rule set off, or diagnostics disabled, never fires", "[unit][diagnostics]") {
  Series s = flat(3);
  s.gradient = {1e-9, 1e-9, 1e9};
  DiagnosticsSpec spec;
  spec.vanishing_gradient.action = RuleAction::off;
  const auto firings = all_firings(spec, s);
  REQUIRE(firings.size() == 1);
  CHECK(firings[0].rule == DiagnosticRule::exploding_gradient);
  spec.enabled = false;
  CHECK(all_firings(spec, s).empty());
}

TEST_CASE("the stopping rule of a training is the firing with action stop", "[unit][diagnostics]") {
  TrainingDiagnostics d;
  CHECK_FALSE(d.stopped_by());
  d.firings.push_back({DiagnosticRule::overfitting, 3, 2, 30, 5, RuleAction::record});
  CHECK_FALSE(d.stopped_by());
  d.firings.push_back({DiagnosticRule::exploding_gradient, 4, 3, 40, 5e3, RuleAction::stop});
  CHECK(d.stopped_by() == DiagnosticRule::exploding_gradient);
  CHECK(diagnostic_rule_named("overfitting") == DiagnosticRule::overfitting);
  CHECK_FALSE(diagnostic_rule_named("bogus"));
}

namespace {

const std::string kSpec = R"(name: d
data:
  path: data.csv
  targets: [y]
resampling:
  outer: {kfold: {k: 2}}
)";

SpecDocument parse(const std::string& text) {
  return SpecDocument::parse(text, "exp.yaml", "/base");
}

}  // namespace

TEST_CASE("the diagnostics section sets each rule's action and threshold or patience", "[unit][diagnostics][spec]") {
  const SpecDocument doc = parse(kSpec + R"(diagnostics:
  vanishing_gradient: {threshold: 1.0e-9}
  exploding_gradient: {threshold: 50, action: stop}
  loss_not_decreasing: {patience: 8, action: off}
  overfitting: {patience: 3}
  non_finite: {action: stop}
)");
  const DiagnosticsSpec& d = doc.base().diagnostics;
  CHECK(d.vanishing_gradient.threshold == 1e-9);
  CHECK(d.vanishing_gradient.action == RuleAction::record);
  CHECK(d.exploding_gradient.threshold == 50);
  CHECK(d.exploding_gradient.action == RuleAction::stop);
  CHECK(d.loss_not_decreasing.action == RuleAction::off);
  CHECK(d.loss_not_decreasing.patience == 8);
  CHECK(d.overfitting.patience == 3);
  CHECK(d.non_finite.action == RuleAction::stop);
  CHECK_FALSE(parse(kSpec + "diagnostics: {enabled: false}\n").base().diagnostics.enabled);
}

TEST_CASE("bad diagnostics settings name line:column, the value and what is valid", "[unit][diagnostics][spec]") {
  const auto message = [](const std::string& section) {
    try {
      parse(kSpec + section);
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message("diagnostics:\n  overfitting: {action: halt}\n"), Catch::Contains("exp.yaml:8:25") &&
                                                                           Catch::Contains("'halt'") &&
                                                                           Catch::Contains("one of record, stop, off"));
  CHECK_THAT(message("diagnostics:\n  overfitting: {patience: 0}\n"),
             Catch::Contains("exp.yaml:8:27") && Catch::Contains("'0'"));
  CHECK_THAT(message("diagnostics:\n  exploding_gradient: {threshold: -1}\n"),
             Catch::Contains("exp.yaml:8:35") && Catch::Contains("'-1'"));
  // A rule without a threshold rejects one as an unknown key.
  CHECK_THAT(message("diagnostics:\n  non_finite: {threshold: 3}\n"),
             Catch::Contains("exp.yaml:8") && Catch::Contains("threshold"));
  CHECK_THAT(message("diagnostics:\n  vanishing_gradients: {threshold: 3}\n"),
             Catch::Contains("exp.yaml:8") && Catch::Contains("vanishing_gradient"));
  CHECK_THAT(message("diagnostics:\n  vanishing_gradient: {threshold: 2000}\n"),
             Catch::Contains("exp.yaml:8:3") && Catch::Contains("not below exploding_gradient.threshold 1000"));
}

TEST_CASE("only stopping rules change the config text, and so config ids and fingerprints",
          "[unit][diagnostics][spec]") {
  const std::string plain = canonical_config(parse(kSpec).base());
  CHECK(plain.find("diagnostics") == std::string::npos);
  CHECK(canonical_config(parse(kSpec + "diagnostics: {overfitting: {patience: 2}, enabled: true}\n").base()) == plain);
  CHECK(canonical_config(parse(kSpec + "diagnostics: {enabled: false}\n").base()) == plain);
  const std::string stopping =
      canonical_config(parse(kSpec + "diagnostics: {exploding_gradient: {action: stop, threshold: 50}}\n").base());
  CHECK(stopping != plain);
  CHECK_THAT(stopping, Catch::Contains("diagnostics.stop={exploding_gradient: {threshold: 50, patience: 0}}"));
  CHECK(canonical_config(parse(kSpec + "diagnostics: {exploding_gradient: {action: stop, threshold: 60}}\n").base()) !=
        stopping);
  // Disabled diagnostics stop nothing, whatever the rules say.
  CHECK(canonical_config(parse(kSpec + "diagnostics: {enabled: false, exploding_gradient: {action: stop}}\n").base()) ==
        plain);
}
