/*
 * A stand-in for wtsapi32.dll, for the Wine tier of wmsfleet's tests (DESIGN section 7).
 *
 * It serves a fixed MultiPoint host (one session in each of the ten WTS connect states, non-ASCII
 * names), disconnects for real (the session's state becomes WTSDisconnected), fails on demand with
 * SetLastError, and counts every buffer it hands out and every WTSFreeMemory so a test can prove
 * the caller freed what it was given.
 *
 * Failures are read from the environment variable WMSFLEET_FAKE_WTS_FAIL at each call, a comma
 * separated list of OPERATION[:SESSION]=CODE, e.g. "enumerate=1722", "disconnect:5=7007",
 * "query:3=2". OPERATION is enumerate, query, disconnect, logoff, message or token
 * (WTSQueryUserToken); without :SESSION it
 * applies to every
 * session. The file named by WMSFLEET_FAKE_WTS_FAIL_FILE, read at each call too, adds entries in
 * the same form, so that a test can change them while the process runs. CODE "hang" makes the
 * call block (as a hung Remote Desktop Services does) until the entry is gone from the file, then
 * proceed normally: enumerate and disconnect honour it.
 *
 * Built by test/wine/wine-env.ts with x86_64-w64-mingw32-gcc; loaded in place of Wine's builtin
 * with WINEDLLOVERRIDES="wtsapi32=n" from the folder of node.exe.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <wtsapi32.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

/* What configured_failure answers for CODE "hang". */
#define FAKE_HANG 0xFFFFFFFEu

/* FILETIMEs: 2026-11-24T08:00:00Z (logon) and 2026-11-24T09:30:00Z (now). */
#define FT_LOGON 134399808000000000LL
#define FT_NOW 134399862000000000LL
#define FT_SECOND 10000000LL

typedef struct {
    DWORD id;
    WTS_CONNECTSTATE_CLASS state;
    const WCHAR *station;
    const WCHAR *user;
    const WCHAR *domain;
    const WCHAR *client;
    LONGLONG logon;     /* FILETIME, 0 when nobody is logged on */
    LONGLONG idle_secs; /* -1: LastInputTime unknown (0) */
    USHORT protocol;    /* WTSClientProtocolType: 0 console-type (console, stations), 2 RDP */
    BOOL locked;        /* SessionFlags WTS_SESSIONSTATE_LOCK (0) rather than UNLOCK (1) */
} FakeSession;

/* WTSINFOEX_LEVEL1_W and WTSINFOEXW as wtsapi32.h of the Windows SDK declares them (mingw lacks
 * them). */
typedef struct {
    ULONG SessionId;
    WTS_CONNECTSTATE_CLASS SessionState;
    LONG SessionFlags;
    WCHAR WinStationName[WINSTATIONNAME_LENGTH + 1];
    WCHAR UserName[USERNAME_LENGTH + 1];
    WCHAR DomainName[DOMAIN_LENGTH + 1];
    LARGE_INTEGER LogonTime;
    LARGE_INTEGER ConnectTime;
    LARGE_INTEGER DisconnectTime;
    LARGE_INTEGER LastInputTime;
    LARGE_INTEGER CurrentTime;
    DWORD IncomingBytes;
    DWORD OutgoingBytes;
    DWORD IncomingFrames;
    DWORD OutgoingFrames;
    DWORD IncomingCompressedBytes;
    DWORD OutgoingCompressedBytes;
} FAKE_WTSINFOEX_LEVEL1_W;
typedef struct {
    DWORD Level;
    union {
        FAKE_WTSINFOEX_LEVEL1_W WTSInfoExLevel1;
    } Data;
} FAKE_WTSINFOEXW;
#define FAKE_WTSSessionInfoEx 25
#define WTS_SESSIONSTATE_UNKNOWN 0xFFFFFFFF
#define WTS_SESSIONSTATE_LOCK 0
#define WTS_SESSIONSTATE_UNLOCK 1

