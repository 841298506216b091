//! A progress bar on standard error, drawn only when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::sync::Mutex;

/// Progress bar for long runs; invisible when stderr is not a terminal or the run is small.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
    /// Show a running count when the total is unknown (0).
    counter: bool,
}

impl Bar {
    /// A bar that shows only if `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            enabled: wanted && std::io::stderr().is_terminal(),
            counter: false,
        }
    }

    /// A bar that, when the total is not known in advance (a batch read as it is
    /// appended), counts what is done; shows only if stderr is a terminal.
    pub fn counter() -> Self {
        Self {
            counter: true,
            ..Self::new(true)
        }
    }
}

impl vouch::ledger::Progress for Bar {
    fn start(&self, total: u64, what: &str) {
        if !self.enabled {
            return;
        }
        if total == 0 && self.counter {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{msg:>10} {pos} ({per_sec})") {
                pb.set_style(style);
            }
            pb.set_message(what.to_string());
            if let Ok(mut b) = self.bar.lock() {
                *b = Some(pb);
            }
            return;
        }
        if total < 1000 {
            return;
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(what.to_string());
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(pb);
        }
    }

    fn advance(&self, n: u64) {
        if !self.enabled {
            return;
        }
        if let Ok(b) = self.bar.lock()
            && let Some(pb) = b.as_ref()
        {
            pb.inc(n);
        }
    }

    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(pb) = b.take()
        {
            pb.finish_and_clear();
        }
    }
}
