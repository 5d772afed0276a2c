#include "store/sqlite/wal_buffer_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace triggerd::store::sqlite {
namespace {

// Above this a pending run is written out even before the sync: bounds the memory per WAL file
// (a group commit of 512 events of 8 KiB is ~6 MB of frames, written in a few calls).
constexpr size_t kMaxPending = 1 << 20;

// One registered shim: our sqlite3_vfs first, so SQLite's vfs pointer is also ours.
struct ShimVfs {
  sqlite3_vfs vfs;
  sqlite3_vfs* base;
  std::string name;
};

sqlite3_vfs* BaseOf(sqlite3_vfs* vfs) { return reinterpret_cast<ShimVfs*>(vfs)->base; }

// Our file object; the base VFS's file object follows it in the same allocation (szOsFile).
struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
  std::string* pending;          // WAL files only, else null
  sqlite3_int64 pending_at = 0;  // file offset of pending->front()
};

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real; }

// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length: a larger write
// comes out short or as SQLITE_FULL), so the run goes out in pieces of 64 KiB.
constexpr size_t kMaxWrite = 64 * 1024;

int Flush(sqlite3_file* f) {
  ShimFile* file = Shim(f);
  if (file->pending == nullptr || file->pending->empty()) return SQLITE_OK;
  const std::string& pending = *file->pending;
  int rc = SQLITE_OK;
  for (size_t at = 0; rc == SQLITE_OK && at < pending.size(); at += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, pending.size() - at);
    rc = file->real->pMethods->xWrite(file->real, pending.data() + at, static_cast<int>(n),
                                      file->pending_at + static_cast<sqlite3_int64>(at));
  }
  file->pending->clear();
  return rc;
}

int Close(sqlite3_file* f) {
  int flushed = Flush(f);
  delete Shim(f)->pending;
  Shim(f)->pending = nullptr;
  int rc = Real(f)->pMethods->xClose(Real(f));
  return flushed != SQLITE_OK ? flushed : rc;
}
int ReadF(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int WriteF(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  ShimFile* file = Shim(f);
  if (file->pending == nullptr) return file->real->pMethods->xWrite(file->real, buf, n, off);
  std::string& pending = *file->pending;
  if (!pending.empty() && off != file->pending_at + static_cast<sqlite3_int64>(pending.size())) {
    // Not a continuation (SQLite rewriting a frame of the open transaction): keep the order.
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (pending.empty()) file->pending_at = off;
  pending.append(static_cast<const char*>(buf), static_cast<size_t>(n));
  return pending.size() >= kMaxPending ? Flush(f) : SQLITE_OK;
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

// Version 3 methods, as the unix VFS: shared memory (WAL needs it) and memory-mapped I/O. A
// method the base file lacks is never called: SQLite checks iVersion, and ours mirrors the base's
// (kMethodsByVersion, see Open).
const sqlite3_io_methods kMethods = {
    3,
    Close,
    ReadF,
    WriteF,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};
// The same table claiming version 1 or 2, for a base file of that version: SQLite never calls a
// method above the iVersion it reads.
sqlite3_io_methods WithVersion(int version) {
  sqlite3_io_methods methods = kMethods;
  methods.iVersion = version;
  return methods;
}
const sqlite3_io_methods kMethodsByVersion[] = {WithVersion(1), WithVersion(2), kMethods};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  ShimFile* file = Shim(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->pending = nullptr;
  file->pending_at = 0;
  int rc = BaseOf(vfs)->xOpen(BaseOf(vfs), name, file->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, so mirror the base VFS's choice.
  if (file->real->pMethods == nullptr) {
    file->base.pMethods = nullptr;
    return rc;
  }
  file->base.pMethods = &kMethodsByVersion[std::clamp(file->real->pMethods->iVersion, 1, 3) - 1];
  if ((flags & SQLITE_OPEN_WAL) != 0) file->pending = new std::string();
  return rc;
}
int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return BaseOf(vfs)->xDelete(BaseOf(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return BaseOf(vfs)->xAccess(BaseOf(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return BaseOf(vfs)->xFullPathname(BaseOf(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return BaseOf(vfs)->xDlOpen(BaseOf(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { BaseOf(vfs)->xDlError(BaseOf(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* h, const char* sym))(void) {
  return BaseOf(vfs)->xDlSym(BaseOf(vfs), h, sym);
}
void DlClose(sqlite3_vfs* vfs, void* h) { BaseOf(vfs)->xDlClose(BaseOf(vfs), h); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return BaseOf(vfs)->xRandomness(BaseOf(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) { return BaseOf(vfs)->xSleep(BaseOf(vfs), micros); }
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return BaseOf(vfs)->xCurrentTime(BaseOf(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return BaseOf(vfs)->xGetLastError(BaseOf(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return BaseOf(vfs)->xCurrentTimeInt64(BaseOf(vfs), out);
}

}  // namespace

const char* WalBufferVfs(const std::string& base_name) {
  static std::mutex mu;
  static auto* shims = new std::map<std::string, ShimVfs*>();  // SQLite keeps the pointers
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = shims->find(base_name); it != shims->end()) return it->second->name.c_str();
  sqlite3_vfs* base = sqlite3_vfs_find(base_name.empty() ? nullptr : base_name.c_str());
  if (base == nullptr) return nullptr;
  auto* shim = new ShimVfs();
  shim->base = base;
  shim->name = "triggerd-walbuf" + (base_name.empty() ? std::string() : "-" + base_name);
  sqlite3_vfs& vfs = shim->vfs;
  std::memset(&vfs, 0, sizeof(vfs));
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + base->szOsFile;
  vfs.mxPathname = base->mxPathname;
  vfs.zName = shim->name.c_str();
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) std::abort();
  shims->emplace(base_name, shim);
  return shim->name.c_str();
}

}  // namespace triggerd::store::sqlite
