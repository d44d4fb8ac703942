//! `nacos config <dataId> [group]`: one configuration as Nacos serves it (v2 open API
//! `GET /nacos/v2/cs/config`), secret-looking values masked, with its size and SHA-256
//! prefix so two readings can be compared without showing the whole text.

use sha2::{Digest, Sha256};

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) async fn run(x: &Inner, data_id: &str, group: &str) -> Result<Outcome, ExecError> {
    let base = x.nacos("nacos config")?;
    let raw = x
        .timed(
            WHAT,
            x.http.get_raw_query(
                WHAT,
                &join(base, "nacos/v2/cs/config"),
                &[("dataId", data_id.to_owned()), ("group", group.to_owned())],
            ),
        )
        .await?;
    let parsed: Option<V2Result<String>> = serde_json::from_str(&raw.body).ok();
    let content = match (raw.status, parsed) {
        (s, Some(r)) if s.is_success() && r.code == 0 => r.data.unwrap_or_default(),
        // 20004 / HTTP 404: the config does not exist.
        (s, r) if s == StatusCode::NOT_FOUND || r.as_ref().is_some_and(|r| r.code == 20004) => {
            return Err(ExecError::NotFound {
                what: format!("Nacos config {data_id} in group {group}"),
            });
        }
        (s, r) => {
            return Err(ExecError::Unavailable {
                what: WHAT.into(),
                detail: format!(
                    "config {data_id}: HTTP {} {}",
                    s.as_u16(),
                    r.and_then(|r| r.message)
                        .unwrap_or_else(|| excerpt(&raw.body, 200))
                ),
            });
        }
    };
    let digest = Sha256::digest(content.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let shown = redact_config_text(&content);
    let lines = content.lines().count();
    let m = Message::new(Tone::Info)
        .header(format!("Nacos config {data_id} ({group})"))
        .fields([
            ("size", format!("{} bytes, {lines} lines", content.len())),
            ("sha256", format!("{hash}…")),
        ])
        .code(excerpt(&shown, 3000))
        .context("Secret-looking values are masked.");
    Ok(Outcome::reply(
        m,
        format!("nacos config {data_id} ({group}): sha256 {hash}"),
    ))
}

/// Masks the value of every secret-looking key in properties (`k=v`) or YAML (`k: v`)
/// text (a token count excepted), and every URL password.
pub fn redact_config_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            let sep = [line.find('='), line.find(':')].into_iter().flatten().min();
            match sep {
                Some(i)
                    if vabot_commands::secret::secret_looking_key(line[..i].trim())
                        && !line[i + 1..].trim().is_empty()
                        && !token_count(&line[..i], &line[i + 1..]) =>
                {
                    format!("{}{} [redacted]", &line[..i], &line[i..=i])
                }
                Some(i) if token_count(&line[..i], &line[i + 1..]) => line.to_owned(),
                _ => vabot_commands::secret::scrub(line),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `rate_limit.tokens=100`: a token *count* (the rate-limit bucket), not a secret. Only a
/// key whose one secret-looking word is "token" with a plain number qualifies; a numeric
/// `password=123456` is still masked.
fn token_count(key: &str, value: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    let only_token =
        k.contains("token") && !vabot_commands::secret::secret_looking_key(&k.replace("token", ""));
    only_token && value.trim().parse::<u64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_in_properties_and_yaml() {
        let text = "db.password=123456\nrate_limit.tokens=100\nllm.api_key=sk-123456\nserver.port=8080\ndb:\n  password: hunter2\nurl: postgres://u:pw1234@db/x";
        let out = redact_config_text(text);
        assert!(
            !out.contains("sk-123456") && !out.contains("hunter2") && !out.contains("pw1234"),
            "{out}"
        );
        assert!(
            out.contains("server.port=8080") && out.contains("llm.api_key= [redacted]"),
            "{out}"
        );
    }
}
