// at(v, i): indexing a vector with the int indices the model uses (-1 meaning "none" is
// checked by callers before indexing).
#pragma once

#include <cstddef>
#include <vector>

namespace fulcrum {

template <typename T>
T& at(std::vector<T>& v, int i) {
  return v[static_cast<size_t>(i)];
}

template <typename T>
const T& at(const std::vector<T>& v, int i) {
  return v[static_cast<size_t>(i)];
}

}  // namespace fulcrum
