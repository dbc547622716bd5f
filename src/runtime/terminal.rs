//! Terminal hygiene: raw mode and the alternate screen while the UI runs, and the terminal
//! given back in every way the process can leave or pause.
//!
//! - [`TerminalGuard`] enters on creation and restores on drop.
//! - [`install_panic_hook`] chains a hook that restores the terminal before the previous hook
//!   prints the panic.
//! - [`Signals`] lets the event loop `select!` on SIGTERM, SIGHUP, SIGINT (quit after
//!   restoring) and SIGCONT (redraw everything).
//! - [`TerminalGuard::suspend`] handles Ctrl-Z: raw mode swallows the key, so the UI leaves the
//!   alternate screen, stops itself with SIGTSTP, and comes back with a full redraw on `fg`.

use std::io::{self, Stdout, Write, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, EnableBracketedPaste, EnableFocusChange,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The terminal the UI draws on.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Optional terminal features turned on while the UI runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TerminalOptions {
    /// Pasted text arrives as one `Event::Paste` (for the filter and command lines).
    pub bracketed_paste: bool,
    /// `Event::FocusGained` / `FocusLost` are reported.
    pub focus_change: bool,
}

/// Whether the terminal is currently in the UI's mode, and which options to undo.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static PASTE: AtomicBool = AtomicBool::new(false);
static FOCUS: AtomicBool = AtomicBool::new(false);

/// Whether the terminal is in raw mode on the alternate screen.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

fn enter_terminal(options: TerminalOptions) -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    PASTE.store(options.bracketed_paste, Ordering::SeqCst);
    FOCUS.store(options.focus_change, Ordering::SeqCst);
    let result = (|| {
        let mut out = stdout();
        execute!(out, EnterAlternateScreen, Hide)?;
        if options.bracketed_paste {
            execute!(out, EnableBracketedPaste)?;
        }
        if options.focus_change {
            execute!(out, EnableFocusChange)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = restore_terminal();
    }
    result
}

/// Leave raw mode and the alternate screen and show the cursor. Does nothing when the
/// terminal is not in the UI's mode, so it is safe to call from anywhere, any number of times.
pub fn restore_terminal() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = stdout();
    // Undo everything even if one step fails; report the first failure.
    let mut first_err = None;
    let mut note = |r: io::Result<()>| {
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    };
    if PASTE.swap(false, Ordering::SeqCst) {
        note(execute!(out, DisableBracketedPaste));
    }
    if FOCUS.swap(false, Ordering::SeqCst) {
        note(execute!(out, DisableFocusChange));
    }
    note(execute!(out, LeaveAlternateScreen, Show));
    note(disable_raw_mode());
    note(out.flush());
    first_err.map_or(Ok(()), Err)
}

/// Chain a panic hook that restores the terminal, then runs the previous hook (which prints
/// the message on the normal screen). Installed once however often it is called; not at all
/// when the process-wide hook of [`super::panic`] is in place (it restores the terminal too).
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    if super::panic::is_installed() {
        return;
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore_terminal();
            previous(info);
        }));
    });
}

/// Clear the whole screen and forget what was drawn, so the next frame paints every cell.
/// (`Terminal::clear` would ask the terminal for the cursor position first, which a terminal
/// that does not answer turns into an error; the alternate screen has no cursor to keep.)
fn repaint_all(terminal: &mut Tui) -> io::Result<()> {
    let size = terminal.size()?;
    terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
}

/// Owns the terminal while the UI runs; restores it when dropped.
pub struct TerminalGuard {
    /// `None` only once dropped (see the `Drop` impl).
    terminal: Option<Tui>,
    options: TerminalOptions,
}

