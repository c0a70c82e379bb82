//! Ctrl-C: the first press asks the running simulation to stop at its next
//! check, so outputs are not half-written (temporary files are removed and the
//! previous results stay); a second press exits at once.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The shared "stop requested" flag, installing the handler on first use.
pub fn flag() -> Arc<AtomicBool> {
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // If a handler cannot be installed (e.g. one exists already), Ctrl-C
        // simply keeps its default behaviour.
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
        });
        flag
    })
    .clone()
}

/// Whether Ctrl-C was pressed: the `should_stop` check every long-running command passes down.
pub fn requested() -> impl Fn() -> bool {
    let stop = flag();
    move || stop.load(Ordering::Relaxed)
}
