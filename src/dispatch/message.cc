#include <boost/json/serialize.hpp>

#include "common/clock.h"
#include "common/json_parse.h"
#include "dispatch/dispatch.h"

namespace triggerd::dispatch {

std::string_view EventPayload(const store::Event& event) {
  return event.payload_json.empty() ? std::string_view(event.body)
                                    : std::string_view(event.payload_json);
}

std::string BuildRunMessage(const store::Run& run, const store::Event& event) {
  boost::json::object event_json;
  event_json["id"] = event.id;
  event_json["source_id"] = event.source_id;
  event_json["type"] =
      event.event_type.empty() ? boost::json::value(nullptr) : boost::json::value(event.event_type);
  event_json["delivery_id"] = event.delivery_id.empty() ? boost::json::value(nullptr)
                                                        : boost::json::value(event.delivery_id);
  event_json["received_at"] = FormatRfc3339(event.received_at);
  boost::json::object message;
  message["run_id"] = run.id;
  message["event"] = std::move(event_json);
  message["trigger_id"] = run.trigger_id;
  message["agent_id"] = run.agent_id;
  std::string text = boost::json::serialize(message);
  if (!run.include_payload) return text;

  // The payload goes in as the sender's own JSON text (numbers keep their exact spelling: a
  // 64-bit id must not come out as a double), spliced before the closing brace. Ingest stored
  // only valid JSON; anything else (an old or hand-edited row) travels as a string instead.
  std::string_view payload = EventPayload(event);
  boost::system::error_code ec;
  (void)ValidateJson(payload, ec);
  text.pop_back();  // '}'
  text += ",\"payload\":";
  if (!ec) {
    text += payload;
  } else {
    text += boost::json::serialize(boost::json::value(payload));
  }
  text += '}';
  return text;
}

}  // namespace triggerd::dispatch
