//! A spinner on stderr for work that takes more than a second, only on a terminal: it shows
//! up after one second (so fast runs print nothing) and is erased when the work finishes.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Spinner {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Spinner {
    pub fn start(label: &'static str) -> Spinner {
        let done = Arc::new(AtomicBool::new(false));
        let handle = std::io::stderr().is_terminal().then(|| {
            let done = done.clone();
            std::thread::spawn(move || {
                let frames = ['|', '/', '-', '\\'];
                let mut waited = Duration::ZERO;
                let tick = Duration::from_millis(100);
                let mut shown = false;
                let mut i = 0;
                while !done.load(Ordering::Relaxed) {
                    // Parked, not asleep: `stop` unparks it, so finishing never waits a tick.
                    std::thread::park_timeout(tick);
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    waited += tick;
                    if waited >= Duration::from_secs(1) {
                        shown = true;
                        eprint!(
                            "\r{} {label}... {:.0}s",
                            frames[i % 4],
                            waited.as_secs_f32()
                        );
                        let _ = std::io::stderr().flush();
                        i += 1;
                    }
                }
                if shown {
                    eprint!("\r\x1b[2K");
                }
            })
        });
        Spinner { done, handle }
    }

    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}
