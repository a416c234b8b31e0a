// Training diagnostics: what the worker measures at every validation (gradient and weight
// norms, update-to-weight ratios, learning rate, dead ReLU share) and the rules that flag a
// bad training from those series (vanishing or exploding gradients, a training loss that stops
// decreasing, overfitting, non-finite values). The rules are pure functions of the series, so
// a task resumed from its checkpoint fires exactly the rules an uninterrupted one would.
// docs/spec.md ("diagnostics") describes the settings, docs/result-schema.md the stored form.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gridfold {

enum class DiagnosticRule { vanishing_gradient, exploding_gradient, loss_not_decreasing, overfitting, non_finite };

// What a rule's firing does: `record` only stores it in the result, `stop` also ends the
// training there (the task keeps its best weights so far and is scored as usual), `off`
// disables the rule.
enum class RuleAction { off, record, stop };

struct RuleSetting {
  RuleAction action = RuleAction::record;
  double threshold = 0;  // vanishing/exploding gradient: global gradient norm bound
  int patience = 0;      // loss_not_decreasing, overfitting: validations
};

// The `diagnostics:` section of a spec.
struct DiagnosticsSpec {
  bool enabled = true;  // false: nothing is measured and no rule fires
  // Fires when the global gradient norm is below the threshold.
  RuleSetting vanishing_gradient{RuleAction::record, 1e-7, 0};
  // Fires when the global gradient norm is above the threshold.
  RuleSetting exploding_gradient{RuleAction::record, 1e3, 0};
  // Fires when the training loss has not gone below its best for `patience` validations.
  RuleSetting loss_not_decreasing{RuleAction::record, 0, 5};
  // Fires when the validation loss has not gone below its best for `patience` validations
  // while the training loss went below its value at that best validation.
  RuleSetting overfitting{RuleAction::record, 0, 5};
  // Fires on a NaN or infinite training or validation loss, gradient norm or weight norm.
  RuleSetting non_finite{RuleAction::record, 0, 0};

  const RuleSetting& setting(DiagnosticRule rule) const;
  RuleSetting& setting(DiagnosticRule rule);
  // The action of `rule`, `off` for every rule when diagnostics are disabled.
  RuleAction action(DiagnosticRule rule) const;
};

inline constexpr DiagnosticRule kDiagnosticRules[] = {DiagnosticRule::vanishing_gradient,
                                                      DiagnosticRule::exploding_gradient,
                                                      DiagnosticRule::loss_not_decreasing, DiagnosticRule::overfitting,
                                                      DiagnosticRule::non_finite};

std::string to_string(DiagnosticRule rule);
std::string to_string(RuleAction action);
// The rule or action a result names; nothing for a name this gridfold does not know.
std::optional<DiagnosticRule> diagnostic_rule_named(const std::string& name);
std::optional<RuleAction> rule_action_named(const std::string& name);

// The rules that stop training, with their thresholds, in canonical text ("" when none): the
// part of the diagnostics settings that changes what a task yields, and so the only part the
// config text (and with it config ids and result fingerprints) includes.
std::string canonical_stop_rules(const DiagnosticsSpec& spec);

// One value per validation, in validation order; the group series are [validation][group]
// matrices over `groups` (a network's layer groups, e.g. "trunk.0", "head"). NaN where a
// value was not measured (dead_relu of a network without ReLUs, an update ratio at a
// validation before any step).
struct DiagnosticSeries {
  std::vector<std::string> groups;
  std::vector<std::int64_t> step;
  std::vector<double> gradient_norm, weight_norm, update_ratio, learning_rate, dead_relu;
  std::vector<float> group_gradient_norm, group_weight_norm, group_update_ratio;
  std::size_t size() const { return step.size(); }
};

// A rule firing at a validation (0-based index into the history), with the value that made it
// fire: the gradient norm, the validations without improvement, or the non-finite value.
struct RuleFiring {
  DiagnosticRule rule = DiagnosticRule::non_finite;
  std::int64_t validation = 0, epoch = 0, step = 0;
  double value = 0;
  RuleAction action = RuleAction::record;
  bool operator==(const RuleFiring&) const = default;
};

// What a task's training recorded; empty when diagnostics were disabled or the result predates them.
struct TrainingDiagnostics {
  DiagnosticSeries series;
  std::vector<RuleFiring> firings;
  bool empty() const { return series.size() == 0 && firings.empty(); }
  // The rule whose `stop` ended the training, if one did.
  std::optional<DiagnosticRule> stopped_by() const;
};

// The series the rules read, one value per validation up to and including the one judged.
struct RuleInputs {
  std::span<const double> train_loss, validation_loss, gradient_norm, weight_norm;
  // Without one, validation_loss is NaN throughout and means nothing (overfitting stays quiet).
  bool validation_split = true;
};

// The firings of the enabled rules at validation `index` of `inputs` (stamped with `epoch`
// and `step`). A rule fires when its condition holds at `index` and did not hold at the
// validation before, so a lasting condition is one firing, and again after it cleared.
std::vector<RuleFiring> rules_firing_at(const DiagnosticsSpec& spec, const RuleInputs& inputs, std::size_t index,
                                        std::int64_t epoch, std::int64_t step);

}  // namespace gridfold
