#include "store/purge_policy.h"

#include <algorithm>
#include <utility>

namespace triggerd::store {
namespace {

// The deletes of one step: at most `limit` events received before `before`, oldest first,
// stepping over those kept for their live runs (few, and short-lived). `more` when another one
// is left.
Status DeleteOldEvents(PurgeTable& table, int64_t before, int limit, PurgeResult* result) {
  std::vector<PurgeCandidate> doomed;
  int64_t after = 0;
  for (;;) {
    // limit + 1: a page past the limit tells that another event is left.
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<PurgeCandidate> page,
                              table.OldEvents(before, after, limit + 1));
    for (PurgeCandidate& event : page) {
      if (static_cast<int>(doomed.size()) == limit) {
        result->more = true;
        break;
      }
      after = event.seq;
      TRIGGERD_ASSIGN_OR_RETURN(const bool busy, table.HasLiveRuns(event.workspace_id, event.id));
      if (!busy) doomed.push_back(std::move(event));
    }
    if (result->more || static_cast<int>(page.size()) < limit + 1) break;
  }
  for (const PurgeCandidate& event : doomed) {
    TRIGGERD_ASSIGN_OR_RETURN(const int64_t runs, table.DeleteEvent(event));
    result->runs_deleted += runs;
    ++result->events_deleted;
  }
  return Status::Ok();
}

// The bodies of one step: from `result->bodies_after_seq` on, at most `limit` events examined.
Status EmptyOldBodies(PurgeTable& table, int64_t before, int limit, PurgeResult* result) {
  TRIGGERD_ASSIGN_OR_RETURN(std::vector<PurgeCandidate> page,
                            table.OldEvents(before, result->bodies_after_seq, limit + 1));
  std::vector<int64_t> emptied;
  int examined = 0;
  for (const PurgeCandidate& event : page) {
    if (examined == limit) {
      result->more = true;
      break;
    }
    ++examined;
    if (event.body_emptied) {
      result->bodies_after_seq = event.seq;
      continue;
    }
    TRIGGERD_ASSIGN_OR_RETURN(const bool busy, table.HasLiveRuns(event.workspace_id, event.id));
    // An event kept for its live runs stops the cursor: it is looked at again next time.
    if (busy) break;
    emptied.push_back(event.seq);
    result->bodies_after_seq = event.seq;
  }
  for (int64_t seq : emptied) {
    TRIGGERD_RETURN_IF_ERROR(table.EmptyBody(seq));
    ++result->bodies_emptied;
  }
  return Status::Ok();
}

}  // namespace

Result<PurgeResult> PurgeStep(PurgeTable& table, const PurgeRequest& request) {
  PurgeResult result;
  result.bodies_after_seq = request.bodies_after_seq;
  const int limit = std::max(1, request.limit);
  if (request.events_before > 0) {
    TRIGGERD_RETURN_IF_ERROR(DeleteOldEvents(table, request.events_before, limit, &result));
  }
  if (request.bodies_before > 0 && !result.more) {
    TRIGGERD_RETURN_IF_ERROR(EmptyOldBodies(table, request.bodies_before, limit, &result));
  }
  return result;
}

}  // namespace triggerd::store
