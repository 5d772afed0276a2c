// The provider catalog: one table per preset. Samples and schemas are files under catalog/,
// embedded by embed_files.cmake (catalog_files.h); File() looks them up at compile time, so a
// table row naming a file that is not embedded does not compile. Mirror a new preset of
// kProviders here (CatalogTest.CoversEveryPresetInOrder checks it).
#include "verify/catalog.h"

#include <string>
#include <unordered_set>

#include "verify/catalog_files.h"
#include "verify/internal.h"
#include "verify/verify.h"

#include "common/headers.h"
#include "common/redact.h"

namespace triggerd::verify {
namespace internal {
// Deliberately neither constexpr nor defined: reached while a table below is constant-evaluated
// (a file that is not embedded), it makes the build fail at the File() call naming that file.
void CatalogFileIsNotEmbedded();
}  // namespace internal

namespace {

using internal::CatalogFileIsNotEmbedded;
using internal::kCatalogFiles;

constexpr std::string_view File(std::string_view path) {
  for (const auto& file : kCatalogFiles) {
    if (file.path == path) return file.data;
  }
  CatalogFileIsNotEmbedded();
  return {};
}

// An event type whose sample is catalog/<file>; with_schema: its schema is the file with
// ".json" replaced by ".schema.json".
constexpr EventTypeInfo Event(std::string_view name, std::string_view description,
                              std::string_view file, bool with_schema = false) {
  EventTypeInfo info{name, description, File(file), {}};
  if (with_schema) {
    constexpr std::string_view kSuffix = ".schema.json";
    const std::string_view stem = file.substr(0, file.size() - 5);  // without ".json"
    bool found = false;
    for (const auto& f : kCatalogFiles) {
      if (f.path.size() == stem.size() + kSuffix.size() && f.path.starts_with(stem) &&
          f.path.ends_with(kSuffix)) {
        info.schema_json = f.data;
        found = true;
      }
    }
    if (!found) CatalogFileIsNotEmbedded();
  }
  return info;
}

constexpr bool kSchema = true;
constexpr std::string_view kIllustrative =
    "illustrative: written after the provider's public documentation, not captured deliveries";

// ---- GitHub: one octokit/webhooks payload per event type (MIT, see github/LICENSE...). ------
constexpr EventTypeInfo kGithub[] = {
    Event("branch_protection_rule", "A branch protection rule was created, edited or deleted.",
          "github/branch_protection_rule.json"),
    Event("check_run",
          "A check run was created, completed, re-requested or had an action requested.",
          "github/check_run.json"),
    Event("check_suite", "A check suite was requested, re-requested or completed.",
          "github/check_suite.json"),
    Event("code_scanning_alert", "A code scanning alert was created, fixed, reopened or closed.",
          "github/code_scanning_alert.json"),
    Event("commit_comment", "A commit comment was created.", "github/commit_comment.json"),
    Event("create", "A branch or tag was created.", "github/create.json"),
    Event("delete", "A branch or tag was deleted.", "github/delete.json"),
    Event("dependabot_alert", "A Dependabot alert was created, dismissed, fixed or reopened.",
          "github/dependabot_alert.json"),
    Event("deploy_key", "A deploy key was added or removed.", "github/deploy_key.json"),
    Event("deployment", "A deployment was created.", "github/deployment.json"),
    Event("deployment_review", "A deployment review was requested, approved or rejected.",
          "github/deployment_review.json"),
    Event("deployment_status", "A deployment's status changed.", "github/deployment_status.json"),
    Event("discussion", "A discussion was created, edited, answered, labeled, locked, ...",
          "github/discussion.json"),
    Event("discussion_comment", "A comment on a discussion was created, edited or deleted.",
          "github/discussion_comment.json"),
    Event("fork", "A repository was forked.", "github/fork.json"),
    Event("github_app_authorization", "A user revoked their authorization of a GitHub App.",
          "github/github_app_authorization.json"),
    Event("gollum", "A wiki page was created or updated.", "github/gollum.json"),
    Event("installation", "A GitHub App was installed, uninstalled, suspended or changed.",
          "github/installation.json"),
    Event("installation_repositories",
          "Repositories were added to or removed from an app installation.",
          "github/installation_repositories.json"),
    Event("issue_comment", "A comment on an issue or pull request was created, edited or deleted.",
          "github/issue_comment.json", kSchema),
    Event("issues", "An issue was opened, edited, closed, labeled, assigned, transferred, ...",
          "github/issues.json", kSchema),
    Event("label", "A label was created, edited or deleted.", "github/label.json"),
    Event("marketplace_purchase", "A GitHub Marketplace plan was purchased, changed or cancelled.",
          "github/marketplace_purchase.json"),
    Event("member", "A collaborator was added to, removed from or changed in a repository.",
          "github/member.json"),
    Event("membership", "A user was added to or removed from a team.", "github/membership.json"),
    Event("merge_group", "A merge queue group needs its checks to run.", "github/merge_group.json"),
    Event("meta", "The webhook itself was deleted.", "github/meta.json"),
    Event("milestone", "A milestone was created, closed, opened, edited or deleted.",
          "github/milestone.json"),
    Event("org_block", "A user was blocked or unblocked by an organization.",
          "github/org_block.json"),
    Event("organization", "An organization's membership or name changed.",
          "github/organization.json"),
    Event("package", "A package was published or updated in GitHub Packages.",
          "github/package.json"),
    Event("page_build", "A GitHub Pages build finished (or failed).", "github/page_build.json"),
    Event("ping",
          "Sent once when the webhook is created, to test it: an ordinary event (any 2xx "
          "answers it).",
          "github/ping.json"),
    Event("project", "A classic project was created, edited, closed, reopened or deleted.",
          "github/project.json"),
    Event("project_card", "A classic project card was created, edited, moved or deleted.",
          "github/project_card.json"),
    Event("project_column", "A classic project column was created, edited, moved or deleted.",
          "github/project_column.json"),
    Event("projects_v2_item", "An item in a project (v2) was created, edited, archived, ...",
          "github/projects_v2_item.json"),
    Event("public", "A private repository was made public.", "github/public.json"),
    Event("pull_request",
          "A pull request was opened, edited, closed (merged or not), labeled, assigned, "
          "synchronized, marked ready for review, ...",
          "github/pull_request.json", kSchema),
    Event("pull_request_review", "A pull request review was submitted, edited or dismissed.",
          "github/pull_request_review.json"),
    Event("pull_request_review_comment",
          "A comment on a pull request's diff was created, edited or deleted.",
          "github/pull_request_review_comment.json"),
    Event("pull_request_review_thread",
          "A review comment thread on a pull request was resolved or unresolved.",
          "github/pull_request_review_thread.json"),
    Event("push", "Commits were pushed to a branch, or a tag was pushed.", "github/push.json",
          kSchema),
    Event("registry_package", "A package was published or updated (older event).",
          "github/registry_package.json"),
    Event("release", "A release was published, created, edited, prereleased or deleted.",
          "github/release.json"),
    Event("repository", "A repository was created, deleted, archived, renamed, transferred, ...",
          "github/repository.json"),
    Event("repository_dispatch", "A custom event sent through the repository dispatch API.",
          "github/repository_dispatch.json"),
    Event("repository_import", "A repository import finished, was cancelled or failed.",
          "github/repository_import.json"),
    Event("repository_vulnerability_alert", "A vulnerability alert was created or dismissed.",
          "github/repository_vulnerability_alert.json"),
    Event("secret_scanning_alert", "A secret scanning alert was created, resolved or reopened.",
          "github/secret_scanning_alert.json"),
    Event("security_advisory", "A security advisory was published, updated or withdrawn.",
          "github/security_advisory.json"),
    Event("sponsorship", "A sponsorship was created, changed or cancelled.",
          "github/sponsorship.json"),
    Event("star", "A repository was starred or unstarred.", "github/star.json"),
    Event("status", "A commit status changed.", "github/status.json"),
    Event("team", "A team was created, edited, deleted or given access to a repository.",
          "github/team.json"),
    Event("team_add", "A repository was added to a team.", "github/team_add.json"),
    Event("watch", "A user starred a repository (the older name of star).", "github/watch.json"),
    Event("workflow_dispatch", "A workflow was run by hand.", "github/workflow_dispatch.json"),
    Event("workflow_job", "A GitHub Actions job was queued, started, waiting or completed.",
          "github/workflow_job.json"),
    Event("workflow_run", "A GitHub Actions workflow run was requested, in progress or completed.",
          "github/workflow_run.json"),
};

// ---- GitLab (X-Gitlab-Event). --------------------------------------------------------------
constexpr EventTypeInfo kGitlab[] = {
    Event("Push Hook", "Commits were pushed to a branch.", "gitlab/push-hook.json"),
    Event("Tag Push Hook", "A tag was created or deleted.", "gitlab/tag-push-hook.json"),
    Event("Issue Hook", "An issue was opened, updated, closed or reopened.",
          "gitlab/issue-hook.json"),
    Event("Merge Request Hook",
          "A merge request was opened, updated, approved, merged, closed or reopened.",
          "gitlab/merge-request-hook.json"),
    Event("Note Hook", "A comment was added to a commit, merge request, issue or snippet.",
          "gitlab/note-hook.json"),
    Event("Pipeline Hook", "A pipeline's status changed.", "gitlab/pipeline-hook.json"),
    Event("Job Hook", "A CI job's status changed.", "gitlab/job-hook.json"),
    Event("Release Hook", "A release was created, updated or deleted.", "gitlab/release-hook.json"),
};

// ---- Jira (webhookEvent). ------------------------------------------------------------------
constexpr EventTypeInfo kJira[] = {
    Event("jira:issue_created", "An issue was created.", "jira/jira-issue_created.json", kSchema),
    Event("jira:issue_updated",
          "An issue was updated (changelog.items says which fields changed, status included).",
          "jira/jira-issue_updated.json", kSchema),
    Event("jira:issue_deleted", "An issue was deleted.", "jira/jira-issue_deleted.json"),
    Event("comment_created", "A comment was added to an issue.", "jira/comment_created.json"),
    Event("comment_updated", "A comment was edited.", "jira/comment_updated.json"),
    Event("comment_deleted", "A comment was deleted.", "jira/comment_deleted.json"),
    Event("sprint_started", "A sprint was started.", "jira/sprint_started.json"),
    Event("sprint_closed", "A sprint was completed.", "jira/sprint_closed.json"),
    Event("jira:version_released", "A project version was released.",
          "jira/jira-version_released.json"),
};

// ---- Zendesk (event-based webhooks: type). -------------------------------------------------
constexpr EventTypeInfo kZendesk[] = {
    Event("zen:event-type:ticket.created", "A ticket was created.", "zendesk/ticket.created.json",
          kSchema),
    Event("zen:event-type:ticket.status_changed",
          "A ticket's status changed (event.previous -> event.current).",
          "zendesk/ticket.status_changed.json", kSchema),
    Event("zen:event-type:ticket.priority_changed", "A ticket's priority changed.",
          "zendesk/ticket.priority_changed.json", kSchema),
    Event("zen:event-type:ticket.comment_added", "A public or internal comment was added.",
          "zendesk/ticket.comment_added.json", kSchema),
    Event("zen:event-type:ticket.agent_assignment_changed", "A ticket was assigned to an agent.",
          "zendesk/ticket.agent_assignment_changed.json", kSchema),
    Event("zen:event-type:ticket.group_assignment_changed", "A ticket was assigned to a group.",
          "zendesk/ticket.group_assignment_changed.json", kSchema),
    Event("zen:event-type:ticket.tags_changed", "Tags were added to or removed from a ticket.",
          "zendesk/ticket.tags_changed.json", kSchema),
    Event("zen:event-type:ticket.soft_deleted", "A ticket was deleted (moved to deleted tickets).",
          "zendesk/ticket.soft_deleted.json", kSchema),
    Event("zen:event-type:user.created", "A user was created.", "zendesk/user.created.json"),
    Event("zen:event-type:organization.created", "An organization was created.",
          "zendesk/organization.created.json"),
};

// ---- Stripe (type). ------------------------------------------------------------------------
constexpr EventTypeInfo kStripe[] = {
    Event("payment_intent.succeeded", "A payment succeeded.",
          "stripe/payment_intent.succeeded.json", kSchema),
    Event("payment_intent.payment_failed",
          "A payment attempt failed (last_payment_error says why).",
          "stripe/payment_intent.payment_failed.json", kSchema),
    Event("charge.succeeded", "A charge succeeded.", "stripe/charge.succeeded.json", kSchema),
    Event("charge.refunded", "A charge was refunded, in full or in part.",
          "stripe/charge.refunded.json", kSchema),
    Event("charge.dispute.created", "A customer disputed a charge.",
          "stripe/charge.dispute.created.json", kSchema),
    Event("checkout.session.completed", "A Checkout session was completed.",
          "stripe/checkout.session.completed.json", kSchema),
    Event("customer.created", "A customer was created.", "stripe/customer.created.json", kSchema),
    Event("customer.updated", "A customer changed (data.previous_attributes has the old values).",
          "stripe/customer.updated.json", kSchema),
    Event("customer.subscription.created", "A subscription started.",
          "stripe/customer.subscription.created.json", kSchema),
    Event("customer.subscription.updated",
          "A subscription changed: plan, status, cancellation scheduled, ...",
          "stripe/customer.subscription.updated.json", kSchema),
    Event("customer.subscription.deleted", "A subscription ended.",
          "stripe/customer.subscription.deleted.json", kSchema),
    Event("invoice.paid", "An invoice was paid.", "stripe/invoice.paid.json", kSchema),
    Event("invoice.payment_failed", "An invoice payment attempt failed.",
          "stripe/invoice.payment_failed.json", kSchema),
};

// ---- Slack (Events API: event.type). -------------------------------------------------------
constexpr EventTypeInfo kSlack[] = {
    Event("app_mention", "The app was mentioned in a channel.", "slack/app_mention.json"),
    Event("message", "A message was posted in a channel the app is in.", "slack/message.json"),
    Event("reaction_added", "A reaction was added to a message.", "slack/reaction_added.json"),
    Event("member_joined_channel", "A user joined a channel.", "slack/member_joined_channel.json"),
    Event("channel_created", "A channel was created.", "slack/channel_created.json"),
    Event("team_join", "A new member joined the workspace.", "slack/team_join.json"),
    Event("app_home_opened", "A user opened the app's Home tab.", "slack/app_home_opened.json"),
};

// ---- Standard Webhooks / Svix (type). ------------------------------------------------------
constexpr EventTypeInfo kStandardWebhooks[] = {
    Event("contact.created", "The spec's example event; each sender names its own event types.",
          "standard-webhooks/contact.created.json"),
    Event("contact.updated", "A resource changed (the sender's own naming).",
          "standard-webhooks/contact.updated.json"),
    Event("contact.deleted", "A resource was deleted (the sender's own naming).",
          "standard-webhooks/contact.deleted.json"),
};

// ---- Shopify (X-Shopify-Topic). ------------------------------------------------------------
constexpr EventTypeInfo kShopify[] = {
    Event("orders/create", "An order was placed.", "shopify/orders-create.json"),
    Event("orders/paid", "An order was paid.", "shopify/orders-paid.json"),
    Event("orders/updated", "An order changed.", "shopify/orders-updated.json"),
    Event("orders/cancelled", "An order was cancelled.", "shopify/orders-cancelled.json"),
    Event("orders/fulfilled", "An order was fulfilled.", "shopify/orders-fulfilled.json"),
    Event("products/create", "A product was created.", "shopify/products-create.json"),
    Event("products/update", "A product changed.", "shopify/products-update.json"),
    Event("customers/create", "A customer was created.", "shopify/customers-create.json"),
    Event("refunds/create", "A refund was created.", "shopify/refunds-create.json"),
    Event("app/uninstalled", "The app was uninstalled from the shop (the body is the shop).",
          "shopify/app-uninstalled.json"),
};

// ---- Linear (Linear-Event; the body's action says create/update/remove). -------------------
constexpr EventTypeInfo kLinear[] = {
    Event("Issue", "An issue was created, updated or removed.", "linear/issue.json"),
    Event("Comment", "A comment was created, updated or removed.", "linear/comment.json"),
    Event("Project", "A project was created, updated or removed.", "linear/project.json"),
    Event("Cycle", "A cycle was created, updated or removed.", "linear/cycle.json"),
    Event("IssueLabel", "A label was created, updated or removed.", "linear/issuelabel.json"),
    Event("Reaction", "An emoji reaction was added or removed.", "linear/reaction.json"),
};

// ---- PagerDuty (v3 webhooks: event.event_type). --------------------------------------------
constexpr EventTypeInfo kPagerduty[] = {
    Event("incident.triggered", "An incident was triggered.", "pagerduty/incident.triggered.json"),
    Event("incident.acknowledged", "An incident was acknowledged.",
          "pagerduty/incident.acknowledged.json"),
    Event("incident.resolved", "An incident was resolved.", "pagerduty/incident.resolved.json"),
    Event("incident.annotated", "A note was added to an incident.",
          "pagerduty/incident.annotated.json"),
    Event("incident.escalated", "An incident was escalated.", "pagerduty/incident.escalated.json"),
    Event("incident.priority_updated", "An incident's priority changed.",
          "pagerduty/incident.priority_updated.json"),
    Event("pagey.ping", "A test event sent from the subscription's settings.",
          "pagerduty/pagey.ping.json"),
};

// ---- Intercom (topic). ---------------------------------------------------------------------
constexpr EventTypeInfo kIntercom[] = {
    Event("conversation.user.created", "A customer started a conversation.",
          "intercom/conversation.user.created.json"),
    Event("conversation.user.replied", "A customer replied to a conversation.",
          "intercom/conversation.user.replied.json"),
    Event("conversation.admin.replied", "A teammate replied to a conversation.",
          "intercom/conversation.admin.replied.json"),
    Event("conversation.admin.assigned", "A conversation was assigned to a teammate.",
          "intercom/conversation.admin.assigned.json"),
    Event("conversation.admin.closed", "A teammate closed a conversation.",
          "intercom/conversation.admin.closed.json"),
    Event("contact.user.created", "A user contact was created.",
          "intercom/contact.user.created.json"),
    Event("ping", "A test notification sent from the developer hub: an ordinary event.",
          "intercom/ping.json"),
};

// ---- Typeform (event_type). ----------------------------------------------------------------
constexpr EventTypeInfo kTypeform[] = {
    Event("form_response", "A respondent submitted a form.", "typeform/form_response.json"),
    Event("form_response_partial", "A respondent left a form part-way (partial responses on).",
          "typeform/form_response_partial.json"),
};

// ---- Sentry (Sentry-Hook-Resource; the body's action says what happened). ------------------
constexpr EventTypeInfo kSentry[] = {
    Event("issue", "An issue was created, resolved, assigned, archived or unresolved.",
          "sentry/issue.json"),
    Event("event_alert", "An issue alert rule fired.", "sentry/event_alert.json"),
    Event("metric_alert", "A metric alert became critical, warning or resolved.",
          "sentry/metric_alert.json"),
    Event("error", "An error event was processed (every occurrence).", "sentry/error.json"),
    Event("comment", "A comment on an issue was created, updated or deleted.",
          "sentry/comment.json"),
    Event("installation", "The integration was installed or uninstalled.",
          "sentry/installation.json"),
};

// ---- Twilio: form posts; Twilio names no event type, so these are the kinds of webhook. ----
constexpr EventTypeInfo kTwilio[] = {
    Event("incoming-message", "An SMS or MMS arrived at a Twilio number.",
          "twilio/incoming-message.json"),
    Event("message-status", "An outbound message's status changed (status callback).",
          "twilio/message-status.json"),
    Event("incoming-call", "A call arrived at a Twilio number (Voice webhook).",
          "twilio/incoming-call.json"),
    Event("call-status", "A call's status changed (status callback).", "twilio/call-status.json"),
};

// ---- Discord interactions (type, a number). ------------------------------------------------
constexpr EventTypeInfo kDiscord[] = {
    Event("2", "APPLICATION_COMMAND: a user ran a slash, user or message command.",
          "discord/2-application_command.json"),
    Event("3", "MESSAGE_COMPONENT: a user clicked a button or chose in a select menu.",
          "discord/3-message_component.json"),
    Event("4", "APPLICATION_COMMAND_AUTOCOMPLETE: a user is typing a command option.",
          "discord/4-application_command_autocomplete.json"),
    Event("5", "MODAL_SUBMIT: a user submitted a modal.", "discord/5-modal_submit.json"),
};

// ---- Bitbucket Cloud (X-Event-Key). --------------------------------------------------------
constexpr EventTypeInfo kBitbucket[] = {
    Event("repo:push", "Commits or tags were pushed.", "bitbucket/repo-push.json"),
    Event("pullrequest:created", "A pull request was opened.",
          "bitbucket/pullrequest-created.json"),
    Event("pullrequest:updated", "A pull request changed (title, description, commits, ...).",
          "bitbucket/pullrequest-updated.json"),
    Event("pullrequest:approved", "A pull request was approved.",
          "bitbucket/pullrequest-approved.json"),
    Event("pullrequest:fulfilled", "A pull request was merged.",
          "bitbucket/pullrequest-fulfilled.json"),
    Event("pullrequest:rejected", "A pull request was declined.",
          "bitbucket/pullrequest-rejected.json"),
    Event("pullrequest:comment_created", "A comment was added to a pull request.",
          "bitbucket/pullrequest-comment_created.json"),
    Event("repo:commit_status_updated", "A build status on a commit changed.",
          "bitbucket/repo-commit_status_updated.json"),
};

// ---- Calendly (event). ---------------------------------------------------------------------
constexpr EventTypeInfo kCalendly[] = {
    Event("invitee.created", "A meeting was booked.", "calendly/invitee.created.json"),
    Event("invitee.canceled", "A meeting was canceled.", "calendly/invitee.canceled.json"),
    Event("invitee_no_show.created", "An invitee was marked as a no-show.",
          "calendly/invitee_no_show.created.json"),
    Event("routing_form_submission.created", "A routing form was submitted.",
          "calendly/routing_form_submission.created.json"),
};

// ---- HubSpot: each delivery is a JSON array of events, each with its subscriptionType. ----
constexpr EventTypeInfo kHubspot[] = {
    Event("contact.creation", "A contact was created.", "hubspot/contact.creation.json"),
    Event("contact.propertyChange", "A contact property changed (propertyName, propertyValue).",
          "hubspot/contact.propertyChange.json"),
    Event("contact.deletion", "A contact was deleted.", "hubspot/contact.deletion.json"),
    Event("company.creation", "A company was created.", "hubspot/company.creation.json"),
    Event("deal.creation", "A deal was created.", "hubspot/deal.creation.json"),
    Event("deal.propertyChange", "A deal property changed, e.g. its stage.",
          "hubspot/deal.propertyChange.json"),
    Event("ticket.creation", "A ticket was created.", "hubspot/ticket.creation.json"),
};

// ---- Notion (type). ------------------------------------------------------------------------
constexpr EventTypeInfo kNotion[] = {
    Event("page.created", "A page was created.", "notion/page.created.json"),
    Event("page.content_updated", "A page's content changed (batched).",
          "notion/page.content_updated.json"),
    Event("page.properties_updated", "A page's properties changed.",
          "notion/page.properties_updated.json"),
    Event("page.deleted", "A page was moved to the trash.", "notion/page.deleted.json"),
    Event("comment.created", "A comment was added to a page or block.",
          "notion/comment.created.json"),
    Event("database.created", "A database was created.", "notion/database.created.json"),
};

// ---- Handshakes. ---------------------------------------------------------------------------
constexpr HandshakeInfo kSlackHandshake{
    .name = "url_verification",
    .description =
        "Sent (signed) when the Events API request URL is saved. The answer is 200 "
        "{\"challenge\": <the challenge>}; it is not an event.",
    .sample = File("slack/url_verification.json"),
    .signed_by_provider = true};
constexpr HandshakeInfo kDiscordHandshake{
    .name = "ping",
    .description =
        "Interaction PING (type 1), sent (signed) when the interactions endpoint URL is saved and "
        "from time to time. The answer is 200 {\"type\":1} (PONG); it is not an event. A "
        "webhook-events PING (type 0) is answered 204.",
    .sample = File("discord/1-ping.json"),
    .signed_by_provider = true};
constexpr HandshakeInfo kNotionHandshake{
    .name = "verification_token",
    .description =
        "Sent once, unsigned, when the subscription is created: it carries the verification token "
        "that Notion then signs with. The answer is 200; it is not an event. Paste the token back "
        "into Notion and set it as the source's secret.",
    .sample = File("notion/verification.json"),
    .signed_by_provider = false};

// ---- The presets, in kProviders order. -----------------------------------------------------
constexpr ProviderCatalog kCatalog[] = {
    {.kind = "bitbucket",
     .verification = {.headers = {"X-Hub-Signature"},
                      .credentials = {"X-Hub-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "sha256=",
                      .signed_content = "raw body",
                      .secret = "the webhook's secret"},
     .event_types = kBitbucket,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "X-Hub-Signature here is SHA-256 (GitHub's header of that name is SHA-1)."},
    {.kind = "calendly",
     .verification = {.headers = {"Calendly-Webhook-Signature"},
                      .credentials = {"Calendly-Webhook-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "v1=",
                      .signed_content = "t + \".\" + raw body",
                      .timestamp = "t= in Calendly-Webhook-Signature (seconds)",
                      .secret = "the webhook signing key"},
     .event_types = kCalendly,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "discord",
     .verification = {.headers = {"X-Signature-Ed25519", "X-Signature-Timestamp"},
                      .credentials = {"X-Signature-Ed25519"},
                      .algorithm = "Ed25519",
                      .encoding = "hex",
                      .signed_content = "timestamp + raw body",
                      .timestamp = "X-Signature-Timestamp (seconds)",
                      .secret = "the application's public key (64 hex characters)"},
     .event_types = kDiscord,
     .handshake = &kDiscordHandshake,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "Discord probes the endpoint with bad signatures and drops URLs that accept them."},
    {.kind = "github",
     .verification = {.headers = {"X-Hub-Signature-256", "X-Hub-Signature"},
                      .credentials = {"X-Hub-Signature-256", "X-Hub-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "sha256=",
                      .signed_content = "raw body",
                      .secret = "the webhook secret"},
     .event_types = kGithub,
     .illustrative = false,
     .samples_origin =
         "octokit/webhooks example payloads (MIT licence, catalog/github/LICENSE.octokit-webhooks)",
     .notes = "The legacy SHA-1 X-Hub-Signature is accepted only with allow_legacy_signature."},
    {.kind = "gitlab",
     .verification = {.headers = {"X-Gitlab-Token"},
                      .credentials = {"X-Gitlab-Token"},
                      .algorithm = "shared token",
                      .signed_content = "nothing (the token is compared as is)",
                      .secret = "the webhook's secret token"},
     .event_types = kGitlab,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "The body is not signed: use HTTPS. GitLab's newer signing token follows Standard "
              "Webhooks: use kind standard-webhooks for it."},
    {.kind = "hubspot",
     .verification = {.headers = {"X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp",
                                  "X-HubSpot-Signature", "X-HubSpot-Signature-Version"},
                      .credentials = {"X-HubSpot-Signature-v3", "X-HubSpot-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "base64",
                      .signed_content = "method + URI + raw body + timestamp",
                      .timestamp = "X-HubSpot-Request-Timestamp (milliseconds)",
                      .secret = "the app's client secret"},
     .event_types = kHubspot,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "A delivery is a JSON array of events; the preset reads no single event type."},
    {.kind = "intercom",
     .verification = {.headers = {"X-Hub-Signature"},
                      .credentials = {"X-Hub-Signature"},
                      .algorithm = "HMAC-SHA1",
                      .encoding = "hex",
                      .prefix = "sha1=",
                      .signed_content = "raw body",
                      .secret = "the app's client secret"},
     .event_types = kIntercom,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "jira",
     .verification = {.headers = {"X-Hub-Signature"},
                      .credentials = {"X-Hub-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "sha256=",
                      .signed_content = "raw body",
                      .secret = "the webhook's secret (admin webhooks)"},
     .event_types = kJira,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "Custom fields appear as issue.fields.customfield_<id>."},
    {.kind = "linear",
     .verification = {.headers = {"Linear-Signature"},
                      .credentials = {"Linear-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .signed_content = "raw body",
                      .timestamp = "webhookTimestamp in the body (milliseconds)",
                      .secret = "the webhook's signing secret"},
     .event_types = kLinear,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "notion",
     .verification = {.headers = {"X-Notion-Signature"},
                      .credentials = {"X-Notion-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "sha256=",
                      .signed_content = "raw body",
                      .secret = "the verification_token of the subscription's handshake"},
     .event_types = kNotion,
     .handshake = &kNotionHandshake,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes =
         "Events carry ids only: fetch the page or comment through Notion's API for its content."},
    {.kind = "pagerduty",
     .verification = {.headers = {"X-PagerDuty-Signature"},
                      .credentials = {"X-PagerDuty-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "v1=",
                      .signed_content = "raw body",
                      .several_signatures = true,
                      .secret = "the subscription's secret"},
     .event_types = kPagerduty,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "sentry",
     .verification = {.headers = {"Sentry-Hook-Signature"},
                      .credentials = {"Sentry-Hook-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .signed_content = "raw body",
                      .secret = "the integration's client secret"},
     .event_types = kSentry,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "shopify",
     .verification = {.headers = {"X-Shopify-Hmac-Sha256"},
                      .credentials = {"X-Shopify-Hmac-Sha256"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "base64",
                      .signed_content = "raw body",
                      .secret = "the app's client secret"},
     .event_types = kShopify,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "slack",
     .verification = {.headers = {"X-Slack-Signature", "X-Slack-Request-Timestamp"},
                      .credentials = {"X-Slack-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "v0=",
                      .signed_content = "\"v0:\" + timestamp + \":\" + raw body",
                      .timestamp = "X-Slack-Request-Timestamp (seconds)",
                      .secret = "the app's signing secret"},
     .event_types = kSlack,
     .handshake = &kSlackHandshake,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "standard-webhooks",
     .verification = {.headers = {"webhook-signature", "webhook-id", "webhook-timestamp",
                                  "svix-signature", "svix-id", "svix-timestamp"},
                      .credentials = {"webhook-signature", "svix-signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "base64",
                      .prefix = "v1,",
                      .signed_content = "id + \".\" + timestamp + \".\" + raw body",
                      .timestamp = "webhook-timestamp (seconds)",
                      .several_signatures = true,
                      .secret = "whsec_ + base64 of the key (the part after whsec_ is decoded); "
                                "whpk_ for Ed25519 (v1a)"},
     .event_types = kStandardWebhooks,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "Svix's svix-id, svix-timestamp and svix-signature headers are accepted too."},
    {.kind = "stripe",
     .verification = {.headers = {"Stripe-Signature"},
                      .credentials = {"Stripe-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "hex",
                      .prefix = "t=...,v1=",
                      .signed_content = "t + \".\" + raw body",
                      .timestamp = "t= in Stripe-Signature (seconds)",
                      .several_signatures = true,
                      .secret = "the endpoint's whsec_ secret, used whole as the key"},
     .event_types = kStripe,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "data.object is the object the event is about; its fields depend on the event type."},
    {.kind = "twilio",
     .verification =
         {.headers = {"X-Twilio-Signature"},
                      .credentials = {"X-Twilio-Signature"},
          .algorithm = "HMAC-SHA1",
          .encoding = "base64",
          .signed_content =
              "full URL + POST parameters sorted by name (JSON bodies: URL with bodySHA256)",
          .secret = "the account's auth token"},
     .event_types = kTwilio,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "Twilio posts forms; filters see the object of their fields. The URL Twilio called "
              "is signed, so the source needs the public URL behind any proxy."},
    {.kind = "typeform",
     .verification = {.headers = {"Typeform-Signature"},
                      .credentials = {"Typeform-Signature"},
                      .algorithm = "HMAC-SHA256",
                      .encoding = "base64",
                      .prefix = "sha256=",
                      .signed_content = "raw body",
                      .secret = "the webhook's secret"},
     .event_types = kTypeform,
     .illustrative = true,
     .samples_origin = kIllustrative},
    {.kind = "zendesk",
     .verification =
         {.headers = {"X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"},
                      .credentials = {"X-Zendesk-Webhook-Signature"},
          .algorithm = "HMAC-SHA256",
          .encoding = "base64",
          .signed_content = "timestamp + raw body",
          .timestamp = "X-Zendesk-Webhook-Signature-Timestamp (ISO 8601)",
          .secret =
              "the webhook's signing secret, as is (it looks like base64; it is not decoded)"},
     .event_types = kZendesk,
     .illustrative = true,
     .samples_origin = kIllustrative,
     .notes = "Event-based webhooks (type zen:event-type:...). Trigger webhooks send the body you "
              "design and no type."},
};

}  // namespace

std::span<const ProviderCatalog> Catalog() { return kCatalog; }

bool IsCredentialHeader(std::string_view name) {
  if (IsSecretHeaderName(name)) return true;
  // The catalog's credential headers, lower-cased once: this runs for every header of every
  // event, and walking every provider's list per header was a measurable share of ingest.
  static const std::unordered_set<std::string> kCredentials = [] {
    std::unordered_set<std::string> names;
    for (const ProviderCatalog& provider : kCatalog) {
      for (std::string_view credential : provider.verification.credentials) {
        if (!credential.empty()) names.insert(AsciiLower(credential));
      }
    }
    return names;
  }();
  return kCredentials.contains(AsciiLower(name));
}

const ProviderCatalog* FindCatalog(std::string_view kind) {
  for (const auto& p : kCatalog) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

const EventTypeInfo* FindEventType(std::string_view kind, std::string_view event_type) {
  const ProviderCatalog* provider = FindCatalog(kind);
  if (provider == nullptr) return nullptr;
  for (const auto& e : provider->event_types) {
    if (e.name == event_type) return &e;
  }
  return nullptr;
}

std::optional<int64_t> DefaultToleranceSeconds(std::string_view kind) {
  const internal::Scheme* scheme = internal::FindScheme(kind);
  if (scheme == nullptr) return std::nullopt;
  return scheme->default_tolerance;
}

}  // namespace triggerd::verify
