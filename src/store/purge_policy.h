// Retention's Purge step (StoreOperations::Purge, PurgeRequest), decided once for both backends:
// which old events go whole, whose bodies are emptied, what is kept for dispatch, and where the
// bodies cursor stands. The backend reads and writes through PurgeTable, inside the one short
// write transaction of the step; the policy drives it. Internal to store/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/operations.h"

namespace triggerd::store {

// An event old enough to be looked at.
struct PurgeCandidate {
  int64_t seq = 0;
  std::string id;
  std::string workspace_id;
  bool body_emptied = false;  // its body was emptied already (payload_json 'null')
};

// What a Purge step reads and writes, inside the backend's write transaction.
class PurgeTable {
 public:
  virtual ~PurgeTable() = default;
  // At most `limit` events with received_at < `before` and seq > `after`, by seq ascending
  // (oldest first: old events sit at the front of the table, so the scan stops soon after the
  // cutoff).
  virtual Result<std::vector<PurgeCandidate>> OldEvents(int64_t before, int64_t after,
                                                        int limit) = 0;
  // Whether the event still has a queued, retrying or running run: dispatch will read it.
  virtual Result<bool> HasLiveRuns(std::string_view workspace_id, std::string_view event_id) = 0;
  // Deletes the event with its runs (and their messages) and match records; the runs deleted.
  virtual Result<int64_t> DeleteEvent(const PurgeCandidate& event) = 0;
  // Empties the body of event `seq`: no bytes, and payload_json 'null', which marks an emptied
  // body (no stored event has it otherwise: a payload is a JSON object or array, or the form
  // fields as an object).
  virtual Status EmptyBody(int64_t seq) = 0;
};

// One Purge step over `table`: events received before request.events_before are deleted, then
// (when that reached no limit) bodies of events received before request.bodies_before are
// emptied from request.bodies_after_seq on — at most max(1, request.limit) events each. Events
// with live runs are kept whole: stepped over by the deletes, and they stop the bodies cursor
// (looked at again next time).
Result<PurgeResult> PurgeStep(PurgeTable& table, const PurgeRequest& request);

}  // namespace triggerd::store
