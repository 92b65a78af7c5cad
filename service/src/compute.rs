//! Where the gRPC handlers run model work: two pools of one thread per core, each fed in
//! arrival order — [`run`] for quick answers (recommendations, search: about a millisecond)
//! and [`run_heavy`] for work that can take from tens of milliseconds to seconds (training
//! plans, multi-step explorations), so that a burst of explorations never holds up a
//! recommendation (in one pool, a 1 ms recommendation queued behind 8 explorations took
//! 1.15 s).
//!
//! Tokio's blocking pool, used before, starts a thread for every task waiting to run (up to
//! 512): with 32 requests in flight on 2 cores, 32 threads took turns on the cores, each with
//! its own allocator heap and cold caches, and the load harness saw the kernel switching and
//! zeroing fresh pages for them. Here at most one task per core and per pool runs and the
//! others wait in the queue; the concurrency limit (`max_concurrent_requests`) still bounds the
//! queue. A task whose caller is gone (deadline passed, client disconnected) is skipped
//! when its turn comes. The pool is separate from rayon's global pool, which batch
//! scoring fills with large chunks, so a unary request never waits behind a batch chunk.

use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;

/// The pool of quick answers ([`run`]), built on first use: `available_parallelism` threads
/// named `passerelle-compute-N`; `None` if the threads could not be started (rayon's global
/// pool is used then).
static POOL: LazyLock<Option<rayon::ThreadPool>> = LazyLock::new(|| pool("passerelle-compute"));

/// The pool of long work ([`run_heavy`]), built on first use like [`POOL`], threads named
/// `passerelle-heavy-N`.
static HEAVY: LazyLock<Option<rayon::ThreadPool>> = LazyLock::new(|| pool("passerelle-heavy"));

fn pool(name: &'static str) -> Option<rayon::ThreadPool> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    match rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(move |i| format!("{name}-{i}")).build() {
        Ok(pool) => Some(pool),
        Err(err) => {
            tracing::warn!(error = %err, pool = name, "could not start a compute pool; using rayon's global pool");
            None
        }
    }
}

/// Why a task gave no result. The text shown to clients says only that the server failed;
/// a panic's own message is logged (error level), not sent.
#[derive(Debug, thiserror::Error)]
pub enum TaskFailed {
    /// The task panicked (a bug); the message is the panic's, if it was a string.
    #[error("internal error")]
    Panicked(String),
    /// The pool dropped the task without running it (cannot happen while the caller waits).
    #[error("the task was dropped")]
    Dropped,
}

/// Runs quick `work` (about a millisecond: a recommendation, a search) on the quick pool
/// and waits for its result without blocking the async workers. The current tracing span is
/// carried over (request id).
///
/// # Errors
/// [`TaskFailed`] when `work` panics; the pool and the server go on.
pub async fn run<T, F>(work: F) -> Result<T, TaskFailed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run_on(POOL.as_ref(), work).await
}

/// As [`run`], on the pool of long work (training plans, explorations).
///
/// # Errors
/// As [`run`].
pub async fn run_heavy<T, F>(work: F) -> Result<T, TaskFailed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    run_on(HEAVY.as_ref(), work).await
}

async fn run_on<T, F>(pool: Option<&rayon::ThreadPool>, work: F) -> Result<T, TaskFailed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    let job = move || {
        if tx.is_closed() {
            return;
        }
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| span.in_scope(work)));
        // The caller may have gone meanwhile: nothing to deliver then.
        let _ = tx.send(result);
    };
    match pool {
        Some(pool) => pool.spawn_fifo(job),
        None => rayon::spawn_fifo(job),
    }
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %message, "a model task panicked");
            Err(TaskFailed::Panicked(message))
        }
        Err(_) => Err(TaskFailed::Dropped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_come_back_and_a_panic_is_an_error() {
        assert_eq!(run(|| 6 * 7).await.ok(), Some(42));
        let failed = run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(&failed, Err(TaskFailed::Panicked(m)) if m == "boom"), "{failed:?}");
        // Clients see no internals.
        assert_eq!(failed.err().map(|e| e.to_string()).as_deref(), Some("internal error"));
        // The pool survives a panicking task.
        assert_eq!(run(|| "still here").await.ok(), Some("still here"));
    }

    #[tokio::test]
    async fn quick_work_runs_while_every_heavy_thread_is_busy() {
        let (gate, heavy) = hold_every_thread(true).await;
        // Every heavy thread is held, yet a quick task is answered (with one shared pool it
        // would wait for the gate: the timeout makes that a failure, not a hang).
        let quick = tokio::time::timeout(std::time::Duration::from_secs(10), run(|| 6 * 7)).await;
        assert_eq!(quick.ok().and_then(Result::ok), Some(42), "the quick task waited for the heavy pool");
        gate.open();
        for h in heavy {
            assert!(h.await.expect("joined").is_ok());
        }
    }

    type Blocker = tokio::task::JoinHandle<Result<(), TaskFailed>>;

    /// Holds every thread of the quick pool (or the heavy one) with a task waiting on the
    /// returned gate; returns once all of them run.
    async fn hold_every_thread(heavy: bool) -> (std::sync::Arc<Gate>, Vec<Blocker>) {
        let pool = if heavy { HEAVY.as_ref() } else { POOL.as_ref() };
        let threads = pool.map_or_else(rayon::current_num_threads, rayon::ThreadPool::current_num_threads);
        let gate = std::sync::Arc::new(Gate::default());
        let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
        let blockers = (0..threads)
            .map(|_| {
                let (gate, started) = (std::sync::Arc::clone(&gate), started_tx.clone());
                let work = move || {
                    let _ = started.send(());
                    gate.wait();
                };
                if heavy {
                    tokio::spawn(run_heavy(work))
                } else {
                    tokio::spawn(run(work))
                }
            })
            .collect();
        for _ in 0..threads {
            started_rx.recv().await.expect("a blocker started");
        }
        (gate, blockers)
    }

    /// A latch the test opens once: pool threads wait on it.
    #[derive(Default)]
    struct Gate {
        open: std::sync::Mutex<bool>,
        opened: std::sync::Condvar,
    }

    impl Gate {
        fn wait(&self) {
            let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            while !*open {
                open = self.opened.wait(open).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }

        fn open(&self) {
            *self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
            self.opened.notify_all();
        }
    }

    #[tokio::test]
    async fn a_queued_task_whose_caller_gave_up_is_skipped_and_the_pool_goes_on() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        // Every pool thread busy: the next task waits in the queue.
        let (gate, blockers) = hold_every_thread(false).await;

        // The caller's deadline passes while the task is queued: an answer at the deadline,
        // not when a thread frees up.
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let waited = tokio::time::timeout(Duration::from_millis(50), run(move || flag.store(true, Ordering::SeqCst)));
        assert!(waited.await.is_err(), "the queued task cannot have run: every thread is held");

        gate.open();
        for blocker in blockers {
            assert!(blocker.await.expect("blocker joined").is_ok());
        }
        // FIFO: once a later task has run, the abandoned one has had its turn, and was skipped.
        assert_eq!(run(|| 7).await.ok(), Some(7));
        assert!(!ran.load(Ordering::SeqCst), "the abandoned task ran");
    }
}
