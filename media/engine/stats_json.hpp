// stats_json.hpp — session statistics and events as JSON, one shape for
// the control socket, the test driver and `joincast` output.
#pragma once

#include "media/engine/session_types.hpp"

#include <nlohmann/json.hpp>

namespace joincast::media {

nlohmann::json to_json(const StreamMetadata& metadata);
nlohmann::json to_json(const ReceiverStats& receiver, std::chrono::steady_clock::time_point now);
nlohmann::json to_json(const SessionStats& stats);
nlohmann::json to_json(const SessionEvent& event);

// Reads the fields that are present; unknown keys are ignored.
StreamMetadata metadata_from_json(const nlohmann::json& j);

}  // namespace joincast::media