/*
 * Console-type sessions (protocol 0: the console and MultiPoint stations) report LastInputTime the
 * way Windows does, as CurrentTime while connected and 0 once disconnected, whatever idle_secs
 * says; the user and domain names of session 13 do not fit WTSINFOW (20 and 17 characters).
 */
static FakeSession sessions[] = {
    {0, WTSDisconnected, L"Services", L"", L"", L"", 0, -1, 0, FALSE},
    {1, WTSActive, L"Console", L"zo\u00eb", L"CLASSROOM", L"", FT_LOGON, 90, 0, FALSE},
    {2, WTSConnected, L"Station 2", L"", L"", L"", 0, -1, 0, FALSE},
    {3, WTSConnectQuery, L"RDP-Tcp#3", L"", L"", L"\u00c9COLE-PC-\u00df", 0, -1, 2, FALSE},
    {4, WTSShadow, L"RDP-Tcp#4", L"teacher", L"CLASSROOM", L"T-LAPTOP", FT_LOGON, 0, 2, FALSE},
    {5, WTSDisconnected, L"RDP-Tcp#5", L"J\u00f3zef", L"\u0141\u00d3D\u0179", L"", FT_LOGON, 3600, 2, TRUE},
    {6, WTSIdle, L"Station 6", L"", L"", L"", 0, -1, 0, FALSE},
    {7, WTSReset, L"Station 7", L"", L"", L"", 0, -1, 0, FALSE},
    {8, WTSDown, L"Station 8", L"", L"", L"", 0, -1, 0, FALSE},
    {9, WTSInit, L"Station 9", L"", L"", L"", 0, -1, 0, FALSE},
    {12, WTSActive, L"Station 12", L"abcdefghijklmnopqrst", L"ABCDEFGHIJKLMNO", L"\U0001F600PC",
     FT_LOGON + 60 * FT_SECOND, 5, 0, FALSE},
    {13, WTSActive, L"RDP-Tcp#13", L"anne-sophie.van-den-berghe", L"CLASSROOM-NORTH-WING",
     L"LAB-LAPTOP-07", FT_LOGON + 120 * FT_SECOND, 42, 2, FALSE},
    {65536, WTSListen, L"RDP-Tcp", L"", L"", L"", 0, -1, 2, FALSE},
};
#define SESSION_COUNT (sizeof(sessions) / sizeof(sessions[0]))

static CRITICAL_SECTION lock;
/* WTSWaitSystemEvent: events raised and not yet reported, and whether a flush is releasing the
 * waiters; changed under lock, waiters woken through the condition variable. */
static CONDITION_VARIABLE event_raised;
static DWORD pending_events;
static LONG flush_generation, waits_started, waits_returned, flushes, waiting_now;
/* The last WTSSendMessageW, as the DLL received it across the ABI. */
static WCHAR last_title[300], last_message[4200];
static DWORD last_title_bytes, last_message_bytes, last_style, last_timeout, last_message_wait;

/* Reports an event to the threads in WTSWaitSystemEvent, if any: as on Windows, an event that
 * happens while nobody waits is not kept for a later wait. */
static void raise_event(DWORD flags)
{
    EnterCriticalSection(&lock);
    if (waiting_now > 0)
        pending_events |= flags;
    LeaveCriticalSection(&lock);
    WakeAllConditionVariable(&event_raised);
}
static LONG allocations, frees, bad_frees, current_session_disconnects;
static DWORD last_disconnect_id = 0xfffffffe;
static LONG last_disconnect_wait = -1;

#define MAX_LIVE 4096
static void *live[MAX_LIVE];

static void *track_alloc(SIZE_T size)
{
    void *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, size);
    if (p == NULL)
        return NULL;
    EnterCriticalSection(&lock);
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live[i] == NULL) {
            live[i] = p;
            allocations++;
            LeaveCriticalSection(&lock);
            return p;
        }
    }
    LeaveCriticalSection(&lock);
    HeapFree(GetProcessHeap(), 0, p);
    return NULL;
}

