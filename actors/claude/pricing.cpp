#include "actors/claude/pricing.hpp"

namespace cw::actors {

namespace {

constexpr model_prices priced(double input, double output) {
  return {input, output, input * 1.25, input * 0.1};
}

bool has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

} // namespace

model_prices prices_of(std::string_view model) {
  // Anthropic's list prices per million tokens (input, output).
  if (has(model, "haiku"))
    return has(model, "3-5") ? priced(0.80, 4) : priced(1, 5);
  if (has(model, "sonnet"))
    return priced(3, 15);
  if (has(model, "opus") && (has(model, "4-5") || has(model, "4.5")))
    return priced(5, 25);
  return priced(15, 75);
}

double estimate_cost_usd(std::string_view model, const token_usage& usage) {
  auto p = prices_of(model);
  auto cost = static_cast<double>(usage.input_tokens) * p.input
              + static_cast<double>(usage.output_tokens) * p.output
              + static_cast<double>(usage.cache_creation_input_tokens)
                  * p.cache_write
              + static_cast<double>(usage.cache_read_input_tokens)
                  * p.cache_read;
  return cost / 1'000'000;
}

} // namespace cw::actors
