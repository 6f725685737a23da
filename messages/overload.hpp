#pragma once

namespace cw {

/// Combines lambdas into one visitor for `std::visit`.
template <class... Fs>
struct overload : Fs... {
  using Fs::operator()...;
};

template <class... Fs>
overload(Fs...) -> overload<Fs...>;

} // namespace cw