static FakeSession *find_session(DWORD id)
{
    for (size_t i = 0; i < SESSION_COUNT; i++)
        if (sessions[i].id == id)
            return &sessions[i];
    return NULL;
}

/* Appends the content of the file named by WMSFLEET_FAKE_WTS_FAIL_FILE, if any, to spec. */
static void append_failure_file(char *spec, size_t size)
{
    char path[MAX_PATH];
    DWORD n = GetEnvironmentVariableA("WMSFLEET_FAKE_WTS_FAIL_FILE", path, sizeof(path));
    if (n == 0 || n >= sizeof(path))
        return;
    HANDLE file = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE |
                              FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
    if (file == INVALID_HANDLE_VALUE)
        return;
    size_t used = strlen(spec);
    if (used + 1 < size) {
        spec[used++] = ',';
        DWORD got = 0;
        if (ReadFile(file, spec + used, (DWORD)(size - used - 1), &got, NULL))
            spec[used + got] = '\0';
        else
            spec[used - 1] = '\0';
    }
    CloseHandle(file);
}

/*
 * The failure configured for OPERATION on SESSION (any session when id is -1), or 0: from the
 * environment variable, then from the file, which a test may rewrite while the process runs.
 */
static DWORD configured_failure(const char *operation, LONGLONG id)
{
    char spec[512] = "";
    DWORD n = GetEnvironmentVariableA("WMSFLEET_FAKE_WTS_FAIL", spec, sizeof(spec));
    if (n >= sizeof(spec))
        spec[0] = '\0';
    append_failure_file(spec, sizeof(spec));
    if (spec[0] == '\0')
        return 0;
    size_t op_len = strlen(operation);
    char *state = NULL;
    for (char *entry = strtok_r(spec, ",\r\n ", &state); entry != NULL;
         entry = strtok_r(NULL, ",\r\n ", &state)) {
        if (strncmp(entry, operation, op_len) != 0)
            continue;
        char *rest = entry + op_len;
        if (*rest == ':') {
            char *end;
            LONGLONG target = _strtoi64(rest + 1, &end, 10);
            if (*end != '=' || target != id)
                continue;
            rest = end;
        }
        if (*rest != '=')
            continue;
        if (strncmp(rest + 1, "hang", 4) == 0)
            return FAKE_HANG;
        return (DWORD)strtoul(rest + 1, NULL, 10);
    }
    return 0;
}

/*
 * The failure configured for OPERATION on SESSION, after waiting out a "hang" entry: the call
 * blocks, polling, for as long as the entry is there.
 */
static DWORD failure_after_hang(const char *operation, LONGLONG id)
{
    DWORD code;
    while ((code = configured_failure(operation, id)) == FAKE_HANG)
        Sleep(20);
    return code;
}

static BOOL fail(DWORD code)
{
    SetLastError(code);
    return FALSE;
}

static size_t wide_bytes(const WCHAR *s)
{
    return (wcslen(s) + 1) * sizeof(WCHAR);
}

__declspec(dllexport) BOOL WINAPI WTSEnumerateSessionsW(HANDLE server, DWORD reserved,
                                                        DWORD version,
                                                        PWTS_SESSION_INFOW *info, DWORD *count)
{
    DWORD code;
    if (info == NULL || count == NULL || reserved != 0 || version != 1)
        return fail(ERROR_INVALID_PARAMETER);
    if (server != WTS_CURRENT_SERVER_HANDLE)
        return fail(ERROR_INVALID_HANDLE);
    if ((code = failure_after_hang("enumerate", -1)) != 0)
        return fail(code);
    /* One block, as Windows does: the array, then the station names. */
    size_t size = SESSION_COUNT * sizeof(WTS_SESSION_INFOW);
    for (size_t i = 0; i < SESSION_COUNT; i++)
        size += wide_bytes(sessions[i].station);
    BYTE *block = track_alloc(size);
    if (block == NULL)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    WTS_SESSION_INFOW *rows = (WTS_SESSION_INFOW *)block;
    WCHAR *names = (WCHAR *)(block + SESSION_COUNT * sizeof(WTS_SESSION_INFOW));
    EnterCriticalSection(&lock);
    for (size_t i = 0; i < SESSION_COUNT; i++) {
        rows[i].SessionId = sessions[i].id;
        rows[i].State = sessions[i].state;
        rows[i].pWinStationName = names;
        wcscpy(names, sessions[i].station);
        names += wcslen(sessions[i].station) + 1;
    }
    LeaveCriticalSection(&lock);
    *info = rows;
    *count = SESSION_COUNT;
    return TRUE;
}

