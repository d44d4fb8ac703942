//! `redis monitor [--seconds n]`: a bounded MONITOR sample (runbook §4.5 `redis-cli
//! MONITOR`): at most 10 seconds and [`MAX_LINES`] commands, then the connection is closed.
//! Only command names and key *patterns* are shown (`user:*:profile`); values and every
//! other argument are never rendered, and `AUTH`/`HELLO` lines are dropped whole.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

/// Lines read at most, whatever the rate: the sample's memory is bounded.
pub const MAX_LINES: usize = 200_000;

/// One MONITOR line: `1339518083.107412 [0 127.0.0.1:60866] "set" "k" "v"` → its
/// command and arguments, unescaped.
pub fn parse_line(line: &str) -> Option<(u32, Vec<String>)> {
    let rest = line.split_once(" [")?.1;
    let (inside, args) = rest.split_once("] ")?;
    let db = inside.split_whitespace().next()?.parse().ok()?;
    let mut out = Vec::new();
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut arg = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        if let Ok(b) = u8::from_str_radix(&hex, 16) {
                            arg.push(char::from(b));
                        }
                    }
                    Some('n') => arg.push('\n'),
                    Some('r') => arg.push('\r'),
                    Some('t') => arg.push('\t'),
                    Some(other) => arg.push(other),
                    None => break,
                },
                c => arg.push(c),
            }
        }
        out.push(arg);
    }
    (!out.is_empty()).then_some((db, out))
}

/// A key with its identifiers replaced by `*`: `session:8f14e45f…` → `session:*`,
/// `user:1001:profile` → `user:*:profile`. What is looked up, not whose.
pub fn key_pattern(key: &str) -> String {
    let key: String = key.chars().take(120).collect();
    key.split_inclusive([':', '/', '.', '|'])
        .map(|seg| {
            let (body, sep) = match seg.char_indices().last() {
                Some((i, c)) if [':', '/', '.', '|'].contains(&c) => (&seg[..i], &seg[i..]),
                _ => (seg, ""),
            };
            let digits = body.chars().filter(char::is_ascii_digit).count();
            let hexish = body
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '-' || c == '_');
            let id = (digits > 0 && hexish && body.len() >= 6)
                || (!body.is_empty() && body.chars().all(|c| c.is_ascii_digit()))
                || body.len() > 40;
            if id {
                format!("*{sep}")
            } else {
                format!("{body}{sep}")
            }
        })
        .collect()
}

/// Commands whose first argument is not a key.
fn keyless(cmd: &str) -> bool {
    matches!(
        cmd,
        "PING"
            | "INFO"
            | "SELECT"
            | "CLIENT"
            | "CONFIG"
            | "COMMAND"
            | "DBSIZE"
            | "FLUSHDB"
            | "FLUSHALL"
            | "SLOWLOG"
            | "SCAN"
            | "EVAL"
            | "EVALSHA"
            | "SCRIPT"
            | "PUBLISH"
            | "SUBSCRIBE"
            | "MULTI"
            | "EXEC"
            | "ECHO"
            | "TIME"
            | "MONITOR"
    )
}

/// What a sample saw.
#[derive(Debug, Default)]
pub struct Sample {
    pub lines: usize,
    pub dropped_auth: usize,
    pub by_command: BTreeMap<String, usize>,
    pub by_key: BTreeMap<(String, String), usize>,
    pub elapsed: Duration,
    pub truncated: bool,
}

impl Sample {
    pub fn add(&mut self, line: &str) {
        let Some((_db, args)) = parse_line(line) else {
            return;
        };
        let cmd = args[0].to_ascii_uppercase();
        if matches!(cmd.as_str(), "AUTH" | "HELLO" | "MIGRATE") {
            self.dropped_auth += 1;
            return;
        }
        self.lines += 1;
        *self.by_command.entry(cmd.clone()).or_default() += 1;
        if !keyless(&cmd)
            && let Some(key) = args.get(1)
        {
            *self.by_key.entry((cmd, key_pattern(key))).or_default() += 1;
        }
    }
}

