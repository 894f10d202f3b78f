// PoolLoad lives in the model (model/load.h) so that snapshots can carry it; the
// schedulers know it under this name.
#pragma once

#include "model/load.h"

namespace fulcrum::sched {
using model::PoolLoad;
}  // namespace fulcrum::sched
