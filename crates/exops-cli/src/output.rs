//! Writing results: standard output that treats a closed pipe as a normal end, JSON, and
//! progress bars that draw only on a terminal.

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::failure::Failure;

/// Writes to standard output; a closed pipe (`exops … | head`) is not an error.
pub fn emit(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::io(format!("cannot write the output: {error}"))),
    }
}

/// Pretty JSON with a final newline.
pub fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    let mut text = serde_json::to_string_pretty(value).map_err(Failure::io)?;
    text.push('\n');
    Ok(text)
}

/// A progress bar on standard error: a bar when the length is known, a counting spinner
/// when not. indicatif draws nothing when standard error is not a terminal, so piped and
/// captured runs stay quiet.
pub fn progress_bar(length: Option<u64>, what: &str) -> ProgressBar {
    let bar = match length {
        Some(length) => ProgressBar::new(length),
        None => ProgressBar::new_spinner(),
    };
    let template = if length.is_some() {
        "{prefix} [{bar:40}] {human_pos}/{human_len} events ({elapsed}, {eta} left)"
    } else {
        "{prefix} {spinner} {human_pos} events ({elapsed})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    bar
}

/// A spinner for work that cannot count its progress in events (a whole-log check):
/// it shows that the command is alive and for how long.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{prefix} {spinner} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints a note for the user on standard error.
pub fn note(text: &str) {
    eprintln!("exops: note: {text}");
}
