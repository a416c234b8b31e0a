#include "common/training_diagnostics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace gridfold {
namespace {

// Index of the lowest value in values[0..=index], the earliest on ties; nothing when none is finite.
std::optional<std::size_t> best_at_or_before(std::span<const double> values, std::size_t index) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i <= index && i < values.size(); ++i) {
    if (std::isfinite(values[i]) && (!best || values[i] < values[*best])) best = i;
  }
  return best;
}

double at(std::span<const double> values, std::size_t index) {
  return index < values.size() ? values[index] : std::nan("");
}

// Whether `rule`'s condition holds at `index`, and the value it holds with.
std::optional<double> condition(DiagnosticRule rule, const RuleSetting& s, const RuleInputs& in, std::size_t index) {
  switch (rule) {
    case DiagnosticRule::vanishing_gradient: {
      const double norm = at(in.gradient_norm, index);
      if (std::isfinite(norm) && norm < s.threshold) return norm;
      return std::nullopt;
    }
    case DiagnosticRule::exploding_gradient: {
      const double norm = at(in.gradient_norm, index);
      if (std::isfinite(norm) && norm > s.threshold) return norm;
      return std::nullopt;
    }
    case DiagnosticRule::loss_not_decreasing: {
      const auto best = best_at_or_before(in.train_loss, index);
      if (best && index - *best >= static_cast<std::size_t>(s.patience)) return static_cast<double>(index - *best);
      return std::nullopt;
    }
    case DiagnosticRule::overfitting: {
      const auto best = best_at_or_before(in.validation_loss, index);
      if (!best || index - *best < static_cast<std::size_t>(s.patience)) return std::nullopt;
      // The training loss falling while the validation loss does not is what tells
      // overfitting from a training that has merely stalled.
      if (at(in.train_loss, index) < at(in.train_loss, *best)) return static_cast<double>(index - *best);
      return std::nullopt;
    }
    case DiagnosticRule::non_finite: {
      for (std::span<const double> series : {in.train_loss, in.gradient_norm, in.weight_norm}) {
        if (index < series.size() && !std::isfinite(series[index])) return series[index];
      }
      if (in.validation_split && !std::isfinite(at(in.validation_loss, index))) return at(in.validation_loss, index);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

const RuleSetting& DiagnosticsSpec::setting(DiagnosticRule rule) const {
  switch (rule) {
    case DiagnosticRule::vanishing_gradient:
      return vanishing_gradient;
    case DiagnosticRule::exploding_gradient:
      return exploding_gradient;
    case DiagnosticRule::loss_not_decreasing:
      return loss_not_decreasing;
    case DiagnosticRule::overfitting:
      return overfitting;
    case DiagnosticRule::non_finite:
      break;
  }
  return non_finite;
}

RuleSetting& DiagnosticsSpec::setting(DiagnosticRule rule) {
  return const_cast<RuleSetting&>(static_cast<const DiagnosticsSpec&>(*this).setting(rule));
}

RuleAction DiagnosticsSpec::action(DiagnosticRule rule) const {
  return enabled ? setting(rule).action : RuleAction::off;
}

std::string to_string(DiagnosticRule rule) {
  switch (rule) {
    case DiagnosticRule::vanishing_gradient:
      return "vanishing_gradient";
    case DiagnosticRule::exploding_gradient:
      return "exploding_gradient";
    case DiagnosticRule::loss_not_decreasing:
      return "loss_not_decreasing";
    case DiagnosticRule::overfitting:
      return "overfitting";
    case DiagnosticRule::non_finite:
      break;
  }
  return "non_finite";
}

std::string to_string(RuleAction action) {
  switch (action) {
    case RuleAction::off:
      return "off";
    case RuleAction::record:
      return "record";
    case RuleAction::stop:
      break;
  }
  return "stop";
}

std::optional<DiagnosticRule> diagnostic_rule_named(const std::string& name) {
  for (DiagnosticRule rule : kDiagnosticRules) {
    if (to_string(rule) == name) return rule;
  }
  return std::nullopt;
}

std::optional<RuleAction> rule_action_named(const std::string& name) {
  for (RuleAction action : {RuleAction::off, RuleAction::record, RuleAction::stop}) {
    if (to_string(action) == name) return action;
  }
  return std::nullopt;
}

std::string canonical_stop_rules(const DiagnosticsSpec& spec) {
  std::string text;
  for (DiagnosticRule rule : kDiagnosticRules) {
    if (spec.action(rule) != RuleAction::stop) continue;
    const RuleSetting& s = spec.setting(rule);
    text += fmt::format("{}{}: {{threshold: {}, patience: {}}}", text.empty() ? "" : ", ", to_string(rule), s.threshold,
                        s.patience);
  }
  return text;
}

std::optional<DiagnosticRule> TrainingDiagnostics::stopped_by() const {
  for (const RuleFiring& f : firings) {
    if (f.action == RuleAction::stop) return f.rule;
  }
  return std::nullopt;
}

std::vector<RuleFiring> rules_firing_at(const DiagnosticsSpec& spec, const RuleInputs& inputs, std::size_t index,
                                        std::int64_t epoch, std::int64_t step) {
  std::vector<RuleFiring> firings;
  for (DiagnosticRule rule : kDiagnosticRules) {
    const RuleAction action = spec.action(rule);
    if (action == RuleAction::off) continue;
    const RuleSetting& s = spec.setting(rule);
    const std::optional<double> now = condition(rule, s, inputs, index);
    if (!now || (index > 0 && condition(rule, s, inputs, index - 1))) continue;
    firings.push_back({rule, static_cast<std::int64_t>(index), epoch, step, *now, action});
  }
  return firings;
}

}  // namespace gridfold
