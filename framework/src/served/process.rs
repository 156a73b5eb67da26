//! The server process: started without a shell, spoken to over pipes, stopped at the end.
//!
//! A reader thread takes the server's stdout line by line and hands each answer to the
//! request waiting for its id; another keeps the last lines of its stderr for error
//! messages. At most [`MAX_IN_FLIGHT`] requests (by default) are sent and unanswered at a time (the
//! reader frees a slot when an answer arrives, so waiting never holds a slot another
//! sender needs). Once something goes wrong (the server exits, answers bad JSON or an
//! unknown id, or a request times out) the connection is *broken*: every waiting and later
//! request fails with the same message. Dropping the process closes its stdin, gives it
//! [`EXIT_GRACE`] to exit, then kills it.

use super::protocol::{answer_id, parse_line, quote};
use anyhow::{Result, anyhow};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Requests sent and not yet answered, at most, by default: the server computes one while
/// trustx prepares the next.
pub const MAX_IN_FLIGHT: usize = 2;
/// How long a server has to exit after its stdin is closed before it is killed.
pub const EXIT_GRACE: Duration = Duration::from_secs(3);
/// Lines of the server's stderr kept for error messages.
const STDERR_LINES: usize = 12;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The program and its arguments (no shell).
    pub command: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: PathBuf,
}

/// A request sent and not yet read back.
pub struct Ticket {
    /// Its id.
    pub id: u64,
    answer: Receiver<Value>,
}

/// Who waits for which line.
#[derive(Default)]
struct Inner {
    /// The handshake answer's receiver (the first line the server writes).
    handshake: Option<SyncSender<Value>>,
    /// Requests waiting for their answer.
    pending: HashMap<u64, SyncSender<Value>>,
    /// Requests in flight.
    in_flight: usize,
    /// Why the connection is broken, once it is.
    broken: Option<String>,
}

/// State shared with the reader thread.
#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    freed: Condvar,
    stderr: Mutex<VecDeque<String>>,
    stderr_done: Mutex<bool>,
    /// Whether the server seems gone (its stdout closed, or its stdin refused a line).
    gone: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the connection broken (the first reason wins) and wakes everyone.
    fn break_with(&self, why: String) {
        let mut inner = self.lock();
        inner.broken.get_or_insert(why);
        inner.pending.clear();
        inner.handshake = None;
        drop(inner);
        self.freed.notify_all();
    }
}

/// A running server.
pub struct ServerProcess {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    shared: Arc<Shared>,
    next_id: Mutex<u64>,
    in_flight: usize,
    /// The command line, for messages.
    pub command_line: String,
}