static BOOL return_string(const WCHAR *s, LPWSTR *buffer, DWORD *bytes)
{
    size_t size = wide_bytes(s);
    WCHAR *copy = track_alloc(size);
    if (copy == NULL)
        return fail(ERROR_NOT_ENOUGH_MEMORY);
    memcpy(copy, s, size);
    *buffer = copy;
    *bytes = (DWORD)size;
    return TRUE;
}

__declspec(dllexport) BOOL WINAPI WTSQuerySessionInformationW(HANDLE server, DWORD id,
                                                              WTS_INFO_CLASS info_class,
                                                              LPWSTR *buffer, DWORD *bytes)
{
    DWORD code;
    if (buffer == NULL || bytes == NULL)
        return fail(ERROR_INVALID_PARAMETER);
    if (server != WTS_CURRENT_SERVER_HANDLE)
        return fail(ERROR_INVALID_HANDLE);
    if ((code = configured_failure("query", id)) != 0)
        return fail(code);
    FakeSession *s = find_session(id);
    if (s == NULL)
        return fail(7022); /* ERROR_CTX_WINSTATION_NOT_FOUND */
    switch ((int)info_class) {
    case WTSUserName:
        return return_string(s->user, buffer, bytes);
    case WTSDomainName:
        return return_string(s->domain, buffer, bytes);
    case WTSWinStationName:
        return return_string(s->station, buffer, bytes);
    case WTSClientName:
        return return_string(s->client, buffer, bytes);
    case WTSClientProtocolType: {
        USHORT *protocol = track_alloc(sizeof(USHORT));
        if (protocol == NULL)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        *protocol = s->protocol;
        *buffer = (LPWSTR)protocol;
        *bytes = sizeof(USHORT);
        return TRUE;
    }
    case FAKE_WTSSessionInfoEx: {
        FAKE_WTSINFOEXW *ex = track_alloc(sizeof(FAKE_WTSINFOEXW));
        if (ex == NULL)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        FAKE_WTSINFOEX_LEVEL1_W *l1 = &ex->Data.WTSInfoExLevel1;
        EnterCriticalSection(&lock);
        ex->Level = 1;
        l1->SessionId = s->id;
        l1->SessionState = s->state;
        l1->SessionFlags = s->user[0] == 0 ? (LONG)WTS_SESSIONSTATE_UNKNOWN
                           : s->locked     ? WTS_SESSIONSTATE_LOCK
                                           : WTS_SESSIONSTATE_UNLOCK;
        wcsncpy(l1->WinStationName, s->station, WINSTATIONNAME_LENGTH);
        wcsncpy(l1->UserName, s->user, USERNAME_LENGTH);
        wcsncpy(l1->DomainName, s->domain, DOMAIN_LENGTH);
        l1->LogonTime.QuadPart = s->logon;
        l1->CurrentTime.QuadPart = FT_NOW;
        LeaveCriticalSection(&lock);
        *buffer = (LPWSTR)ex;
        *bytes = sizeof(FAKE_WTSINFOEXW);
        return TRUE;
    }
    case WTSSessionInfo: {
        WTSINFOW *info = track_alloc(sizeof(WTSINFOW));
        if (info == NULL)
            return fail(ERROR_NOT_ENOUGH_MEMORY);
        EnterCriticalSection(&lock);
        info->State = s->state;
        info->SessionId = s->id;
        wcsncpy(info->WinStationName, s->station, WINSTATIONNAME_LENGTH - 1);
        wcsncpy(info->Domain, s->domain, DOMAIN_LENGTH - 1);
        /* A 20-character name fills UserName up to its last WCHAR, the terminating NUL. */
        wcsncpy(info->UserName, s->user, USERNAME_LENGTH);
        info->LogonTime.QuadPart = s->logon;
        info->ConnectTime.QuadPart = s->logon;
        info->CurrentTime.QuadPart = FT_NOW;
        if (s->protocol == 0)
            info->LastInputTime.QuadPart = s->state == WTSDisconnected ? 0 : FT_NOW;
        else
            info->LastInputTime.QuadPart = s->idle_secs < 0 ? 0 : FT_NOW - s->idle_secs * FT_SECOND;
        LeaveCriticalSection(&lock);
        *buffer = (LPWSTR)info;
        *bytes = sizeof(WTSINFOW);
        return TRUE;
    }
    default:
        return fail(ERROR_NOT_SUPPORTED);
    }
}

