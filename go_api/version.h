// racert's version, printed with GORACE=verbosity=1 and by the racert tool.
#pragma once

namespace racert::go_api {
inline constexpr const char* kRacertVersion = "0.1.0";
}  // namespace racert::go_api