impl TerminalGuard {
    /// Install the panic hook, enter raw mode and the alternate screen, hide the cursor.
    pub fn enter(options: TerminalOptions) -> io::Result<TerminalGuard> {
        install_panic_hook();
        enter_terminal(options)?;
        match Terminal::new(CrosstermBackend::new(stdout())) {
            Ok(mut terminal) => {
                if let Err(e) = repaint_all(&mut terminal) {
                    let _ = restore_terminal();
                    return Err(e);
                }
                Ok(TerminalGuard {
                    terminal: Some(terminal),
                    options,
                })
            }
            Err(e) => {
                let _ = restore_terminal();
                Err(e)
            }
        }
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> io::Result<&mut Tui> {
        self.terminal
            .as_mut()
            .ok_or_else(|| io::Error::other("the terminal was given back"))
    }

    /// Forget what is on screen so the next draw repaints every cell (after SIGCONT, Ctrl-L,
    /// or anything else that may have written to the terminal).
    pub fn force_redraw(&mut self) -> io::Result<()> {
        repaint_all(self.terminal()?)
    }

    /// Give the terminal back now (before printing a final message, for example). Dropping
    /// the guard afterwards does nothing more.
    pub fn restore(&mut self) -> io::Result<()> {
        restore_terminal()
    }

    /// Re-enter the UI's mode after [`TerminalGuard::restore`], with a full redraw next.
    pub fn reenter(&mut self) -> io::Result<()> {
        if !is_active() {
            enter_terminal(self.options)?;
        }
        repaint_all(self.terminal()?)
    }

    /// Ctrl-Z: restore the terminal, stop the process with SIGTSTP like any shell job, and on
    /// `fg` (SIGCONT) take the terminal again and repaint everything. Returns once resumed.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore_terminal()?;
        signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
        self.reenter()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // ratatui shows the cursor again when its terminal is dropped and prints to stderr
        // when that fails, which panics when the terminal is gone (an SSH session that
        // dropped, a closed terminal window): show it here, and when that fails as well the
        // terminal is gone and there is nothing to give back, so its drop is skipped.
        if let Some(mut terminal) = self.terminal.take()
            && terminal.show_cursor().is_err()
        {
            std::mem::forget(terminal);
        }
        let _ = restore_terminal();
    }
}

/// A process signal the event loop acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessSignal {
    /// SIGTERM: restore the terminal and exit.
    Terminate,
    /// SIGHUP: the terminal went away; restore and exit.
    Hangup,
    /// SIGINT sent by another process (Ctrl-C in raw mode is a key, not this).
    Interrupt,
    /// SIGCONT: resumed after a stop; repaint everything.
    Continue,
}

impl ProcessSignal {
    /// Whether the process should restore the terminal and exit.
    pub fn is_termination(self) -> bool {
        !matches!(self, ProcessSignal::Continue)
    }

    /// The signal number.
    pub fn number(self) -> i32 {
        match self {
            ProcessSignal::Terminate => signal_hook::consts::SIGTERM,
            ProcessSignal::Hangup => signal_hook::consts::SIGHUP,
            ProcessSignal::Interrupt => signal_hook::consts::SIGINT,
            ProcessSignal::Continue => signal_hook::consts::SIGCONT,
        }
    }

    /// The exit status of a process ended by this signal, as shells report it: 128 + the
    /// signal number (130 for SIGINT, 143 for SIGTERM).
    pub fn exit_code(self) -> std::process::ExitCode {
        let code = 128 + self.number();
        std::process::ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
    }
}

/// The signals the event loop listens to. Create it inside the tokio runtime, before entering
/// the terminal, so that the default actions are replaced from the start.
pub struct Signals {
    term: Signal,
    hup: Signal,
    int: Signal,
    cont: Signal,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            cont: signal(SignalKind::from_raw(signal_hook::consts::SIGCONT))?,
        })
    }

    /// The next signal; `None` if the runtime's signal driver has shut down.
    pub async fn recv(&mut self) -> Option<ProcessSignal> {
        tokio::select! {
            Some(()) = self.term.recv() => Some(ProcessSignal::Terminate),
            Some(()) = self.hup.recv() => Some(ProcessSignal::Hangup),
            Some(()) = self.int.recv() => Some(ProcessSignal::Interrupt),
            Some(()) = self.cont.recv() => Some(ProcessSignal::Continue),
            else => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn restore_when_not_active_does_nothing() {
        assert!(!is_active());
        restore_terminal().unwrap();
        restore_terminal().unwrap();
        assert!(!is_active());
        install_panic_hook();
        install_panic_hook();
    }

    #[test]
    fn termination_signals_are_told_apart_from_continue() {
        assert!(ProcessSignal::Terminate.is_termination());
        assert!(ProcessSignal::Hangup.is_termination());
        assert!(ProcessSignal::Interrupt.is_termination());
        assert!(!ProcessSignal::Continue.is_termination());
    }

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        use std::process::ExitCode;
        assert_eq!(ProcessSignal::Interrupt.exit_code(), ExitCode::from(130));
        assert_eq!(ProcessSignal::Terminate.exit_code(), ExitCode::from(143));
        assert_eq!(ProcessSignal::Hangup.exit_code(), ExitCode::from(129));
    }

    #[tokio::test]
    async fn signals_reach_the_event_loop() {
        use signal_hook::consts::{SIGCONT, SIGHUP, SIGTERM};
        let mut signals = Signals::new().unwrap();
        for (raw, expected) in [
            (SIGHUP, ProcessSignal::Hangup),
            (SIGTERM, ProcessSignal::Terminate),
            (SIGCONT, ProcessSignal::Continue),
        ] {
            signal_hook::low_level::raise(raw).unwrap();
            let got = tokio::time::timeout(Duration::from_secs(30), signals.recv())
                .await
                .unwrap();
            assert_eq!(got, Some(expected));
        }
    }
}