__declspec(dllexport) BOOL WINAPI WTSDisconnectSession(HANDLE server, DWORD id, BOOL wait)
{
    DWORD code;
    EnterCriticalSection(&lock);
    last_disconnect_id = id;
    last_disconnect_wait = wait ? 1 : 0;
    if (id == WTS_CURRENT_SESSION)
        current_session_disconnects++;
    LeaveCriticalSection(&lock);
    if (server != WTS_CURRENT_SERVER_HANDLE)
        return fail(ERROR_INVALID_HANDLE);
    if ((code = failure_after_hang("disconnect", id)) != 0)
        return fail(code);
    FakeSession *s = find_session(id);
    if (s == NULL)
        return fail(7022);
    if (s->state == WTSListen || s->state == WTSDown || s->state == WTSInit ||
        s->state == WTSReset)
        return fail(7022);
    EnterCriticalSection(&lock);
    s->state = WTSDisconnected;
    s->client = L"";
    s->locked = TRUE;
    LeaveCriticalSection(&lock);
    raise_event(WTS_EVENT_DISCONNECT | WTS_EVENT_STATECHANGE);
    return TRUE;
}

/*
 * The "user token" of a session with a user: the token of the calling process itself (Wine's
 * user, whose groups Wine's LookupAccountSidW names), so that the caller reads real TokenGroups;
 * ERROR_NO_TOKEN (1008) for a session nobody is logged on to, as Windows answers.
 */
__declspec(dllexport) BOOL WINAPI WTSQueryUserToken(ULONG id, PHANDLE token)
{
    DWORD code;
    if (token == NULL)
        return fail(ERROR_INVALID_PARAMETER);
    if ((code = configured_failure("token", id)) != 0)
        return fail(code);
    FakeSession *s = find_session(id);
    if (s == NULL)
        return fail(7022);
    if (s->user[0] == L'\0')
        return fail(ERROR_NO_TOKEN);
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, token))
        return FALSE;
    return TRUE;
}

/* Logs a session off: its user goes and it is back at the logon screen (WTSConnected). */
__declspec(dllexport) BOOL WINAPI WTSLogoffSession(HANDLE server, DWORD id, BOOL wait)
{
    DWORD code;
    (void)wait;
    if (server != WTS_CURRENT_SERVER_HANDLE)
        return fail(ERROR_INVALID_HANDLE);
    if (id == WTS_CURRENT_SESSION)
        return fail(ERROR_INVALID_PARAMETER);
    if ((code = configured_failure("logoff", id)) != 0)
        return fail(code);
    FakeSession *s = find_session(id);
    if (s == NULL)
        return fail(7022);
    if (s->state == WTSListen || s->state == WTSDown || s->state == WTSInit ||
        s->state == WTSReset)
        return fail(7045);
    EnterCriticalSection(&lock);
    s->state = WTSConnected;
    s->user = L"";
    s->domain = L"";
    s->logon = 0;
    s->idle_secs = -1;
    s->locked = FALSE;
    LeaveCriticalSection(&lock);
    raise_event(WTS_EVENT_LOGOFF | WTS_EVENT_STATECHANGE);
    return TRUE;
}