impl ServerProcess {
    /// Starts the server and sends the handshake request `hello`; the answer is read with
    /// [`ServerProcess::handshake`]. At most `in_flight` requests (at least 1) will be
    /// unanswered at a time.
    pub fn start(launch: &Launch, hello: &str, in_flight: usize) -> Result<(ServerProcess, Receiver<Value>)> {
        let command_line = launch.command.join(" ");
        let (program, args) = launch
            .command
            .split_first()
            .ok_or_else(|| anyhow!("the server command is empty; give the program and its arguments"))?;
        let mut child = Command::new(program)
            .args(args)
            .envs(&launch.env)
            .current_dir(&launch.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                anyhow!(
                    "could not start the server `{command_line}` (in {}): {e}; `command` is an argv list (the program, then its arguments; no shell), and a program without `/` is looked up on PATH",
                    launch.cwd.display()
                )
            })?;
        let shared = Arc::new(Shared::default());
        let (hs_tx, hs_rx) = sync_channel(1);
        shared.lock().handshake = Some(hs_tx);
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout pipe (internal error)"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr pipe (internal error)"))?;
        let s = Arc::clone(&shared);
        std::thread::spawn(move || read_answers(BufReader::new(stdout), &s));
        let s = Arc::clone(&shared);
        std::thread::spawn(move || read_stderr(BufReader::new(stderr), &s));
        let process = ServerProcess {
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
            shared,
            next_id: Mutex::new(0),
            in_flight: in_flight.max(1),
            command_line,
        };
        process.write_line(hello, "the handshake")?;
        Ok((process, hs_rx))
    }

    /// Waits up to `timeout` for the handshake answer.
    pub fn handshake(&self, rx: &Receiver<Value>, timeout: Duration) -> Result<Value> {
        self.receive(rx, timeout, "the handshake", "startup_timeout_s")
    }

    /// Sends request `line(id)` once a slot is free.
    pub fn send(&self, line: impl Fn(u64) -> String) -> Result<Ticket> {
        let (tx, rx) = sync_channel(1);
        let id = {
            let mut inner = self.shared.lock();
            while inner.broken.is_none() && inner.in_flight >= self.in_flight {
                inner = self.shared.freed.wait(inner).unwrap_or_else(PoisonError::into_inner);
            }
            if let Some(why) = &inner.broken {
                let why = why.clone();
                drop(inner);
                return Err(self.failure(&why));
            }
            let mut next = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
            let id = *next;
            *next += 1;
            inner.pending.insert(id, tx);
            inner.in_flight += 1;
            id
        };
        self.write_line(&line(id), &format!("request {id}"))?;
        Ok(Ticket { id, answer: rx })
    }

    /// Waits up to `timeout` for the answer to `ticket`.
    pub fn wait(&self, ticket: Ticket, timeout: Duration) -> Result<Value> {
        self.receive(&ticket.answer, timeout, &format!("request {}", ticket.id), "timeout_s")
    }

    fn receive(&self, rx: &Receiver<Value>, timeout: Duration, what: &str, setting: &str) -> Result<Value> {
        match rx.recv_timeout(timeout) {
            Ok(v) => Ok(v),
            Err(RecvTimeoutError::Timeout) => {
                let why = format!("gave no answer to {what} within {} s (`{setting}`)", timeout.as_secs_f64());
                self.shared.break_with(why.clone());
                Err(self.failure(&why))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let why = self.shared.lock().broken.clone().unwrap_or_else(|| "stopped answering".into());
                Err(self.failure(&format!("{why} (while trustx waited for {what})")))
            }
        }
    }

    /// Marks the connection broken because of an answer trustx cannot use.
    pub fn reject(&self, why: String) -> anyhow::Error {
        self.shared.break_with(why.clone());
        self.failure(&why)
    }

    fn write_line(&self, line: &str, what: &str) -> Result<()> {
        let mut stdin = self.stdin.lock().unwrap_or_else(PoisonError::into_inner);
        let written = match stdin.as_mut() {
            Some(pipe) => {
                pipe.write_all(line.as_bytes()).and_then(|_| pipe.write_all(b"\n")).and_then(|_| pipe.flush())
            }
            None => Err(std::io::Error::other("stdin already closed")),
        };
        written.map_err(|e| {
            self.shared.gone.store(true, Ordering::SeqCst);
            // A broken pipe is the server gone: said as the reading side says it, whichever of
            // the two noticed first.
            let why = if e.kind() == std::io::ErrorKind::BrokenPipe {
                format!("closed its output (it exited or crashed) before {what} could be sent")
            } else {
                format!("could not be sent {what} ({e})")
            };
            self.shared.break_with(why.clone());
            self.failure(&why)
        })
    }

    /// The error for `why`: the command, how the process ended (if it did) and the last
    /// lines of its stderr.
    pub fn failure(&self, why: &str) -> anyhow::Error {
        // A process that closed its output is usually exiting: give it a moment, so that
        // the message has its exit status and its last words. A live one gets a moment
        // for the stderr thread to catch up with what it wrote before the bad answer.
        let exiting = self.shared.gone.load(Ordering::SeqCst);
        let deadline = Instant::now() + if exiting { Duration::from_millis(1500) } else { Duration::from_millis(100) };
        let mut status = None;
        loop {
            status =
                status.or_else(|| self.child.lock().unwrap_or_else(PoisonError::into_inner).try_wait().ok().flatten());
            let done = *self.shared.stderr_done.lock().unwrap_or_else(PoisonError::into_inner);
            if (status.is_some() && done) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let ended = match status {
            Some(s) => match s.code() {
                Some(code) => format!("; it exited with status {code}"),
                None => format!("; it was ended ({s})"),
            },
            None => String::new(),
        };
        let lines: Vec<String> =
            self.shared.stderr.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect();
        let tail = if lines.is_empty() {
            "\n  (the server wrote nothing to stderr)".to_string()
        } else {
            format!("\n  last lines of the server's stderr:\n    {}", lines.join("\n    "))
        };
        anyhow!("the server `{}` {why}{ended}{tail}", self.command_line)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stdin.lock().unwrap_or_else(PoisonError::into_inner).take();
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The reader thread: hands each line to whoever waits for it.
fn read_answers(mut out: impl BufRead, shared: &Shared) {
    let mut line = String::new();
    loop {
        line.clear();
        match out.read_line(&mut line) {
            Ok(0) => {
                shared.gone.store(true, Ordering::SeqCst);
                return shared.break_with("closed its output (it exited or crashed)".into());
            }
            Ok(_) => {}
            Err(e) => return shared.break_with(format!("wrote output trustx could not read ({e})")),
        }
        if line.trim().is_empty() {
            continue;
        }
        let value = match parse_line(&line) {
            Ok(v) => v,
            Err(why) => return shared.break_with(why),
        };
        let mut inner = shared.lock();
        if let Some(tx) = inner.handshake.take() {
            let _ = tx.send(value);
            continue;
        }
        let id = match answer_id(&value) {
            Ok(id) => id,
            Err(why) => {
                drop(inner);
                return shared.break_with(why);
            }
        };
        let Some(tx) = inner.pending.remove(&id) else {
            drop(inner);
            return shared
                .break_with(format!("answered {}, but no request with id {id} is waiting", quote(&value.to_string())));
        };
        inner.in_flight -= 1;
        drop(inner);
        shared.freed.notify_all();
        let _ = tx.send(value);
    }
}

/// The stderr thread: keeps the last [`STDERR_LINES`] lines.
fn read_stderr(mut err: impl BufRead, shared: &Shared) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match err.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let mut lines = shared.stderr.lock().unwrap_or_else(PoisonError::into_inner);
                if lines.len() == STDERR_LINES {
                    lines.pop_front();
                }
                lines.push_back(String::from_utf8_lossy(&buf).trim_end().to_string());
            }
        }
    }
    *shared.stderr_done.lock().unwrap_or_else(PoisonError::into_inner) = true;
}