impl Redis {
    pub(crate) async fn monitor(&self, secs: u64, connect: Duration) -> Result<Sample, ExecError> {
        let monitor = tokio::time::timeout(connect, self.client.get_async_monitor())
            .await
            .map_err(|_| ExecError::Timeout {
                what: WHAT.into(),
                secs: connect.as_secs(),
            })?
            .map_err(|e| self.error(e))?;
        let mut stream = monitor.into_on_message::<String>();
        let mut sample = Sample::default();
        let start = Instant::now();
        let deadline = tokio::time::sleep(Duration::from_secs(secs));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                line = stream.next() => match line {
                    Some(l) => {
                        sample.add(&l);
                        if sample.lines >= MAX_LINES {
                            sample.truncated = true;
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
        sample.elapsed = start.elapsed();
        // Dropping the stream closes the MONITOR connection.
        Ok(sample)
    }
}

pub fn render_monitor(s: &Sample) -> Message {
    let secs = s.elapsed.as_secs_f64().max(0.001);
    let mut m = Message::new(Tone::Info).header(format!(
        "Redis MONITOR: {} commands in {:.1}s ({:.0}/s){}",
        s.lines,
        secs,
        s.lines as f64 / secs,
        if s.truncated {
            format!(", stopped at {MAX_LINES}")
        } else {
            String::new()
        }
    ));
    if s.lines == 0 {
        return m.paragraph("No command reached Redis during the sample.");
    }
    let mut cmds: Vec<(&String, &usize)> = s.by_command.iter().collect();
    cmds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    m = m.table(
        &["COMMAND", "COUNT", "SHARE"],
        cmds.iter()
            .take(10)
            .map(|(c, n)| {
                vec![
                    (*c).clone(),
                    n.to_string(),
                    format!("{:.0}%", **n as f64 * 100.0 / s.lines as f64),
                ]
            })
            .collect(),
    );
    let mut keys: Vec<(&(String, String), &usize)> = s.by_key.iter().collect();
    keys.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if !keys.is_empty() {
        m = m.table(
            &["COMMAND", "KEY PATTERN", "COUNT"],
            keys.iter()
                .take(15)
                .map(|((c, k), n)| vec![c.clone(), k.clone(), n.to_string()])
                .collect(),
        );
    }
    m.context(
        "Values and arguments are never shown; identifiers in keys are replaced by *. MONITOR slows Redis while it runs, so samples are capped at 10 s.",
    )
}

pub(crate) async fn run(x: &Inner, secs: u32) -> Result<Outcome, ExecError> {
    let sample = x
        .redis("redis monitor")?
        .monitor(u64::from(secs), x.timeout)
        .await?;
    let summary = format!(
        "redis monitor: {} commands in {:.1}s",
        sample.lines,
        sample.elapsed.as_secs_f64()
    );
    Ok(Outcome::reply(render_monitor(&sample), summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines_are_unescaped_and_keys_become_patterns() {
        let (db, args) =
            parse_line(r#"1339518083.107412 [0 127.0.0.1:60866] "set" "user:1001:profile" "a \"quoted\" value""#)
                .unwrap();
        assert_eq!(db, 0);
        assert_eq!(args, vec!["set", "user:1001:profile", "a \"quoted\" value"]);
        assert_eq!(key_pattern("user:1001:profile"), "user:*:profile");
        assert_eq!(key_pattern("session:8f14e45fceea167a"), "session:*");
        assert_eq!(key_pattern("cache:v2:faq"), "cache:v2:faq");
        assert_eq!(parse_line("OK"), None);
    }

    #[test]
    fn auth_lines_are_dropped_and_values_never_kept() {
        let mut s = Sample::default();
        s.add(r#"1.0 [0 127.0.0.1:1] "AUTH" "hunter2""#);
        s.add(r#"1.0 [0 127.0.0.1:1] "SET" "token:4242" "s3cr3t""#);
        assert_eq!((s.lines, s.dropped_auth), (1, 1));
        let text = vabot_commands::message::render_text(&render_monitor(&s));
        assert!(
            !text.contains("hunter2") && !text.contains("s3cr3t") && !text.contains("4242"),
            "{text}"
        );
        assert!(text.contains("token:*"), "{text}");
    }
}