/* Shows nothing: IDASYNC without bWait, IDTIMEOUT with it (nobody is there to answer). */
/*
 * Shows nothing and records what it was given. Without bWait the answer is IDASYNC; with it, the
 * answer configured as "answer:SESSION=ID" (e.g. IDYES 6), or IDTIMEOUT once the timeout passes
 * (at once: nobody is there to answer).
 */
__declspec(dllexport) BOOL WINAPI WTSSendMessageW(HANDLE server, DWORD id, LPWSTR title,
                                                  DWORD title_bytes, LPWSTR message,
                                                  DWORD message_bytes, DWORD style, DWORD timeout,
                                                  DWORD *response, BOOL wait)
{
    DWORD code;
    if (server != WTS_CURRENT_SERVER_HANDLE || response == NULL || title == NULL ||
        message == NULL || title_bytes % 2 != 0 || message_bytes % 2 != 0 ||
        title_bytes >= sizeof(last_title) || message_bytes >= sizeof(last_message))
        return fail(ERROR_INVALID_PARAMETER);
    if (id == WTS_CURRENT_SESSION)
        return fail(ERROR_INVALID_PARAMETER);
    if ((code = configured_failure("message", id)) != 0)
        return fail(code);
    if (find_session(id) == NULL)
        return fail(7022);
    EnterCriticalSection(&lock);
    memset(last_title, 0, sizeof(last_title));
    memset(last_message, 0, sizeof(last_message));
    memcpy(last_title, title, title_bytes);
    memcpy(last_message, message, message_bytes);
    last_title_bytes = title_bytes;
    last_message_bytes = message_bytes;
    last_style = style;
    last_timeout = timeout;
    last_message_wait = wait ? 1 : 0;
    LeaveCriticalSection(&lock);
    DWORD answer = configured_failure("answer", id);
    *response = !wait ? IDASYNC : answer != 0 ? answer : IDTIMEOUT;
    return TRUE;
}

/*
 * Waits until a session event is raised (a disconnect, a log-off, FakeWtsRaise) and reports it,
 * or until WTS_EVENT_FLUSH releases every waiter, which then returns TRUE with no event.
 */
__declspec(dllexport) BOOL WINAPI WTSWaitSystemEvent(HANDLE server, DWORD mask, DWORD *flags)
{
    DWORD code;
    if (server != WTS_CURRENT_SERVER_HANDLE || flags == NULL)
        return fail(ERROR_INVALID_PARAMETER);
    *flags = 0;
    EnterCriticalSection(&lock);
    if (mask == WTS_EVENT_FLUSH) {
        flush_generation++;
        flushes++;
        LeaveCriticalSection(&lock);
        WakeAllConditionVariable(&event_raised);
        return TRUE;
    }
    LeaveCriticalSection(&lock);
    if ((code = configured_failure("wait", -1)) != 0)
        return fail(code);
    EnterCriticalSection(&lock);
    LONG generation = flush_generation;
    waits_started++;
    waiting_now++;
    while ((pending_events & mask) == 0 && generation == flush_generation)
        SleepConditionVariableCS(&event_raised, &lock, INFINITE);
    if (generation == flush_generation) {
        *flags = pending_events & mask;
        pending_events &= ~mask;
    }
    waits_returned++;
    if (--waiting_now == 0)
        pending_events = 0;
    LeaveCriticalSection(&lock);
    return TRUE;
}

