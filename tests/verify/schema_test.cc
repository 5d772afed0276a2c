// Light schemas and the filter warnings built on them: a typo warns (with the field it most
// likely meant), a real field never does, wildcards and indexes resolve like the filter
// language, and whatever the schema cannot know stays silent.
#include <string>
#include <vector>

#include "test_util.h"
#include "verify/catalog.h"

namespace triggerd::verify {
namespace {

using Strings = std::vector<std::string>;

Strings Warn(std::string_view kind, Strings event_types, Strings fields) {
  return FilterWarnings(kind, event_types, fields);
}

TEST(FilterWarningsTest, TypoInAGithubFieldWarnsAndSuggests) {
  EXPECT_EQ(Warn("github", {"pull_request"}, {"pull_request.chnged_files"}),
            Strings{"pull_request.chnged_files is not a field of github pull_request events (did "
                    "you mean pull_request.changed_files?)"});
}

TEST(FilterWarningsTest, RealFieldsDoNotWarn) {
  EXPECT_EQ(Warn("github", {"pull_request"},
                 {"action", "number", "pull_request.changed_files", "pull_request.draft",
                  "pull_request.head.ref", "pull_request.user.login", "pull_request.merged_at",
                  "pull_request.merged", "label.name", "requested_reviewer.login",
                  "repository.full_name", "repository.topics", "sender.login"}),
            Strings{});
  EXPECT_EQ(Warn("github", {"push"},
                 {"ref", "commits.*.message", "head_commit.author.email", "pusher.name", "created",
                  "forced"}),
            Strings{});
  EXPECT_EQ(Warn("github", {"issues"},
                 {"issue.labels.*.name", "issue.title", "changes.title.from", "issue.state_reason",
                  "milestone.title"}),
            Strings{});
}

TEST(FilterWarningsTest, WildcardsIndexesAndLengthResolveLikeTheFilterLanguage) {
  EXPECT_EQ(
      Warn("github", {"pull_request"},
           {"pull_request.labels.*.name", "pull_request.labels.0.name",
            "pull_request.labels[0].name", "pull_request.labels.*", "pull_request.labels.length",
            "pull_request.title.length", "pull_request.requested_reviewers.*.login"}),
      Strings{});
  EXPECT_EQ(Warn("github", {"pull_request"}, {"pull_request.labels.*.nme"}),
            Strings{"pull_request.labels.*.nme is not a field of github pull_request events (did "
                    "you mean pull_request.labels.*.name?)"});
  // A wildcard maps over arrays only: over an object it finds nothing.
  EXPECT_EQ(Warn("github", {"pull_request"}, {"pull_request.*.login"}).size(), 1u);
  // An index into an object, or a key into a string, finds nothing either.
  EXPECT_EQ(Warn("github", {"pull_request"}, {"pull_request.0", "action.name"}).size(), 2u);
  // "length" of a number is not a length.
  EXPECT_EQ(Warn("github", {"pull_request"}, {"number.length"}).size(), 1u);
}

TEST(FilterWarningsTest, AFieldOfAnySelectedEventTypeIsFine) {
  EXPECT_EQ(Warn("github", {"pull_request", "issues"}, {"issue.title", "pull_request.title"}),
            Strings{});
  EXPECT_EQ(Warn("github", {"pull_request", "issues", "push"}, {"nope"}),
            Strings{"nope is not a field of github pull_request, issues or push events"});
  EXPECT_EQ(Warn("github", {"pull_request", "pull_request"}, {"nope", "nope"}),
            Strings{"nope is not a field of github pull_request events"});
}

TEST(FilterWarningsTest, SaysNothingAboutFieldsItCannotKnow) {
  // No event type selected: any event may arrive.
  EXPECT_EQ(Warn("github", {}, {"pull_request.chnged_files"}), Strings{});
  // An event type without a schema, alone or beside one with a schema.
  EXPECT_EQ(Warn("github", {"star"}, {"whatever"}), Strings{});
  EXPECT_EQ(Warn("github", {"pull_request", "star"}, {"whatever"}), Strings{});
  // Custom sources, unknown kinds, headers and the event type.
  EXPECT_EQ(Warn("custom", {"pull_request"}, {"whatever"}), Strings{});
  EXPECT_EQ(Warn("nope", {"pull_request"}, {"whatever"}), Strings{});
  EXPECT_EQ(Warn("github", {"pull_request"}, {"$headers.x-github-event", "$event", "$source"}),
            Strings{});
  // Under a value only ever seen null, or a container only ever seen empty.
  EXPECT_EQ(Warn("github", {"pull_request"},
                 {"pull_request.merged_by.login", "pull_request.auto_merge.merge_method"}),
            Strings{});
  EXPECT_EQ(Warn("zendesk", {"zen:event-type:ticket.created"}, {"event.anything"}), Strings{});
}

TEST(FilterWarningsTest, EventTypeOneTypoAwayFromACatalogOneWarns) {
  EXPECT_EQ(Warn("github", {"pull_requests"}, {"pull_request.chnged_files"}),
            Strings{"event type \"pull_requests\" is not a known github event type (did you mean "
                    "\"pull_request\"?)"});
  // A type the catalog does not list, but no typo of one: it may well be real.
  EXPECT_EQ(Warn("github", {"deployment_protection_rule"}, {"x"}), Strings{});
  EXPECT_EQ(Warn("stripe", {"payout.paid"}, {"x"}), Strings{});
}

TEST(FilterWarningsTest, JiraCustomFieldsAreOpenButTyposWarn) {
  const Strings types = {"jira:issue_created", "jira:issue_updated"};
  EXPECT_EQ(
      Warn("jira", types,
           {"issue.fields.customfield_10099", "issue.fields.status.name", "issue.fields.labels",
            "changelog.items.*.toString", "issue.fields.assignee.accountId",
            "issue.fields.resolution.name", "user.displayName", "issue.key"}),
      Strings{});
  EXPECT_EQ(Warn("jira", types, {"issue.fields.sumary"}),
            Strings{"issue.fields.sumary is not a field of jira jira:issue_created or "
                    "jira:issue_updated events (did you mean issue.fields.summary?)"});
}

TEST(FilterWarningsTest, StripeMetadataAndPreviousAttributesAreOpen) {
  EXPECT_EQ(Warn("stripe", {"customer.subscription.updated"},
                 {"data.object.metadata.tier", "data.previous_attributes.status",
                  "data.object.items.data.*.price.metadata.sku", "data.object.status",
                  "data.object.items.data.0.price.unit_amount", "livemode", "type"}),
            Strings{});
  EXPECT_EQ(Warn("stripe", {"payment_intent.succeeded"}, {"data.object.amont"}),
            Strings{"data.object.amont is not a field of stripe payment_intent.succeeded events "
                    "(did you mean data.object.amount?)"});
}

TEST(FilterWarningsTest, ZendeskTicketEvents) {
  EXPECT_EQ(Warn("zendesk", {"zen:event-type:ticket.status_changed"},
                 {"detail.status", "detail.tags", "event.current", "event.previous",
                  "detail.via.channel"}),
            Strings{});
  EXPECT_EQ(Warn("zendesk", {"zen:event-type:ticket.comment_added"},
                 {"event.comment.body", "event.comment.author.is_staff"}),
            Strings{});
  EXPECT_EQ(Warn("zendesk", {"zen:event-type:ticket.status_changed"}, {"detail.priorty"}).size(),
            1u);
}

TEST(EventSchemaTest, ParsesAndAnswersOnItsOwn) {
  auto schema = EventSchema::Parse(
      R"({"open": ["meta", "**.extra", "custom.cf_*"],
          "fields": {"a": "object", "a.title": "string|null", "list": "array", "list.*": "object",
                     "list.*.id": "number", "nothing": "null", "empty": "object",
                     "custom": "object", "custom.known": "string"}})");
  ASSERT_TRUE(schema.has_value());
  EXPECT_EQ(schema->fields().size(), 9u);
  EXPECT_EQ(schema->fields().front().path, "a");
  EXPECT_EQ(schema->fields().front().kinds, "object");
  for (const char* path : {"a", "a.title", "a.title.length", "list.*.id", "list.3.id", "list[3].id",
                           "list.length", "nothing.deep.down", "empty.anything", "meta.x.y",
                           "list.*.extra.z", "custom.cf_12", "custom.known"}) {
    EXPECT_TRUE(schema->Has(path)) << path;
  }
  std::string suggestion;
  EXPECT_FALSE(schema->Has("a.tilte", &suggestion));
  EXPECT_EQ(suggestion, "a.title");
  EXPECT_FALSE(schema->Has("a.c", &suggestion));  // one letter: no word is one typo away
  EXPECT_EQ(suggestion, "");
  EXPECT_FALSE(schema->Has("list.*.idd", &suggestion));
  EXPECT_EQ(suggestion, "list.*.id");
  EXPECT_FALSE(schema->Has("totally_different", &suggestion));
  EXPECT_EQ(suggestion, "");
  EXPECT_FALSE(schema->Has("custom.other"));
  EXPECT_FALSE(schema->Has("list.x"));
  EXPECT_FALSE(schema->Has("a.title.c"));

  EXPECT_FALSE(EventSchema::Parse("not json").has_value());
  EXPECT_FALSE(EventSchema::Parse(R"({"open": []})").has_value());
  EXPECT_FALSE(EventSchema::Parse(R"({"fields": {"a": 1}})").has_value());
}

}  // namespace
}  // namespace triggerd::verify
