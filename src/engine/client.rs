//! Per-connection state. Every front door (Python connection, socket client, Lua's script client)
//! owns one [`Client`] and hands it to the dispatcher with each command.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::blocking::Waiter;

/// A command queued by MULTI.
pub type QueuedCommand = Vec<Vec<u8>>;

/// MULTI state: the queue, and whether a command failed to queue (EXECABORT).
#[derive(Default)]
pub struct MultiState {
    /// Commands to run on EXEC, names included.
    pub queue: Vec<QueuedCommand>,
    /// Set when a command was rejected while queueing.
    pub aborted: bool,
}

/// A client blocked on keys.
pub struct BlockedState {
    /// The registered waiter (it holds the command to re-run).
    pub waiter: Arc<Waiter>,
    /// Absolute deadline in Unix ms, or None to wait forever.
    pub deadline_ms: Option<i64>,
}

/// One connection's state.
pub struct Client {
    /// CLIENT ID.
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Protocol version (2 or 3).
    pub resp: u8,
    /// Open transaction, if MULTI was sent.
    pub multi: Option<MultiState>,
    /// WATCHed keys as (db, key).
    pub watched: Vec<(usize, Vec<u8>)>,
    /// Set by any write to a watched key; EXEC then fails.
    pub watch_dirty: Arc<AtomicBool>,
    /// Set while the client waits on a blocking command.
    pub blocked: Option<BlockedState>,
    /// Set by CLIENT KILL; the front door closes the connection.
    pub killed: Arc<AtomicBool>,
    /// Subscriptions and the push buffer of this client (pub/sub).
    pub pubsub: Option<Arc<crate::engine::pubsub::Subscriber>>,
    /// True for the client Lua scripts run commands with.
    pub is_script: bool,
    /// False until AUTH succeeds on a server with `requirepass` (in-process clients start true).
    pub authenticated: bool,
}

impl Client {
    /// A fresh client with the given id, on database 0, speaking RESP2.
    pub fn new(id: u64) -> Client {
        Client {
            id,
            db: 0,
            resp: 2,
            multi: None,
            watched: Vec::new(),
            watch_dirty: Arc::new(AtomicBool::new(false)),
            blocked: None,
            killed: Arc::new(AtomicBool::new(false)),
            pubsub: None,
            is_script: false,
            authenticated: true,
        }
    }
}

/// What CLIENT LIST / CLIENT INFO know of a client (kept in the store, by id).
#[derive(Default, Clone)]
pub struct ClientInfo {
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Option<Vec<u8>>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Option<Vec<u8>>,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Last command time, Unix ms.
    pub last_ms: i64,
    /// Selected database (mirrored on SELECT).
    pub db: usize,
    /// Protocol version (mirrored on HELLO).
    pub resp: u8,
    /// Last command sent, as CLIENT LIST's `cmd` names it (`get`, `client|list`); empty before
    /// the first.
    pub last_cmd: std::borrow::Cow<'static, str>,
    /// Address shown by CLIENT LIST (e.g. a socket peer); empty for in-process clients.
    pub addr: String,
    /// Kill flag shared with the owning front door.
    pub killed: Arc<AtomicBool>,
    /// Woken by CLIENT KILL, so an idle front door (a socket task) notices at once.
    pub kill_waker: Option<Arc<dyn crate::engine::waker::Waker>>,
}
