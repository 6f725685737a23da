#pragma once

#include <string_view>

#include "actors/claude/stream_json.hpp"

namespace cw::actors {

/// What one million tokens cost a model, in USD.
struct model_prices {
  double input = 0;
  double output = 0;
  /// Writing the prompt cache (1.25 × input for the 5-minute cache).
  double cache_write = 0;
  /// Reading the prompt cache (0.1 × input).
  double cache_read = 0;
};

/// Returns the list prices of `model` (a full model id such as
/// `claude-sonnet-4-20250514` or an alias such as `opus`): Opus 4 and 4.1,
/// Opus 4.5, Sonnet (3.7 to 4.5), Haiku 3.5 and 4.5. A model it does not
/// know is priced as Opus 4, so that an estimate errs on the high side.
model_prices prices_of(std::string_view model);

/// Returns what `usage` costs on `model`. Used while a run is going: the CLI
/// reports the run's real cost only in its last line.
double estimate_cost_usd(std::string_view model, const token_usage& usage);

} // namespace cw::actors
