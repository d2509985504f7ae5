// A growable array for trivially copyable element types, backed by
// InternalAlloc.
//
// Zero-initialized memory is a valid empty vector (so it can be a member of
// zero-filled runtime structures). Elements are moved with memcpy and new
// slots are zero-filled, which is why T must be trivially copyable. Growth
// doubles the capacity. Pointers into the vector are invalidated by any call
// that grows it. Not thread-safe; callers lock.
#pragma once

#include <type_traits>

#include "base/check.h"
#include "base/internal_alloc.h"
#include "base/types.h"

namespace racert {

template <typename T>
class InternalVector {
  static_assert(std::is_trivially_copyable_v<T>, "InternalVector moves elements with memcpy");

 public:
  constexpr InternalVector() = default;
  ~InternalVector() { Free(); }
  InternalVector(const InternalVector&) = delete;
  InternalVector& operator=(const InternalVector&) = delete;

  uptr size() const { return size_; }
  uptr capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

  T& operator[](uptr i) {
    RACERT_DCHECK(i < size_);
    return data_[i];
  }
  const T& operator[](uptr i) const {
    RACERT_DCHECK(i < size_);
    return data_[i];
  }
  T& back() {
    RACERT_DCHECK(size_ > 0);
    return data_[size_ - 1];
  }
  const T& back() const {
    RACERT_DCHECK(size_ > 0);
    return data_[size_ - 1];
  }

  void push_back(const T& value) {
    if (size_ == capacity_) {
      // `value` may live inside this vector: copy it before reallocating.
      T copy = value;
      Grow(size_ + 1);
      data_[size_++] = copy;
      return;
    }
    data_[size_++] = value;
  }

  void pop_back() {
    RACERT_DCHECK(size_ > 0);
    size_--;
  }

  // Removes all elements; the capacity is kept for reuse.
  void clear() { size_ = 0; }

  // New elements (when growing) are zero-filled.
  void resize(uptr new_size) {
    if (new_size > capacity_) Grow(new_size);
    if (new_size > size_) __builtin_memset(data_ + size_, 0, (new_size - size_) * sizeof(T));
    size_ = new_size;
  }

  void reserve(uptr new_capacity) {
    if (new_capacity > capacity_) Reallocate(new_capacity);
  }

  void Swap(InternalVector& other) {
    T* data = data_;
    uptr size = size_;
    uptr capacity = capacity_;
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = data;
    other.size_ = size;
    other.capacity_ = capacity;
  }

  // Frees the memory; the vector is empty with no capacity afterwards.
  void Reset() {
    Free();
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
  }

 private:
  void Grow(uptr min_capacity) {
    uptr new_capacity = capacity_ == 0 ? InitialCapacity() : capacity_ * 2;
    if (new_capacity < min_capacity) new_capacity = min_capacity;
    Reallocate(new_capacity);
  }

  // At least 64 bytes' worth, so tiny vectors do not reallocate constantly.
  static constexpr uptr InitialCapacity() {
    return sizeof(T) >= 64 ? 1 : 64 / sizeof(T);
  }

  void Reallocate(uptr new_capacity) {
    RACERT_CHECK(new_capacity <= ~uptr{0} / sizeof(T));
    T* new_data = static_cast<T*>(InternalAlloc(new_capacity * sizeof(T)));
    if (size_ > 0) __builtin_memcpy(static_cast<void*>(new_data), data_, size_ * sizeof(T));
    Free();
    data_ = new_data;
    capacity_ = new_capacity;
  }

  void Free() {
    if (data_ != nullptr) InternalFree(data_, capacity_ * sizeof(T));
  }

  T* data_ = nullptr;
  uptr size_ = 0;
  uptr capacity_ = 0;
};

}  // namespace racert
