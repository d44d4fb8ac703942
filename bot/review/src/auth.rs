//! Who may read the review pages: a bearer token or basic-auth credentials from the
//! configuration, compared in constant time; anything else gets 401 and a challenge.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vabot_commands::secret::Secret;

/// The credentials the review pages require.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)` (what a browser prompts for).
    Basic { user: String, password: Secret },
}

impl Auth {
    fn challenge(&self) -> &'static str {
        match self {
            Auth::Bearer(_) => "Bearer realm=\"vabot review\"",
            Auth::Basic { .. } => "Basic realm=\"vabot review\", charset=\"UTF-8\"",
        }
    }

    /// Whether an `Authorization` header value carries the configured credentials.
    pub fn accepts(&self, header: Option<&str>) -> bool {
        let Some(value) = header else { return false };
        match self {
            Auth::Bearer(token) => value
                .strip_prefix("Bearer ")
                .is_some_and(|given| same(given.trim().as_bytes(), token.expose().as_bytes())),
            Auth::Basic { user, password } => {
                let Some(b64) = value.strip_prefix("Basic ") else {
                    return false;
                };
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim())
                else {
                    return false;
                };
                let expected = format!("{user}:{}", password.expose());
                same(&decoded, expected.as_bytes())
            }
        }
    }
}

/// Constant-time equality that does not leak the length either: both sides are hashed
/// first, and the digests are compared with `subtle`.
fn same(given: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(given);
    let b = Sha256::digest(expected);
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// Middleware: lets the request through only with the configured credentials.
pub async fn require(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.accepts(given) {
        return next.run(req).await;
    }
    let mut res = (
        StatusCode::UNAUTHORIZED,
        "The review pages need the configured credentials.\n",
    )
        .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(auth.challenge()),
    );
    res
}
