// A SQLite VFS shim that coalesces the writes to a WAL file between two syncs into one write.
//
// Why: SQLite writes every WAL frame as two pwrite calls (its 24-byte header, then the page), and
// with 4 KiB pages each page straddles two pages of the file; an 8 KiB webhook is ~3 frames, so a
// group commit of ~20 events made ~130 pwrite calls on the writer thread, each paying the
// syscall, the inode lock and the page-cache lookups again. Buffered, the commit's frames reach
// the file in one write just before its fsync.
//
// Contract: writes to a file opened with SQLITE_OPEN_WAL that continue the pending run are kept
// in memory; any other operation on that file (xSync, xRead, xTruncate, xFileSize, xFileControl,
// xClose, a non-contiguous write, or a run above 1 MiB) first writes the run out through the base
// VFS, in order, and an error of that write is the operation's error. Other files pass straight
// through. Crash semantics are the base VFS's: nothing SQLite has not synced was promised.
// REQUIRES: every connection that writes through it uses synchronous=FULL or EXTRA, so each
// commit syncs the WAL before publishing its frames in the wal-index; other connections of the
// process read the file directly and must never be shown a frame that is still only buffered
// (under NORMAL, a commit is published without a sync). Read-only connections may use it freely.
#pragma once

#include <string>

namespace triggerd::store::sqlite {

// The name of the shim over the VFS called `base` ("" = SQLite's default), registered (not as
// the default) on first use; never unregistered. Thread-safe.
const char* WalBufferVfs(const std::string& base);

}  // namespace triggerd::store::sqlite
