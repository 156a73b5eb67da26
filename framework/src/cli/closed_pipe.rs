//! A reader that stops reading (`trustx plugins | head`) ends the output, not the program with
//! a panic: Rust ignores SIGPIPE, so `println!` to a closed pipe panics with "failed printing
//! to stdout: Broken pipe". The hook below turns exactly that panic into a quiet exit with
//! status 141 (128 + SIGPIPE, what a shell reports for a Unix tool killed the same way).
//! SIGPIPE itself stays ignored, so a served model's closed stdin is still an error trustx
//! reports, not a signal that kills it; and a run cut this way resumes like any interrupted
//! run (every write is atomic).

/// The exit status of a program whose standard output was closed by its reader.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Installs the hook (once, at start-up), keeping the default one for every other panic.
pub fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if is_closed_stdout(message) {
            std::process::exit(CLOSED_PIPE_STATUS);
        }
        default(info)
    }));
}

/// Whether a panic message is `print!`'s on a stdout whose reader has gone.
fn is_closed_stdout(message: &str) -> bool {
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_closed_stdout_panic_is_recognised() {
        assert!(super::is_closed_stdout("failed printing to stdout: Broken pipe (os error 32)"));
        assert!(!super::is_closed_stdout("failed printing to stdout: No space left on device (os error 28)"));
        assert!(!super::is_closed_stdout("index out of bounds"));
    }
}
