#include "fault_injection_vfs.h"

#include <sqlite3.h>

#include <cstdlib>
#include <cstring>

namespace triggerd::store::testing {
namespace {

sqlite3_vfs* Base() { return sqlite3_vfs_find(nullptr); }

// Our file object; the base VFS's file object follows it in the same allocation (szOsFile).
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool is_wal;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int ReadF(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int WriteF(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  FaultInjectionVfs& vfs = FaultInjectionVfs::Instance();
  if (vfs.ShouldFailSync()) return SQLITE_IOERR_FSYNC;
  int rc = Real(f)->pMethods->xSync(Real(f), flags);
  if (rc == SQLITE_OK && reinterpret_cast<FaultFile*>(f)->is_wal) vfs.CountWalSync();
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
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
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

// Version 3 methods: the unix VFS has shared memory (WAL needs it) and memory-mapped I/O.
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

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* ff = reinterpret_cast<FaultFile*>(file);
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  ff->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  int rc = Base()->xOpen(Base(), name, ff->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, so mirror the base VFS's choice.
  ff->base.pMethods = ff->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return Base()->xDelete(Base(), name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return Base()->xAccess(Base(), name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return Base()->xFullPathname(Base(), name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return Base()->xDlOpen(Base(), name); }
void DlError(sqlite3_vfs*, int n, char* out) { Base()->xDlError(Base(), n, out); }
void (*DlSym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return Base()->xDlSym(Base(), h, sym);
}
void DlClose(sqlite3_vfs*, void* h) { Base()->xDlClose(Base(), h); }
int Randomness(sqlite3_vfs*, int n, char* out) { return Base()->xRandomness(Base(), n, out); }
int Sleep(sqlite3_vfs*, int micros) { return Base()->xSleep(Base(), micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return Base()->xCurrentTime(Base(), out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return Base()->xGetLastError(Base(), n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return Base()->xCurrentTimeInt64(Base(), out);
}

}  // namespace

FaultInjectionVfs::FaultInjectionVfs() {
  static sqlite3_vfs vfs;  // SQLite keeps the pointer for the life of the process
  std::memset(&vfs, 0, sizeof(vfs));
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + Base()->szOsFile;
  vfs.mxPathname = Base()->mxPathname;
  vfs.zName = name();
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
}

FaultInjectionVfs& FaultInjectionVfs::Instance() {
  static FaultInjectionVfs* instance = new FaultInjectionVfs();  // never destroyed, as the VFS
  return *instance;
}

}  // namespace triggerd::store::testing
