//! Where command output goes. Everything a command prints goes through [`finish`] (stdout)
//! or [`error`] (stderr): a reader that closes the pipe early (`fluxdeck tree | head`) ends
//! the command quietly with status 0, never with a panic.

use std::io::{self, Write};
use std::process::ExitCode;

/// Write `text` to `out` and flush; `Ok(false)` when the reader has closed the pipe.
pub fn write_to(out: &mut impl Write, text: &str) -> io::Result<bool> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

/// Print the command's output and return `code`; 0 when the reader closed the pipe (it has
/// what it wanted), 2 when stdout cannot be written.
pub fn finish(text: &str, code: ExitCode) -> ExitCode {
    match write_to(&mut io::stdout().lock(), text) {
        Ok(true) => code,
        Ok(false) => ExitCode::SUCCESS,
        Err(e) => {
            error(&format!("fluxdeck: cannot write the output: {e}"));
            ExitCode::from(2)
        }
    }
}

/// Print a line to stderr; a closed stderr is ignored.
pub fn error(line: &str) {
    let _ = write_to(&mut io::stderr().lock(), &format!("{line}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_not_an_error() {
        assert!(!write_to(&mut Closed, "x").unwrap());
        let mut buf = Vec::new();
        assert!(write_to(&mut buf, "x").unwrap());
        assert_eq!(buf, b"x");
    }
}
