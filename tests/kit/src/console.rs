//! Drives a running `vabot console` line by line: each command's reply is read up to a
//! `:whoami` sentinel, so a test knows where one reply ends and can use what it said
//! (an approval id, an invocation id for `undo`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `vabot console` child process.
pub struct ConsoleBot {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// How long one reply may take.
    pub timeout: Duration,
}

impl ConsoleBot {
    /// Starts `cmd` (a `vabot … console` command) with piped stdio.
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("vabot console starts");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take().expect("stdin");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            timeout: Duration::from_secs(30),
        }
    }

    /// Sends one line and returns everything printed for it.
    pub fn say(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}\n:whoami").expect("write to the console");
        self.stdin.flush().expect("flush");
        let mut out = Vec::new();
        loop {
            match self.lines.recv_timeout(self.timeout) {
                Ok(l) if is_sentinel(&l) => return out.join("\n"),
                Ok(l) => out.push(l),
                Err(_) => panic!(
                    "no complete reply to `{line}` within {:?}; so far:\n{}",
                    self.timeout,
                    out.join("\n")
                ),
            }
        }
    }

    /// Ends the console (EOF) and waits for it.
    pub fn quit(mut self) {
        let _ = writeln!(self.stdin, ":quit");
        let _ = self.child.wait();
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(alice in #incident-prod)`, what `:whoami` prints.
fn is_sentinel(line: &str) -> bool {
    line.starts_with('(') && line.ends_with(')') && line.contains(" in ") && !line.contains("now ")
}

/// The approval id of an approval card in a reply (`Approval needed (a-XXXXXX)`).
pub fn approval_id(reply: &str) -> Option<String> {
    let rest = reply.split("Approval needed (").nth(1)?;
    rest.split(')').next().map(str::to_owned)
}

/// The invocation id a change offers to undo (`undo with `/va undo i-XXXXXX``).
pub fn undo_id(reply: &str) -> Option<String> {
    let rest = reply.split("/va undo ").nth(1)?;
    Some(
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    )
}
