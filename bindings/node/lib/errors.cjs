'use strict';
// Errors: one WsPruneError subclass per C status, with `code` the contract's
// lowercase status name (docs/contract.md, "Statuses") and `status` the C value.

/** Lowercase names of the C statuses, indexed by their stable numeric value. */
const STATUS_CODES = [
  'ok',
  'invalid_argument',
  'invalid_session_id',
  'not_found',
  'already_exists',
  'busy',
  'io',
  'panic',
];

class WsPruneError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = 'WsPruneError';
    this.code = code;
    this.status = status;
  }
}

function subclass(name, code) {
  const status = STATUS_CODES.indexOf(code);
  const cls = {
    [name]: class extends WsPruneError {
      constructor(message) {
        super(message, code, status);
        this.name = name;
      }
    },
  }[name];
  return cls;
}

const InvalidArgumentError = subclass('InvalidArgumentError', 'invalid_argument');
const InvalidSessionIdError = subclass('InvalidSessionIdError', 'invalid_session_id');
const NotFoundError = subclass('NotFoundError', 'not_found');
const AlreadyExistsError = subclass('AlreadyExistsError', 'already_exists');
const BusyError = subclass('BusyError', 'busy');
const IoError = subclass('IoError', 'io');
const PanicError = subclass('PanicError', 'panic');

const BY_STATUS = [
  null,
  InvalidArgumentError,
  InvalidSessionIdError,
  NotFoundError,
  AlreadyExistsError,
  BusyError,
  IoError,
  PanicError,
];

/** The error for a C status and message (a plain WsPruneError for an unknown status). */
function errorFor(status, message) {
  const cls = BY_STATUS[status];
  if (cls) return new cls(message);
  return new WsPruneError(message, `status_${status}`, status);
}

/**
 * The library could not be used: not found, not libwsprune, or too old for
 * the function called. Not a WsPruneError: no C status is involved.
 */
class WsPruneLibraryError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WsPruneLibraryError';
    this.code = 'ERR_WSPRUNE_LIBRARY';
  }
}

module.exports = {
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
  errorFor,
};
