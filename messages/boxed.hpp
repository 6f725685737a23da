#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace cw {

/// A `T` that takes the room of one pointer while it is empty (`T::empty()`):
/// for the parts of a record that most records never fill, such as the run
/// report of a task that never ran. Reads see an empty `T` then; `mut`
/// allocates. Copies are deep.
template <class T>
class boxed {
public:
  boxed() noexcept = default;

  boxed(T value) {
    *this = std::move(value);
  }

  boxed(const boxed& other)
    : ptr_(other.ptr_ ? std::make_unique<T>(*other.ptr_) : nullptr) {
  }

  boxed(boxed&&) noexcept = default;

  boxed& operator=(const boxed& other) {
    if (this != &other)
      ptr_ = other.ptr_ ? std::make_unique<T>(*other.ptr_) : nullptr;
    return *this;
  }

  boxed& operator=(boxed&&) noexcept = default;

  /// Stores `value`; an empty one frees the box.
  boxed& operator=(T value) {
    if (value.empty())
      ptr_.reset();
    else if (ptr_)
      *ptr_ = std::move(value);
    else
      ptr_ = std::make_unique<T>(std::move(value));
    return *this;
  }

  const T& operator*() const noexcept {
    return ptr_ ? *ptr_ : empty_value();
  }

  const T* operator->() const noexcept {
    return &**this;
  }

  operator const T&() const noexcept {
    return **this;
  }

  bool empty() const noexcept {
    return !ptr_ || ptr_->empty();
  }

  /// Returns the value to change in place, allocating it.
  T& mut() {
    if (!ptr_)
      ptr_ = std::make_unique<T>();
    return *ptr_;
  }

private:
  static const T& empty_value() noexcept {
    static const T value{};
    return value;
  }

  std::unique_ptr<T> ptr_;
};

/// Inspects the value (an empty `T` when the box is empty): boxed or not,
/// a `T` has the same binary form.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, boxed<T>& x) {
  if constexpr (Inspector::reads_state) {
    // Reading inspectors (serializers, to_string) do not change it.
    return f(const_cast<T&>(*x));
  } else {
    T value;
    if constexpr (std::is_void_v<typename Inspector::result_type>) {
      f(value);
      x = std::move(value);
    } else {
      auto result = f(value);
      x = std::move(value);
      return result;
    }
  }
}

} // namespace cw
