//! A spinner on stderr while a long run goes on, so a user can tell a slow
//! scenario from a hung one. Hidden when stderr is not a terminal (CI logs,
//! pipes) and cleared when the run ends, so it never mixes with the output.
//!
//! The simulation only calls back every few million events (through
//! `RunOptions::should_stop`), so the spinner costs nothing per event; it shows
//! the wall-clock time spent, which only the CLI may read.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `len` runs on stderr (`sim sweep`, `sim compare`); hidden when
/// `quiet` or when stderr is not a terminal. Clear it with `finish_and_clear`.
pub fn bar(len: u64, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} elapsed, about {eta} left") {
        bar.set_style(style);
    }
    bar
}

/// A spinner that appears only if the run lasts longer than a moment.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A hidden-until-ticked spinner labelled with the scenario's name.
    pub fn new(name: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} simulating {msg} ({elapsed}; Ctrl-C stops)")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(name.to_string());
        Progress { bar }
    }

    /// Called from the run's periodic check: keeps the spinner moving. Returns
    /// false ("do not stop"), so it chains with the Ctrl-C check: `tick() || stopped`.
    pub fn tick(&self) -> bool {
        if !self.bar.is_hidden() && self.bar.elapsed() > Duration::from_millis(500) {
            self.bar.tick();
        }
        false
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
