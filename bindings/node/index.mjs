// ESM entry point: the CommonJS implementation re-exported (one instance for both).
import wsprune from './index.cjs';

export const {
  createSession,
  openSession,
  touchSession,
  acquire,
  Lease,
  pruneSessions,
  pruneSessionsSync,
  deleteSession,
  sessionInfo,
  repairSessions,
  setLogger,
  defaultPruneOptions,
  version,
  libraryPath,
  statusName,
  hasNativeFunction,
  nativeFunctions,
  STATUS_CODES,
  WsPruneError,
  InvalidArgumentError,
  InvalidSessionIdError,
  NotFoundError,
  AlreadyExistsError,
  BusyError,
  IoError,
  PanicError,
  WsPruneLibraryError,
} = wsprune;
export default wsprune;
