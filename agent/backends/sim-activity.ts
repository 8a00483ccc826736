/**
 * The activity model of the simulated backend: people who log on at free stations or from afar,
 * work (input), go idle (no input for a while), lock their screen and come back, disconnect and
 * reconnect, and log off. It drives the host through the same calls a test would, so every event
 * reaches watchers as a change of a session.
 *
 * Input is a Remote Desktop session's event only: Windows does not track the input of console-type
 * sessions (the console, MultiPoint stations), so the model never gives them a last input time
 * (their idle time stays unknown, as on a real host) and their users' work is no event.
 *
 * Events are a Poisson process: each possible event of each session has a rate per hour
 * ({@link SimActivityRates}); the time to the next event is drawn from an exponential
 * distribution of the total rate, and the event is picked in proportion to its rate. Randomness
 * comes from a seeded generator and time from an injected clock, so a run is replayed exactly by
 * the same seed, fixture and clock.
 */
import { SessionState } from "../../proto/gen/wms/v1/wms_session.js";
import type { BackendSession } from "../sessions/backend.js";
import type { SimClock, SimTimer } from "./sim-clock.js";
import { simProtocol, type SimSession, type SimSessionUpdate } from "./sim-fixture.js";

/** How often each event happens, per hour, for each session it can happen to. */
export interface SimActivityRates {
  /** A user logs on at a free station (a logon screen). @default 6 — a free seat is taken within minutes */
  readonly logonPerHour: number;
  /** A user starts a remote session (host-wide, while fewer than `maxRemoteSessions`). @default 2 */
  readonly remoteLogonPerHour: number;
  /** A user at work touches keyboard or mouse (the gaps between are idle time). @default 20 */
  readonly inputPerHour: number;
  /** A user at work locks the screen. @default 1 */
  readonly lockPerHour: number;
  /** A user whose screen is locked comes back and unlocks it. @default 4 */
  readonly unlockPerHour: number;
  /** A remote user's connection drops or is closed (the session stays, disconnected). @default 0.5 */
  readonly disconnectPerHour: number;
  /** A disconnected user reconnects. @default 2 */
  readonly reconnectPerHour: number;
  /** A logged-on user logs off. @default 0.5 — a class lasts about two hours */
  readonly logoffPerHour: number;
}

/** The default rates: a classroom during a school day. */
export const DEFAULT_ACTIVITY_RATES: SimActivityRates = {
  logonPerHour: 6,
  remoteLogonPerHour: 2,
  inputPerHour: 20,
  lockPerHour: 1,
  unlockPerHour: 4,
  disconnectPerHour: 0.5,
  reconnectPerHour: 2,
  logoffPerHour: 0.5,
};

/** Options of the activity model. */
export interface SimActivityOptions {
  /** Seeds the generator: the same seed replays the same day. A uint32. */
  readonly seed: number;
  /** Overrides of {@link DEFAULT_ACTIVITY_RATES}. */
  readonly rates?: Partial<SimActivityRates>;
  /** Time runs this many times faster than the clock (demos). @default 1 */
  readonly speed?: number;
  /** At most this many remote sessions at once. @default 8 — the licences of a small host */
  readonly maxRemoteSessions?: number;
  /** Called after each event, for tests and logs. */
  readonly onEvent?: (event: SimActivityEvent) => void;
}

/** The kinds of event the model makes. */
export type SimActivityKind = keyof typeof EVENT_RATE;

/** One event of the model. */
export interface SimActivityEvent {
  /** When it happened, by the model's clock (milliseconds since the epoch). */
  readonly timeMs: number;
  readonly kind: SimActivityKind;
  readonly sessionId: number;
  /** The user concerned. */
  readonly userName: string;
}

/** What the model needs of the simulated host. */
export interface SimHost {
  snapshot(): BackendSession[];
  addSession(session: SimSession): void;
  updateSession(sessionId: number, update: SimSessionUpdate): void;
  endLogon(sessionId: number): boolean;
}

/** A running activity model. */
export interface SimActivity {
  /** The seed it runs with (to replay it). */
  readonly seed: number;
  /** Events so far. */
  events(): number;
  /** Stops it; no event happens afterwards. */
  stop(): void;
}

