/**
 * The session state machine as plain data, with no clock and no fibers: every situation of the state table
 * (docs/lifecycle.md) against every event, then the rules the table cannot show at a glance.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as Machine from "../src/internal/sessionMachine.js"
import {
  close,
  defect,
  drive,
  driveWith,
  eventsFor,
  get,
  getWith,
  invalidate,
  invalidKs,
  notActive,
  policy,
  reach,
  refresh,
  SECOND,
  serviceForbidden,
  settled,
  situations,
  storedSession as stored,
  storeLeased,
  storePolicy,
  storeRead,
  success,
  summary,
  tick,
  unavailable
} from "./utils/machine.js"

/**
 * Each cell: the reply to the event (a demand's answer), the commands, and the status right after, at the
 * situation's time. `f<n>` is a flight, `g<n>` a session generation.
 */
const table: Record<string, Record<string, string>> = {
  "initial": {
    "get": "Await f1 | Acquire f1 | Expired",
    "refresh": "Await f1 | Acquire f1 | Expired",
    "getWith 500 s": "Await f1 | Acquire f1 | Expired",
    "getWith 2 h": "Await f1 | Acquire f1 | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f0 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "first flight": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | Complete f1 g1, Started | Fresh",
    "settled: 503": "- | Complete f1 KalturaHttpError, AttemptFailed transient | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | Complete f1 APP_TOKEN_NOT_ACTIVE, AttemptFailed permanent | Failed",
    "settled: INVALID_KS": "- | Complete f1 INVALID_KS, AttemptFailed permanent | Failed",
    "settled: defect": "- | Complete f1 Defect, AttemptFailed permanent | Failed",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | - | Expired",
    "close: Closed": "- | Complete f1 Closed | Expired"
  },
  "fresh": {
    "get": "Serve g1 | - | Fresh",
    "refresh": "Await f2 | Acquire f2 reusing widget | Refreshing",
    "getWith 500 s": "Serve g1 | - | Fresh",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Fresh",
    "tick": "- | - | Fresh",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Fresh",
    "settled: success": "- | - | Fresh",
    "settled: 503": "- | - | Fresh",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Fresh",
    "settled: INVALID_KS": "- | - | Fresh",
    "settled: defect": "- | - | Fresh",
    "settled: stale flight": "- | - | Fresh",
    "store read: a newer session": "- | - | Fresh",
    "store read: the session held": "- | - | Fresh",
    "store read: miss": "- | - | Fresh",
    "lease: granted": "- | StoreRelease f1 | Fresh",
    "lease: held elsewhere": "- | - | Fresh",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "fresh, within the minimum interval of its start": {
    "get": "Serve g1 | - | Fresh",
    "refresh": "Serve g1 | - | Fresh",
    "getWith 500 s": "Serve g1 | - | Fresh",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Fresh",
    "tick": "- | - | Fresh",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Fresh",
    "settled: success": "- | - | Fresh",
    "settled: 503": "- | - | Fresh",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Fresh",
    "settled: INVALID_KS": "- | - | Fresh",
    "settled: defect": "- | - | Fresh",
    "settled: stale flight": "- | - | Fresh",
    "store read: a newer session": "- | - | Fresh",
    "store read: the session held": "- | - | Fresh",
    "store read: miss": "- | - | Fresh",
    "lease: granted": "- | StoreRelease f1 | Fresh",
    "lease: held elsewhere": "- | - | Fresh",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "fresh, past the refresh point (timer not yet fired)": {
    "get": "Serve g1 | - | Refreshing",
    "refresh": "Await f2 | Acquire f2 reusing widget | Refreshing",
    "getWith 500 s": "Await f2 | Acquire f2 reusing widget | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Refreshing",
    "tick": "- | Acquire f2 reusing widget | Refreshing",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Refreshing",
    "settled: success": "- | - | Refreshing",
    "settled: 503": "- | - | Refreshing",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Refreshing",
    "settled: INVALID_KS": "- | - | Refreshing",
    "settled: defect": "- | - | Refreshing",
    "settled: stale flight": "- | - | Refreshing",
    "store read: a newer session": "- | - | Refreshing",
    "store read: the session held": "- | - | Refreshing",
    "store read: miss": "- | - | Refreshing",
    "lease: granted": "- | StoreRelease f1 | Refreshing",
    "lease: held elsewhere": "- | - | Refreshing",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "fresh, inside the hard margin": {
    "get": "Await f2 | Acquire f2 reusing widget | Refreshing",
    "refresh": "Await f2 | Acquire f2 reusing widget | Refreshing",
    "getWith 500 s": "Await f2 | Acquire f2 reusing widget | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Refreshing",
    "tick": "- | Acquire f2 reusing widget | Refreshing",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Refreshing",
    "settled: success": "- | - | Refreshing",
    "settled: 503": "- | - | Refreshing",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Refreshing",
    "settled: INVALID_KS": "- | - | Refreshing",
    "settled: defect": "- | - | Refreshing",
    "settled: stale flight": "- | - | Refreshing",
    "store read: a newer session": "- | - | Refreshing",
    "store read: the session held": "- | - | Refreshing",
    "store read: miss": "- | - | Refreshing",
    "lease: granted": "- | StoreRelease f1 | Refreshing",
    "lease: held elsewhere": "- | - | Refreshing",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "fresh, past the deadline": {
    "get": "Await f2 | Acquire f2 reusing widget | Expired",
    "refresh": "Await f2 | Acquire f2 reusing widget | Expired",
    "getWith 500 s": "Await f2 | Acquire f2 reusing widget | Expired",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "a refresh waiting out the minimum interval, no KS held": {
    "get": "Await f2 | - | Expired",
    "refresh": "Await f2 | - | Expired",
    "getWith 500 s": "Await f2 | - | Expired",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f2 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Complete f2 Evicted, Release | Expired",
    "close: Closed": "- | Complete f2 Closed | Expired"
  },
  "a refresh waiting out the minimum interval, KS held": {
    "get": "Serve g2 | - | Refreshing",
    "refresh": "Await f3 | - | Refreshing",
    "getWith 500 s": "Fail MinRemainingTooLong | - | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Refreshing",
    "tick": "- | - | Refreshing",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Refreshing",
    "invalidate g9": "- | - | Refreshing",
    "settled: success": "- | - | Refreshing",
    "settled: 503": "- | - | Refreshing",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Refreshing",
    "settled: INVALID_KS": "- | - | Refreshing",
    "settled: defect": "- | - | Refreshing",
    "settled: stale flight": "- | - | Refreshing",
    "store read: a newer session": "- | - | Refreshing",
    "store read: the session held": "- | - | Refreshing",
    "store read: miss": "- | - | Refreshing",
    "lease: granted": "- | StoreRelease f3 | Refreshing",
    "lease: held elsewhere": "- | - | Refreshing",
    "close: Evicted": "- | Complete f3 Evicted, Release | Expired",
    "close: Closed": "- | Complete f3 Closed | Expired"
  },
  "refreshing": {
    "get": "Serve g1 | - | Refreshing",
    "refresh": "Await f2 | - | Refreshing",
    "getWith 500 s": "Await f2 | - | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Refreshing",
    "tick": "- | - | Refreshing",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Refreshing",
    "settled: success": "- | Complete f2 g2, Refreshed | Fresh",
    "settled: 503": "- | Complete f2 KalturaHttpError (still valid), AttemptFailed transient | Degraded",
    "settled: APP_TOKEN_NOT_ACTIVE":
      "- | Complete f2 APP_TOKEN_NOT_ACTIVE, AttemptFailed permanent widget dropped | Failed",
    "settled: INVALID_KS": "- | FellBack, Acquire f2 | Refreshing",
    "settled: defect": "- | Complete f2 Defect, AttemptFailed permanent widget dropped | Failed",
    "settled: stale flight": "- | - | Refreshing",
    "store read: a newer session": "- | - | Refreshing",
    "store read: the session held": "- | - | Refreshing",
    "store read: miss": "- | - | Refreshing",
    "lease: granted": "- | StoreRelease f2 | Refreshing",
    "lease: held elsewhere": "- | - | Refreshing",
    "close: Evicted": "- | - | Expired",
    "close: Closed": "- | Complete f2 Closed | Expired"
  },
  "refreshing, past the deadline": {
    "get": "Await f2 | - | Expired",
    "refresh": "Await f2 | - | Expired",
    "getWith 500 s": "Await f2 | - | Expired",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | Complete f2 g2, Refreshed | Fresh",
    "settled: 503": "- | Complete f2 KalturaHttpError, AttemptFailed transient | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE":
      "- | Complete f2 APP_TOKEN_NOT_ACTIVE, AttemptFailed permanent widget dropped | Failed",
    "settled: INVALID_KS": "- | FellBack, Acquire f2 | Expired",
    "settled: defect": "- | Complete f2 Defect, AttemptFailed permanent widget dropped | Failed",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f2 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | - | Expired",
    "close: Closed": "- | Complete f2 Closed | Expired"
  },
  "degraded": {
    "get": "Serve g1 | - | Degraded",
    "refresh": "Fail KalturaHttpError | - | Degraded",
    "getWith 500 s": "Await f3 | - | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Degraded",
    "tick": "- | - | Degraded",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Degraded",
    "settled: success": "- | - | Degraded",
    "settled: 503": "- | - | Degraded",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Degraded",
    "settled: INVALID_KS": "- | - | Degraded",
    "settled: defect": "- | - | Degraded",
    "settled: stale flight": "- | - | Degraded",
    "store read: a newer session": "- | - | Degraded",
    "store read: the session held": "- | - | Degraded",
    "store read: miss": "- | - | Degraded",
    "lease: granted": "- | StoreRelease f2 | Degraded",
    "lease: held elsewhere": "- | - | Degraded",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "degraded, inside the hard margin": {
    "get": "Await f3 | Acquire f3 reusing widget | Refreshing",
    "refresh": "Await f3 | Acquire f3 reusing widget | Refreshing",
    "getWith 500 s": "Await f3 | Acquire f3 reusing widget | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Degraded",
    "tick": "- | Acquire f3 reusing widget | Refreshing",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | Invalidated | Expired",
    "invalidate g9": "- | - | Degraded",
    "settled: success": "- | - | Degraded",
    "settled: 503": "- | - | Degraded",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Degraded",
    "settled: INVALID_KS": "- | - | Degraded",
    "settled: defect": "- | - | Degraded",
    "settled: stale flight": "- | - | Degraded",
    "store read: a newer session": "- | - | Degraded",
    "store read: the session held": "- | - | Degraded",
    "store read: miss": "- | - | Degraded",
    "lease: granted": "- | StoreRelease f2 | Degraded",
    "lease: held elsewhere": "- | - | Degraded",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "failed, KS held": {
    "get": "Serve g1 | - | Failed",
    "refresh": "Fail APP_TOKEN_NOT_ACTIVE | - | Failed",
    "getWith 500 s": "Await f3 | - | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Failed",
    "tick": "- | - | Failed",
    "invalidate": "- | Invalidated widget dropped | Failed",
    "invalidate g1": "- | Invalidated | Failed",
    "invalidate g9": "- | - | Failed",
    "settled: success": "- | - | Failed",
    "settled: 503": "- | - | Failed",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Failed",
    "settled: INVALID_KS": "- | - | Failed",
    "settled: defect": "- | - | Failed",
    "settled: stale flight": "- | - | Failed",
    "store read: a newer session": "- | - | Failed",
    "store read: the session held": "- | - | Failed",
    "store read: miss": "- | - | Failed",
    "lease: granted": "- | StoreRelease f2 | Failed",
    "lease: held elsewhere": "- | - | Failed",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "failed, past the deadline and the cooldown": {
    "get": "Await f3 | Acquire f3 | Expired",
    "refresh": "Await f3 | Acquire f3 | Expired",
    "getWith 500 s": "Await f3 | Acquire f3 | Expired",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Failed",
    "tick": "- | - | Failed",
    "invalidate": "- | Invalidated widget dropped | Failed",
    "invalidate g1": "- | Invalidated | Failed",
    "invalidate g9": "- | - | Failed",
    "settled: success": "- | - | Failed",
    "settled: 503": "- | - | Failed",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Failed",
    "settled: INVALID_KS": "- | - | Failed",
    "settled: defect": "- | - | Failed",
    "settled: stale flight": "- | - | Failed",
    "store read: a newer session": "- | - | Failed",
    "store read: the session held": "- | - | Failed",
    "store read: miss": "- | - | Failed",
    "lease: granted": "- | StoreRelease f2 | Failed",
    "lease: held elsewhere": "- | - | Failed",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "first attempt failed transiently": {
    "get": "Fail KalturaHttpError | - | Expired",
    "refresh": "Fail KalturaHttpError | - | Expired",
    "getWith 500 s": "Await f2 | - | Expired",
    "getWith 2 h": "Await f2 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "first attempt failed permanently": {
    "get": "Fail APP_TOKEN_NOT_ACTIVE | - | Failed",
    "refresh": "Fail APP_TOKEN_NOT_ACTIVE | - | Failed",
    "getWith 500 s": "Await f2 | - | Expired",
    "getWith 2 h": "Await f2 | - | Expired",
    "tick": "- | - | Failed",
    "invalidate": "- | Invalidated widget dropped | Failed",
    "invalidate g1": "- | - | Failed",
    "invalidate g9": "- | - | Failed",
    "settled: success": "- | - | Failed",
    "settled: 503": "- | - | Failed",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Failed",
    "settled: INVALID_KS": "- | - | Failed",
    "settled: defect": "- | - | Failed",
    "settled: stale flight": "- | - | Failed",
    "store read: a newer session": "- | - | Failed",
    "store read: the session held": "- | - | Failed",
    "store read: miss": "- | - | Failed",
    "lease: granted": "- | StoreRelease f1 | Failed",
    "lease: held elsewhere": "- | - | Failed",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "invalidated": {
    "get": "Await f2 | Acquire f2 | Expired",
    "refresh": "Await f2 | Acquire f2 | Expired",
    "getWith 500 s": "Await f2 | Acquire f2 | Expired",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "evicted while refreshing": {
    "get": "Fail Evicted | - | Expired",
    "refresh": "Fail Evicted | - | Expired",
    "getWith 500 s": "Fail Evicted | - | Expired",
    "getWith 2 h": "Fail Evicted | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | - | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | Complete f2 g2, Release | Expired",
    "settled: 503": "- | Complete f2 KalturaHttpError, Release | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | Complete f2 APP_TOKEN_NOT_ACTIVE, Release | Expired",
    "settled: INVALID_KS": "- | FellBack, Acquire f2 | Expired",
    "settled: defect": "- | Complete f2 Defect, Release | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f2 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | - | Expired",
    "close: Closed": "- | Complete f2 Closed | Expired"
  },
  "closed": {
    "get": "Fail Closed | - | Expired",
    "refresh": "Fail Closed | - | Expired",
    "getWith 500 s": "Fail Closed | - | Expired",
    "getWith 2 h": "Fail Closed | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | - | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | - | Expired",
    "close: Closed": "- | - | Expired"
  },
  "store: initial": {
    "get": "Await f1 | StoreRead f1 | Expired",
    "refresh": "Await f1 | StoreRead f1 | Expired",
    "getWith 500 s": "Await f1 | StoreRead f1 | Expired",
    "getWith 2 h": "Await f1 | StoreRead f1 | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f0 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Release | Expired",
    "close: Closed": "- | - | Expired"
  },
  "store: first read": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | Complete f1 g1, Started from the store | Fresh",
    "store read: the session held": "- | StoreLease f1 | Expired",
    "store read: miss": "- | StoreLease f1 | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Complete f1 Evicted, Release | Expired",
    "close: Closed": "- | Complete f1 Closed | Expired"
  },
  "store: asking for the lease": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRead f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Complete f1 Evicted, Release | Expired",
    "close: Closed": "- | Complete f1 Closed | Expired"
  },
  "store: waiting for another holder, no KS": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Complete f1 Evicted, Release | Expired",
    "close: Closed": "- | Complete f1 Closed | Expired"
  },
  "store: waiting, the holder's time is up (30 s)": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | Complete f1 g1, Started from the store | Fresh",
    "store read: the session held": "- | StoreLease f1 | Expired",
    "store read: miss": "- | StoreLease f1 | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | Complete f1 Evicted, Release | Expired",
    "close: Closed": "- | Complete f1 Closed | Expired"
  },
  "store: reading again under the lease": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | - | Expired",
    "settled: 503": "- | - | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Expired",
    "settled: INVALID_KS": "- | - | Expired",
    "settled: defect": "- | - | Expired",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | StoreRelease f1, Complete f1 g1, Started from the store | Fresh",
    "store read: the session held": "- | Acquire f1 | Expired",
    "store read: miss": "- | Acquire f1 | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | StoreRelease f1, Complete f1 Evicted, Release | Expired",
    "close: Closed": "- | StoreRelease f1, Complete f1 Closed | Expired"
  },
  "store: acquiring under the lease": {
    "get": "Await f1 | - | Expired",
    "refresh": "Await f1 | - | Expired",
    "getWith 500 s": "Await f1 | - | Expired",
    "getWith 2 h": "Await f1 | - | Expired",
    "tick": "- | - | Expired",
    "invalidate": "- | Invalidated widget dropped | Expired",
    "invalidate g1": "- | - | Expired",
    "invalidate g9": "- | - | Expired",
    "settled: success": "- | StoreWrite, StoreRelease f1, Complete f1 g1, Started | Fresh",
    "settled: 503": "- | StoreRelease f1, Complete f1 KalturaHttpError, AttemptFailed transient | Expired",
    "settled: APP_TOKEN_NOT_ACTIVE":
      "- | StoreRelease f1, Complete f1 APP_TOKEN_NOT_ACTIVE, AttemptFailed permanent | Failed",
    "settled: INVALID_KS": "- | StoreRelease f1, Complete f1 INVALID_KS, AttemptFailed permanent | Failed",
    "settled: defect": "- | StoreRelease f1, Complete f1 Defect, AttemptFailed permanent | Failed",
    "settled: stale flight": "- | - | Expired",
    "store read: a newer session": "- | - | Expired",
    "store read: the session held": "- | - | Expired",
    "store read: miss": "- | - | Expired",
    "lease: granted": "- | StoreRelease f1 | Expired",
    "lease: held elsewhere": "- | - | Expired",
    "close: Evicted": "- | - | Expired",
    "close: Closed": "- | StoreRelease f1, Complete f1 Closed | Expired"
  },
  "store: fresh, refresh reading the store": {
    "get": "Serve g1 | - | Refreshing",
    "refresh": "Await f2 | - | Refreshing",
    "getWith 500 s": "Await f2 | - | Refreshing",
    "getWith 2 h": "Fail MinRemainingTooLong | - | Refreshing",
    "tick": "- | - | Refreshing",
    "invalidate": "- | StoreDelete, Invalidated widget dropped | Expired",
    "invalidate g1": "- | StoreDelete, Invalidated | Expired",
    "invalidate g9": "- | - | Refreshing",
    "settled: success": "- | - | Refreshing",
    "settled: 503": "- | - | Refreshing",
    "settled: APP_TOKEN_NOT_ACTIVE": "- | - | Refreshing",
    "settled: INVALID_KS": "- | - | Refreshing",
    "settled: defect": "- | - | Refreshing",
    "settled: stale flight": "- | - | Refreshing",
    "store read: a newer session": "- | Complete f2 g2, Refreshed from the store | Fresh",
    "store read: the session held": "- | StoreLease f2 | Refreshing",
    "store read: miss": "- | StoreLease f2 | Refreshing",
    "lease: granted": "- | StoreRelease f2 | Refreshing",
    "lease: held elsewhere": "- | - | Refreshing",
    "close: Evicted": "- | Complete f2 Evicted, Release | Expired",
    "close: Closed": "- | Complete f2 Closed | Expired"
  }
}

describe("the session machine: every event in every situation", () => {
  for (const situation of situations) {
    describe(situation.name, () => {
      for (const [name, event] of eventsFor(situation.state)) {
        it(name, () => {
          const transition = Machine.step(situation.policy ?? policy, situation.state, event, situation.now)
          assert.strictEqual(summary(transition, situation.now), table[situation.name]?.[name])
        })
      }
    })
  }

  it("the table has a row for every situation and event, and no other", () => {
    assert.deepStrictEqual(Object.keys(table), situations.map((situation) => situation.name))
    for (const situation of situations) {
      assert.deepStrictEqual(Object.keys(table[situation.name]!), eventsFor(situation.state).map(([name]) => name))
    }
  })
})

const fresh = [[get, 0], [settled(1, success(0)), 0]] as const
const refreshing = [...fresh, [tick, 800 * SECOND]] as const

const held = (state: Machine.State) => {
  assert.isDefined(state.held)
  return state.held!
}
const commandsOf = (transition: Machine.Transition) => transition.commands.map((command) => command._tag)
const acquired = (transition: Machine.Transition) =>
  transition.commands.find((command): command is Extract<Machine.Command, { _tag: "Acquire" }> =>
    command._tag === "Acquire"
  )

describe("the session machine: time", () => {
  it("a 1000 s session: refresh point from the random draw in [0.75, 0.85], hard margin min(60 s, 10%)", () => {
    for (const [random, refreshAt] of [[0, 750], [0.5, 800], [0.999, 850]] as const) {
      const state = reach([get, 0], [settled(1, success(0), random), 0])
      assert.strictEqual(Math.round(held(state).refreshAt / SECOND), refreshAt)
      assert.strictEqual(held(state).hardAt, 940 * SECOND)
      assert.strictEqual(held(state).session.expiresAt, 1000 * SECOND)
    }
    const short = reach([get, 0], [settled(1, success(0, { lifetime: 100 * SECOND })), 0])
    assert.strictEqual(held(short).hardAt, 90 * SECOND)
  })

  it("the next wake-up: refresh point, start of a scheduled flight, backoff step, deadline while refreshing", () => {
    assert.strictEqual(Machine.wakeAt(reach(...fresh), 100 * SECOND), 800 * SECOND)
    assert.strictEqual(Machine.wakeAt(reach(...refreshing), 801 * SECOND), 1000 * SECOND)
    const degraded = reach(...refreshing, [settled(2, unavailable), 801 * SECOND])
    assert.strictEqual(Machine.wakeAt(degraded, 802 * SECOND), 806 * SECOND)
    const failed = reach(...refreshing, [settled(2, notActive), 801 * SECOND])
    assert.isUndefined(Machine.wakeAt(failed, 802 * SECOND))
    const waiting = reach(...fresh, [invalidate(1), SECOND], [refresh, 2 * SECOND])
    assert.strictEqual(Machine.wakeAt(waiting, 3 * SECOND), 5 * SECOND)
    assert.isUndefined(Machine.wakeAt(reach(...fresh, [close("Closed"), SECOND]), 2 * SECOND))
  })

  it("a tick at the wake-up time always makes progress (no timer loop)", () => {
    for (const situation of situations) {
      const at = Machine.wakeAt(situation.state, situation.now)
      if (at === undefined) continue
      const next = Machine.step(policy, situation.state, tick, at)
      const progressed = acquired(next) !== undefined ||
        Machine.statusOf(next.state, at) !== Machine.statusOf(situation.state, situation.now) ||
        (Machine.wakeAt(next.state, at) ?? Number.POSITIVE_INFINITY) > at
      assert.isTrue(progressed, situation.name)
    }
  })

  it("the status changes to Expired at the deadline of a KS held while refreshing", () => {
    const state = reach(...refreshing)
    assert.strictEqual(Machine.statusOf(state, 999 * SECOND), "Refreshing")
    assert.strictEqual(Machine.statusOf(state, 1000 * SECOND), "Expired")
  })

  it("a Date header within the bound corrects for skew; beyond it, it is ignored and logged once", () => {
    // the server's clock 5 minutes ahead: corrected
    const skewed = reach([get, 0], [settled(1, success(0, { serverNow: 300 * SECOND })), 0])
    assert.strictEqual(held(skewed).session.expiresAt, 1000 * SECOND)
    // a header 3 hours ahead, with the server's expiry right on our clock: ignored, the local clock is used
    const bogus = success(0, { serverNow: 3 * 3600 * SECOND })
    if (bogus._tag !== "Success") return
    const outcome: Machine.Outcome = {
      ...bogus,
      response: { ...bogus.response, result: { ...bogus.response.result, expiry: 1000 } }
    }
    const first = drive(Machine.initial, [get, 0], [settled(1, outcome), 0])
    assert.strictEqual(held(first.state).session.expiresAt, 1000 * SECOND)
    assert.include(commandsOf(first), "DateIgnored")
    // logged once
    const second = drive(first.state, [refresh, 10 * SECOND], [settled(2, outcome), 10 * SECOND])
    assert.notInclude(commandsOf(second), "DateIgnored")
  })

  it("without a usable Date header the lifetime is capped by the requested expiry", () => {
    const capped = Machine.policyOf({ partnerId: 12345, appTokenId: "0_abcd1234", expiry: 600 }, {})
    const outcome = success(0, { serverNow: null, lifetime: 1000 * SECOND })
    const transition = Machine.step(
      capped,
      Machine.step(capped, Machine.initial, get, 0).state,
      settled(1, outcome),
      0
    )
    assert.strictEqual(held(transition.state).session.expiresAt, 600 * SECOND)
    assert.include(commandsOf(transition), "DateIgnored")
  })

  it("sessions for another partner, already expired, or longer than requested are refused as InvalidSession", () => {
    const cases: ReadonlyArray<readonly [Machine.Policy, Machine.Outcome]> = [
      [policy, success(0, { partnerId: 999 })],
      [policy, success(0, { lifetime: -5 * SECOND })],
      [Machine.policyOf({ partnerId: 12345, appTokenId: "0_abcd1234", expiry: 600 }, {}), success(0)]
    ]
    for (const [casePolicy, outcome] of cases) {
      const transition = Machine.step(
        casePolicy,
        Machine.step(casePolicy, Machine.initial, get, 0).state,
        settled(1, outcome),
        0
      )
      const complete = transition.commands.find((command) => command._tag === "Complete")
      assert.isTrue(
        complete?._tag === "Complete" && complete.result._tag === "Failed" &&
          complete.result.error._tag === "KalturaSessionError" && complete.result.error.reason === "InvalidSession"
      )
      assert.strictEqual(Machine.statusOf(transition.state, 0), "Failed")
    }
  })
})

describe("the session machine: failures", () => {
  it("transient failures back off exponentially, jittered, never sooner than the minimum interval", () => {
    let state = reach(...refreshing)
    const delays: Array<number> = []
    let now = 801 * SECOND
    for (let attempt = 2; attempt < 8; attempt++) {
      state = Machine.step(policy, state, settled(attempt, unavailable, 0.5), now).state
      delays.push((state.failure!.notBefore - now) / SECOND)
      now = state.failure!.notBefore
      state = Machine.step(policy, state, tick, now).state
    }
    assert.deepStrictEqual(delays, [5, 5, 8, 16, 32, 64])
    const jittered = Machine.step(policy, reach(...refreshing), settled(2, unavailable, 0), 801 * SECOND).state
    assert.strictEqual(jittered.failure!.notBefore - 801 * SECOND, 5 * SECOND) // max(minimum interval, 0.8 × 2 s)
  })

  it("a defect is a typed KalturaSessionError (Defect) for the waiters, and stops automatic attempts", () => {
    const transition = drive(Machine.initial, [get, 0], [settled(1, defect), 0])
    const complete = transition.commands.find((command) => command._tag === "Complete")
    assert.isTrue(
      complete?._tag === "Complete" && complete.result._tag === "Failed" &&
        complete.result.error._tag === "KalturaSessionError" && complete.result.error.reason === "Defect"
    )
    assert.strictEqual(Machine.statusOf(transition.state, 0), "Failed")
  })

  it("a reused widget KS rejected with INVALID_KS falls back to a new widget session once", () => {
    const first = drive(Machine.initial, ...refreshing)
    assert.isDefined(acquired(first)?.widget)
    const fellBack = Machine.step(policy, first.state, settled(2, invalidKs), 801 * SECOND)
    assert.deepStrictEqual(commandsOf(fellBack), ["FellBack", "Acquire"])
    assert.isUndefined(acquired(fellBack)!.widget)
    // the new widget KS is rejected too: now it is a failure
    const failed = Machine.step(policy, fellBack.state, settled(2, invalidKs), 802 * SECOND)
    assert.deepStrictEqual(commandsOf(failed), ["Complete", "AttemptFailed"])
  })

  it("any other permanent error on a reused widget KS drops it: the next attempt starts from step 1", () => {
    const failed = reach(...refreshing, [settled(2, serviceForbidden), 801 * SECOND])
    assert.isUndefined(failed.widget)
    const retried = Machine.step(policy, failed, refresh, 900 * SECOND)
    assert.isDefined(acquired(retried))
    assert.isUndefined(acquired(retried)!.widget)
  })

  it("a transient error keeps the widget KS", () => {
    const degraded = reach(...refreshing, [settled(2, unavailable), 801 * SECOND])
    assert.isDefined(degraded.widget)
  })
})

describe("the session machine: invalidation", () => {
  it("invalidate drops the widget session, also the one a running flight obtains", () => {
    const during = reach(...refreshing, [invalidate(), 801 * SECOND], [settled(2, success(800 * SECOND)), 802 * SECOND])
    assert.strictEqual(held(during).session.generation, 2)
    assert.isUndefined(during.widget)
    const next = Machine.step(policy, during, refresh, 900 * SECOND)
    assert.isUndefined(acquired(next)!.widget)
  })

  it("invalidateGeneration (the re-auth path) drops only that generation and keeps the widget session", () => {
    const state = reach(...fresh, [invalidate(1), 10 * SECOND])
    assert.isUndefined(state.held)
    assert.isDefined(state.widget)
    assert.isDefined(acquired(Machine.step(policy, state, get, 11 * SECOND))!.widget)
    const stale = reach(...fresh, [invalidate(7), 10 * SECOND])
    assert.strictEqual(held(stale).session.generation, 1)
  })
})

describe("the session machine: getWith", () => {
  it("waits out the minimum interval and refreshes, instead of failing", () => {
    // a failed attempt at 0: the next may start at 5 s
    const failed = reach([get, 0], [settled(1, unavailable), 0])
    const asked = Machine.step(policy, failed, getWith(500 * SECOND), 1 * SECOND)
    assert.deepStrictEqual(commandsOf(asked), ["Reply"])
    assert.strictEqual(Machine.wakeAt(asked.state, 1 * SECOND), 5 * SECOND)
    const started = Machine.step(policy, asked.state, tick, 5 * SECOND)
    assert.deepStrictEqual(commandsOf(started), ["Acquire"])
  })

  it("fails only when no session can live that long", () => {
    const requested = Machine.policyOf({ partnerId: 12345, appTokenId: "0_abcd1234", expiry: 600 }, {})
    const tooLong = Machine.step(requested, Machine.initial, getWith(601 * SECOND), 0)
    assert.deepStrictEqual(commandsOf(tooLong), ["Reply"])
    const granted = reach(...fresh)
    const limit = Machine.step(policy, granted, getWith(941 * SECOND), 900 * SECOND)
    assert.deepStrictEqual(commandsOf(limit), ["Reply"])
    const possible = Machine.step(policy, granted, getWith(940 * SECOND), 900 * SECOND)
    assert.deepStrictEqual(commandsOf(possible), ["Acquire", "Reply"])
  })

  it("what a waiter gets: the new session, or after a transient failure the one still valid", () => {
    const session = held(reach(...fresh)).session
    const obtained: Machine.FlightResult = { _tag: "Obtained", session }
    const failed: Machine.FlightResult = { _tag: "Failed", error: (unavailable as any).error, stillValid: session }
    assert.isTrue(Either.isRight(Machine.resolve({ _tag: "Get" }, obtained, 0)))
    assert.isTrue(Either.isRight(Machine.resolve({ _tag: "Get" }, failed, 999 * SECOND)))
    assert.isTrue(Either.isLeft(Machine.resolve({ _tag: "Get" }, failed, 1000 * SECOND)))
    assert.isTrue(Either.isLeft(Machine.resolve({ _tag: "Refresh" }, failed, 0)))
    assert.isTrue(
      Either.isRight(Machine.resolve({ _tag: "GetWith", minRemaining: 100 * SECOND }, failed, 800 * SECOND))
    )
    assert.isTrue(Either.isLeft(Machine.resolve({ _tag: "GetWith", minRemaining: 300 * SECOND }, failed, 800 * SECOND)))
    const tooShort = Machine.resolve({ _tag: "GetWith", minRemaining: 2000 * SECOND }, obtained, 0)
    assert.isTrue(Either.isLeft(tooShort) && tooShort.left.message.includes("the server grants 1000 s"))
  })
})

describe("the session machine: closing", () => {
  it("closing fails the waiters of any flight with a typed error; an eviction lets a running one finish first", () => {
    const closed = drive(Machine.initial, ...refreshing, [close("Closed"), 801 * SECOND])
    const complete = closed.commands.find((command) => command._tag === "Complete")
    assert.isTrue(
      complete?._tag === "Complete" && complete.result._tag === "Failed" &&
        complete.result.error._tag === "KalturaSessionError" && complete.result.error.reason === "Closed"
    )
    const evicted = reach(...refreshing, [close("Evicted"), 801 * SECOND])
    assert.isDefined(evicted.flight)
    const drained = Machine.step(policy, evicted, settled(2, success(800 * SECOND)), 802 * SECOND)
    assert.deepStrictEqual(commandsOf(drained), ["Complete", "Release"])
    assert.isUndefined(drained.state.held)
  })

  it("no KS is ever served after close, and no timer is wanted", () => {
    for (const reason of ["Evicted", "Closed"] as const) {
      const state = reach(...fresh, [close(reason), 10 * SECOND])
      assert.isUndefined(state.held)
      assert.isUndefined(Machine.wakeAt(state, 10 * SECOND))
      const answer = Machine.step(policy, state, get, 11 * SECOND).commands[0]
      assert.isTrue(answer?._tag === "Reply" && answer.answer._tag === "Fail")
    }
  })
})

describe("the session machine: a shared session store", () => {
  const withStore = (...events: ReadonlyArray<readonly [Machine.Event, number]>) =>
    driveWith(storePolicy, Machine.initial, ...events)

  it("a cold start reads the store first and adopts a session another process stored: no request", () => {
    const adopted = withStore([get, 0], [storeRead(1, stored(0)), 10])
    assert.deepStrictEqual(commandsOf(adopted), ["Complete", "Obtained"])
    assert.strictEqual(held(adopted.state).session.source, "store")
    assert.strictEqual(held(adopted.state).session.expiresAt, 1000 * SECOND)
    // its widget session comes with it: the next refresh is one round trip
    assert.isDefined(adopted.state.widget)
  })

  it("a stored session's deadline comes from the server's expiry and the writer's clock offset", () => {
    // the writer's server clock was 2 s ahead of its local clock
    const entry = { ...stored(0), expiry: 1002, clockOffset: 2000 }
    const adopted = withStore([get, 0], [storeRead(1, entry), 10])
    assert.strictEqual(held(adopted.state).session.expiresAt, 1000 * SECOND)
  })

  it("a stored session inside its hard margin, or not newer than the one replaced, is not adopted", () => {
    const late = withStore([get, 0], [storeRead(1, stored(0)), 950 * SECOND])
    assert.deepStrictEqual(commandsOf(late), ["StoreLease"])
    // a forced refresh must not get back the KS it replaces
    const first = withStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, true), 0], [
      storeRead(1, undefined),
      0
    ], [settled(1, success(0)), 0])
    const again = driveWith(storePolicy, first.state, [refresh, 10 * SECOND], [
      storeRead(2, { ...stored(0), expiry: held(first.state).session.expiry }),
      10 * SECOND
    ])
    assert.deepStrictEqual(commandsOf(again), ["StoreLease"])
  })

  it("a session obtained under the lease is written to the store (with its widget session and clock offset)", () => {
    const obtained = withStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, true), 0], [
      storeRead(1, undefined),
      0
    ], [settled(1, success(0, { serverNow: 2000 })), 0])
    const write = obtained.commands.find((command) => command._tag === "StoreWrite")
    assert.isTrue(write?._tag === "StoreWrite")
    if (write?._tag !== "StoreWrite") return
    assert.strictEqual(write.session.expiry, held(obtained.state).session.expiry)
    assert.strictEqual(write.session.expiry * 1000 - write.session.clockOffset, held(obtained.state).session.expiresAt)
    assert.isDefined(write.session.widget)
    assert.include(commandsOf(obtained), "StoreRelease")
  })

  it("with the lease elsewhere: read the store every 500 ms for the holder's result, for the lease's 30 s, twice", () => {
    const waiting = withStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, false), 0])
    assert.strictEqual(Machine.wakeAt(waiting.state, 0), 500)
    const polled = driveWith(storePolicy, waiting.state, [tick, 500])
    assert.deepStrictEqual(commandsOf(polled), ["StoreRead"])
    // still nothing: wait on
    const missed = driveWith(storePolicy, polled.state, [storeRead(1, undefined), 520])
    assert.deepStrictEqual(commandsOf(missed), [])
    assert.strictEqual(Machine.wakeAt(missed.state, 520), 1020)
    // the holder's result arrives: adopted
    const adopted = driveWith(storePolicy, missed.state, [tick, 1020], [storeRead(1, stored(900)), 1030])
    assert.deepStrictEqual(commandsOf(adopted), ["Complete", "Obtained"])
    // or the holder died: after the lease's time, ask for the lease once more (one waiter refreshes for all)
    const timeUp = driveWith(storePolicy, missed.state, [tick, 30_100], [storeRead(1, undefined), 30_100])
    assert.deepStrictEqual(commandsOf(timeUp), ["StoreLease"])
    const granted = driveWith(storePolicy, timeUp.state, [storeLeased(1, true), 30_110])
    assert.deepStrictEqual(commandsOf(granted), ["StoreRead"])
    assert.deepStrictEqual(commandsOf(driveWith(storePolicy, granted.state, [storeRead(1, undefined), 30_120])), [
      "Acquire"
    ])
    // another waiter got it: wait for that one, and when that wait runs out too, acquire without the lease
    const refused = driveWith(storePolicy, timeUp.state, [storeLeased(1, false), 30_110])
    assert.deepStrictEqual(commandsOf(refused), [])
    assert.strictEqual(Machine.wakeAt(refused.state, 30_110), 30_610)
    const gaveUp = driveWith(storePolicy, refused.state, [tick, 60_200], [storeRead(1, undefined), 60_200])
    assert.deepStrictEqual(commandsOf(gaveUp), ["Acquire"])
    assert.isFalse(gaveUp.state.flight!.leased)
  })

  it("a stored widget session is used for our own acquisition when the stored session itself is not adoptable", () => {
    const acquired = withStore(
      [get, 0],
      [storeRead(1, stored(0)), 950 * SECOND],
      [storeLeased(1, true), 950 * SECOND],
      [storeRead(1, stored(0)), 950 * SECOND]
    )
    const acquire = acquired.commands.find((command): command is Extract<Machine.Command, { _tag: "Acquire" }> =>
      command._tag === "Acquire"
    )
    assert.isDefined(acquire?.widget)
  })

  it("with the lease, the store is read once more: a session written meanwhile is adopted and the lease given up", () => {
    const leased = withStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, true), 5])
    assert.deepStrictEqual(commandsOf(leased), ["StoreRead"])
    // the previous holder wrote its session between our first read and its release
    const adopted = driveWith(storePolicy, leased.state, [storeRead(1, stored(0)), 10])
    assert.deepStrictEqual(commandsOf(adopted), ["StoreRelease", "Complete", "Obtained"])
    assert.strictEqual(held(adopted.state).session.source, "store")
    // still nothing: acquire under the lease
    const acquiring = driveWith(storePolicy, leased.state, [storeRead(1, undefined), 10])
    assert.deepStrictEqual(commandsOf(acquiring), ["Acquire"])
    assert.isTrue(acquiring.state.flight!.leased)
  })

  it("invalidate and the re-auth path delete the store's entry if it still holds the dropped KS", () => {
    const fresh = withStore([get, 0], [storeRead(1, stored(0)), 0])
    const ks = held(fresh.state).session.ks
    for (const event of [invalidate(), invalidate(1)]) {
      const dropped = driveWith(storePolicy, fresh.state, [event, SECOND])
      const deleted = dropped.commands.find((command) => command._tag === "StoreDelete")
      assert.isTrue(deleted?._tag === "StoreDelete" && deleted.ks === ks)
    }
  })

  it("closing gives the lease up, also one granted after the session closed", () => {
    const acquiring = withStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, true), 0])
    assert.include(commandsOf(driveWith(storePolicy, acquiring.state, [close("Closed"), 10])), "StoreRelease")
    const leasing = withStore([get, 0], [storeRead(1, undefined), 0], [close("Closed"), 5])
    assert.deepStrictEqual(commandsOf(driveWith(storePolicy, leasing.state, [storeLeased(1, true), 10])), [
      "StoreRelease"
    ])
  })
})