__declspec(dllexport) void WINAPI WTSFreeMemory(PVOID memory)
{
    if (memory == NULL)
        return;
    EnterCriticalSection(&lock);
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live[i] == memory) {
            live[i] = NULL;
            frees++;
            LeaveCriticalSection(&lock);
            HeapFree(GetProcessHeap(), 0, memory);
            return;
        }
    }
    bad_frees++; /* not ours, or freed twice: never hand it to HeapFree */
    LeaveCriticalSection(&lock);
}

/* Test hooks: what was allocated, freed, freed wrongly, and the last disconnect request. */
__declspec(dllexport) void WINAPI FakeWtsStats(LONG *out_allocations, LONG *out_frees,
                                               LONG *out_bad_frees,
                                               LONG *out_current_session_disconnects,
                                               DWORD *out_last_disconnect_id,
                                               LONG *out_last_disconnect_wait)
{
    EnterCriticalSection(&lock);
    *out_allocations = allocations;
    *out_frees = frees;
    *out_bad_frees = bad_frees;
    *out_current_session_disconnects = current_session_disconnects;
    *out_last_disconnect_id = last_disconnect_id;
    *out_last_disconnect_wait = last_disconnect_wait;
    LeaveCriticalSection(&lock);
}

/* Raises session events, as Windows does on a logon or a lock the DLL does not model. */
__declspec(dllexport) void WINAPI FakeWtsRaise(DWORD flags)
{
    raise_event(flags);
}

/* WTSWaitSystemEvent's counters: waits begun, waits returned, flushes; and the pending events. */
__declspec(dllexport) void WINAPI FakeWtsEvents(LONG *out_started, LONG *out_returned,
                                                LONG *out_flushes, DWORD *out_pending)
{
    EnterCriticalSection(&lock);
    *out_started = waits_started;
    *out_returned = waits_returned;
    *out_flushes = flushes;
    *out_pending = pending_events;
    LeaveCriticalSection(&lock);
}

/* The last message box: its title and text (NUL-terminated copies), their byte counts, style,
 * timeout and bWait. */
__declspec(dllexport) void WINAPI FakeWtsLastMessage(WCHAR *title, WCHAR *message,
                                                     DWORD *out_title_bytes,
                                                     DWORD *out_message_bytes, DWORD *out_style,
                                                     DWORD *out_timeout, DWORD *out_wait)
{
    EnterCriticalSection(&lock);
    memcpy(title, last_title, sizeof(last_title));
    memcpy(message, last_message, sizeof(last_message));
    *out_title_bytes = last_title_bytes;
    *out_message_bytes = last_message_bytes;
    *out_style = last_style;
    *out_timeout = last_timeout;
    *out_wait = last_message_wait;
    LeaveCriticalSection(&lock);
}

/* Where WTSINFOEXW keeps what the caller decodes: its size and SessionFlags' offset. */
__declspec(dllexport) void WINAPI FakeWtsLayoutEx(DWORD *size, DWORD *offset_session_flags)
{
    *size = sizeof(FAKE_WTSINFOEXW);
    *offset_session_flags =
        offsetof(FAKE_WTSINFOEXW, Data) + offsetof(FAKE_WTSINFOEX_LEVEL1_W, SessionFlags);
}

/* The layout the caller must decode, checked by the test against its own offsets. */
__declspec(dllexport) void WINAPI FakeWtsLayout(DWORD *sizeof_wtsinfow, DWORD *offset_username,
                                                DWORD *offset_lastinput,
                                                DWORD *sizeof_session_info)
{
    *sizeof_wtsinfow = sizeof(WTSINFOW);
    *offset_username = offsetof(WTSINFOW, UserName);
    *offset_lastinput = offsetof(WTSINFOW, LastInputTime);
    *sizeof_session_info = sizeof(WTS_SESSION_INFOW);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        InitializeCriticalSection(&lock);
        InitializeConditionVariable(&event_raised);
    }
    return TRUE;
}