const EVENT_RATE = {
  logon: "logonPerHour",
  "remote-logon": "remoteLogonPerHour",
  input: "inputPerHour",
  lock: "lockPerHour",
  unlock: "unlockPerHour",
  disconnect: "disconnectPerHour",
  reconnect: "reconnectPerHour",
  logoff: "logoffPerHour",
} as const satisfies Record<string, keyof SimActivityRates>;

const MS_PER_HOUR = 3_600_000;
/** Remote sessions get ids from here up (MultiPoint stations and the console sit below). */
const FIRST_REMOTE_ID = 100;
/** The users of the simulated school, in the order the generator draws from. */
const USERS = [
  "aiko.tanaka",
  "amara.okeke",
  "ben.schofield",
  "chloe.martin",
  "dmitri.volkov",
  "elif.yilmaz",
  "finn.gallagher",
  "grace.osei",
  "hamza.rahman",
  "ines.duarte",
  "jakub.kowalski",
  "kira.petrova",
  "liam.byrne",
  "maya.goldberg",
  "noah.fischer",
  "olga.ivanova",
  "pablo.ruiz",
  "quinn.harper",
  "rosa.bianchi",
  "sami.haddad",
  "tara.nguyen",
  "umar.farouk",
  "vera.lindqvist",
  "wen.zhou",
];

/** The simulated school's teachers, among {@link USERS}: the rest are pupils. */
const TEACHERS: ReadonlySet<string> = new Set(["ines.duarte", "sami.haddad"]);

/**
 * A user's groups, as Windows would report them: a teacher is in `LAB\Teachers` and `LAB\Staff`
 * (what a policy's exempt groups name), a pupil in `LAB\Students`.
 */
export function simUserGroups(userName: string): string[] {
  return TEACHERS.has(userName) ? ["LAB\\Staff", "LAB\\Teachers"] : ["LAB\\Students"];
}

/**
 * Starts the model on `host`.
 * @throws TypeError on a seed that is not a uint32, a negative or non-finite rate or speed.
 */
