//! The HTTP client shared by Prometheus, Elasticsearch, Milvus and Nacos, and how its
//! failures become [`ExecError`]s a user can act on.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use vabot_commands::ports::ExecError;

use crate::scrub::Scrubber;

/// One reqwest client (rustls) with the configured timeout.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    scrub: Scrubber,
    secs: u64,
}

/// A raw answer: status and body, for APIs that answer health in the status code.
pub(crate) struct Raw {
    pub status: StatusCode,
    pub body: String,
}

impl Http {
    pub(crate) fn new(timeout: Duration, scrub: Scrubber) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("vabot/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            scrub,
            secs: timeout.as_secs(),
        })
    }

    /// GET and decode JSON; non-2xx answers are errors.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<T, ExecError> {
        let req = self.client.get(url).query(query);
        let raw = self.send(what, req).await?;
        self.decode(what, raw)
    }

    /// POST a JSON body (with an optional bearer token) and decode JSON.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        url: &str,
        body: &serde_json::Value,
        bearer: Option<&str>,
    ) -> Result<T, ExecError> {
        let mut req = self.client.post(url).json(body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let raw = self.send(what, req).await?;
        self.decode(what, raw)
    }

    /// POST a JSON body without judging the status code.
    pub(crate) async fn post_raw(
        &self,
        what: &'static str,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Raw, ExecError> {
        self.send(what, self.client.post(url).json(body)).await
    }

    /// GET without judging the status code.
    pub(crate) async fn get_raw(
        &self,
        what: &'static str,
        url: &str,
        json: bool,
    ) -> Result<Raw, ExecError> {
        let mut req = self.client.get(url);
        if json {
            // Milvus' /healthz answers JSON only when asked with this header.
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json");
        }
        self.send(what, req).await
    }

    /// GET with query parameters, without judging the status code.
    pub(crate) async fn get_raw_query(
        &self,
        what: &'static str,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Raw, ExecError> {
        self.send(what, self.client.get(url).query(query)).await
    }

    async fn send(
        &self,
        what: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<Raw, ExecError> {
        let resp = req.send().await.map_err(|e| self.error(what, e))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| self.error(what, e))?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ExecError::Forbidden {
                what: format!(
                    "{what} refused vabot's credentials (HTTP {}); check the token or password configured for it",
                    status.as_u16()
                ),
            });
        }
        Ok(Raw { status, body })
    }

    fn decode<T: DeserializeOwned>(&self, what: &'static str, raw: Raw) -> Result<T, ExecError> {
        if !raw.status.is_success() {
            return Err(ExecError::Unavailable {
                what: what.to_owned(),
                detail: self.scrub.scrub(&format!(
                    "HTTP {}: {}",
                    raw.status.as_u16(),
                    excerpt(&raw.body, 200)
                )),
            });
        }
        serde_json::from_str(&raw.body).map_err(|e| ExecError::Unavailable {
            what: what.to_owned(),
            detail: self.scrub.scrub(&format!(
                "unexpected answer ({e}): {}",
                excerpt(&raw.body, 200)
            )),
        })
    }

    /// A reqwest error as a user-facing error; the URL is dropped from the detail.
    pub(crate) fn error(&self, what: &'static str, e: reqwest::Error) -> ExecError {
        if e.is_timeout() {
            return ExecError::Timeout {
                what: what.to_owned(),
                secs: self.secs,
            };
        }
        let kind = if e.is_connect() {
            "cannot connect"
        } else if e.is_decode() || e.is_body() {
            "bad response body"
        } else {
            "request failed"
        };
        let e = e.without_url();
        ExecError::Unavailable {
            what: what.to_owned(),
            detail: self.scrub.scrub(&format!("{kind}: {}", chain(&e))),
        }
    }
}

/// An error and its sources on one line (for logs).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// The first `n` characters of a text, on one line.
pub(crate) fn excerpt(text: &str, n: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        let cut: String = one_line.chars().take(n).collect();
        format!("{cut}…")
    }
}

/// `base` + `path`, without doubling the slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
