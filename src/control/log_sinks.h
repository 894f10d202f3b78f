// Opens the connection-log destinations of "log" lines as model::LogSink objects.
#pragma once

#include <memory>

#include "common/result.h"
#include "model/log_sink.h"
#include "model/model.h"

namespace fulcrum::control {

// `tag` is the syslog program name ("log-tag"), in syslog sinks' headers.
Result<std::shared_ptr<model::LogSink>> openLogSink(const model::LogTarget& target,
                                                    std::string_view tag = "fulcrum");

// Whether the target's level lets connection logs (severity "info") through.
bool logsConnections(const model::LogTarget& target);

// The syslog facility number of a name ("local0" → 16), or -1.
int syslogFacility(std::string_view name);

}  // namespace fulcrum::control