export function startSimActivity(
  host: SimHost,
  options: SimActivityOptions & { readonly clock: SimClock },
): SimActivity {
  const { clock } = options;
  const seed = options.seed;
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    throw new TypeError(`activity seed: ${seed} is not an integer 0..4294967295`);
  }
  const rates = { ...DEFAULT_ACTIVITY_RATES, ...options.rates };
  for (const [name, rate] of Object.entries(rates)) {
    if (!(Number.isFinite(rate) && rate >= 0)) {
      throw new TypeError(`activity rates.${name}: ${rate} is not a non-negative rate per hour`);
    }
  }
  const speed = options.speed ?? 1;
  if (!(Number.isFinite(speed) && speed > 0)) {
    throw new TypeError(`activity speed: ${speed} is not a positive factor`);
  }
  const maxRemote = options.maxRemoteSessions ?? 8;
  if (!(Number.isSafeInteger(maxRemote) && maxRemote >= 0)) {
    throw new TypeError(`activity maxRemoteSessions: ${maxRemote} is not a non-negative integer`);
  }
  const random = mulberry32(seed);
  let timer: SimTimer | undefined;
  let stopped = false;
  let count = 0;

  const candidates = (): { kind: SimActivityKind; session?: BackendSession; rate: number }[] => {
    const sessions = host.snapshot();
    const list: { kind: SimActivityKind; session?: BackendSession; rate: number }[] = [];
    const add = (kind: SimActivityKind, session?: BackendSession) => {
      const rate = rates[EVENT_RATE[kind]];
      if (rate > 0) list.push({ kind, rate, ...(session === undefined ? {} : { session }) });
    };
    const remote = sessions.filter((s) => isRemote(s)).length;
    if (remote < maxRemote) add("remote-logon");
    for (const session of sessions) {
      if (session.sessionId === 0) continue;
      const user = session.userName !== "";
      if (!user) {
        if (session.state === SessionState.CONNECTED && !isRemote(session)) add("logon", session);
        continue;
      }
      if (session.state === SessionState.ACTIVE) {
        if (session.locked) add("unlock", session);
        else {
          if (isRemote(session)) add("input", session);
          add("lock", session);
        }
        if (isRemote(session)) add("disconnect", session);
      } else if (session.state === SessionState.DISCONNECTED) {
        add("reconnect", session);
      }
      add("logoff", session);
    }
    return list;
  };

  const apply = (kind: SimActivityKind, session: BackendSession | undefined): SimActivityEvent => {
    const now = clock.now();
    const at = new Date(now);
    const event = (sessionId: number, userName: string): SimActivityEvent => ({
      timeMs: now,
      kind,
      sessionId,
      userName,
    });
    if (kind === "remote-logon" || session === undefined) {
      const taken = new Set(host.snapshot().map((s) => s.sessionId));
      let id = FIRST_REMOTE_ID;
      while (taken.has(id)) id++;
      const userName = pickUser(host, random);
      host.addSession({
        sessionId: id,
        state: SessionState.ACTIVE,
        userName,
        domainName: "LAB",
        stationName: `RDP-Tcp#${id}`,
        clientName: `LAB-LT-${String(1 + Math.floor(random() * 60)).padStart(2, "0")}`,
        logonTime: at,
        lastInputTime: at,
        groups: simUserGroups(userName),
      });
      return event(id, userName);
    }
    const id = session.sessionId;
    // Only a Remote Desktop session's input is tracked (a station is logged on to at the station).
    const input = isRemote(session) ? { lastInputTime: at } : {};
    switch (kind) {
      case "logon": {
        const userName = pickUser(host, random);
        host.updateSession(id, {
          state: SessionState.ACTIVE,
          userName,
          domainName: "LAB",
          logonTime: at,
          ...input,
          locked: false,
          groups: simUserGroups(userName),
        });
        return event(id, userName);
      }
      case "input":
        host.updateSession(id, input);
        break;
      case "lock":
        host.updateSession(id, { locked: true });
        break;
      case "unlock":
        host.updateSession(id, { locked: false, ...input });
        break;
      case "disconnect":
        host.updateSession(id, { state: SessionState.DISCONNECTED, clientName: "" });
        break;
      case "reconnect":
        host.updateSession(id, {
          state: SessionState.ACTIVE,
          clientName: `LAB-LT-${String(1 + Math.floor(random() * 60)).padStart(2, "0")}`,
          locked: false,
          ...input,
        });
        break;
      case "logoff":
        host.endLogon(id);
        break;
    }
    return event(id, session.userName);
  };

  const schedule = (): void => {
    if (stopped) return;
    const list = candidates();
    const total = list.reduce((sum, candidate) => sum + candidate.rate, 0);
    if (total === 0) return;
    // Exponential waiting time of the total rate; 1 - random() is in (0, 1], so the log is finite.
    // Whole milliseconds: the times the model writes into sessions are Dates.
    const waitMs = Math.ceil((-Math.log(1 - random()) / total) * (MS_PER_HOUR / speed));
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      // The host may have changed since (calls of the agent): draw from what is possible now.
      const now = candidates();
      const sum = now.reduce((total, candidate) => total + candidate.rate, 0);
      let pick = random() * sum;
      const chosen = now.find((candidate) => (pick -= candidate.rate) < 0) ?? now.at(-1);
      if (chosen !== undefined) {
        const event = apply(chosen.kind, chosen.session);
        count++;
        options.onEvent?.(event);
      }
      schedule();
    }, waitMs);
    timer.unref();
  };
  schedule();

  return {
    seed,
    events: () => count,
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * A Remote Desktop session: its WinStation name carries a connection number (`RDP-Tcp#4`), or its
 * input is tracked (a disconnected one, whose WinStation name is empty, keeps its last input).
 */
function isRemote(session: BackendSession): boolean {
  return simProtocol(session) === "rdp" || session.lastInputTime !== undefined;
}

/** A user of the school who is not logged on now (or any, when all are). */
function pickUser(host: SimHost, random: () => number): string {
  const busy = new Set(host.snapshot().map((s) => s.userName));
  const free = USERS.filter((user) => !busy.has(user));
  const pool = free.length > 0 ? free : USERS;
  return pool[Math.floor(random() * pool.length)] ?? "student";
}

/** mulberry32: a small, fast, seeded 32-bit generator; numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
