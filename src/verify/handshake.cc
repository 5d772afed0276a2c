// Provider handshakes (see catalog.h DetectHandshake). Each check matches the handshake's exact
// shape, so an ordinary event is never swallowed: a Discord webhook *event* also has type 1 but
// carries an "event" member, a Slack event callback has type "event_callback".
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "verify/catalog.h"

namespace triggerd::verify {
namespace {

std::optional<int64_t> IntMember(const boost::json::object& object, std::string_view name) {
  const boost::json::value* v = object.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

const boost::json::string* StringMember(const boost::json::object& object, std::string_view name) {
  const boost::json::value* v = object.if_contains(name);
  return v != nullptr ? v->if_string() : nullptr;
}

}  // namespace

std::optional<HandshakeReply> DetectHandshake(std::string_view kind, const Headers& headers,
                                              const boost::json::value& payload) {
  const boost::json::object* object = payload.if_object();
  if (object == nullptr) return std::nullopt;

  if (kind == "slack") {
    const boost::json::string* type = StringMember(*object, "type");
    const boost::json::string* challenge = StringMember(*object, "challenge");
    if (type == nullptr || *type != "url_verification" || challenge == nullptr) {
      return std::nullopt;
    }
    HandshakeReply reply;
    reply.name = "url_verification";
    reply.body = boost::json::serialize(boost::json::object{{"challenge", *challenge}});
    return reply;
  }

  if (kind == "discord") {
    if (object->contains("event")) return std::nullopt;  // a webhook event, not a PING
    const std::optional<int64_t> type = IntMember(*object, "type");
    if (type == 1) {  // interactions endpoint: PING, answered with PONG
      HandshakeReply reply;
      reply.name = "ping";
      reply.body = R"({"type":1})";
      return reply;
    }
    if (type == 0) {  // webhook events endpoint: PING, answered with 204
      HandshakeReply reply;
      reply.name = "ping";
      reply.status = 204;
      reply.content_type.clear();
      return reply;
    }
    return std::nullopt;
  }

  if (kind == "notion") {
    // The handshake is exactly {"verification_token": "..."}; events have a type.
    const boost::json::string* token = StringMember(*object, "verification_token");
    if (token == nullptr || object->contains("type")) return std::nullopt;
    HandshakeReply reply;
    reply.name = "verification_token";
    reply.body = "{}";
    reply.verification_token = std::string(*token);
    return reply;
  }

  return std::nullopt;
}

}  // namespace triggerd::verify
