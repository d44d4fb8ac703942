//! Progress, then the result: the work runs; if it is not done within `after`, the
//! adapter shows a placeholder ("working on it…", a deferred response), and the result
//! replaces it when it comes.

use std::future::Future;
use std::time::Duration;

/// Runs `work`; calls `slow` once (and awaits it) if `work` outlasts `after`. Returns the
/// work's output and what `slow` returned, if it ran.
pub async fn with_progress<T, P, W, S, SF>(after: Duration, work: W, slow: S) -> (T, Option<P>)
where
    W: Future<Output = T>,
    S: FnOnce() -> SF,
    SF: Future<Output = P>,
{
    tokio::pin!(work);
    match tokio::time::timeout(after, &mut work).await {
        Ok(done) => (done, None),
        Err(_) => {
            let placeholder = slow().await;
            (work.await, Some(placeholder))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn quick_work_shows_no_placeholder_and_slow_work_shows_one() {
        let quick = with_progress(Duration::from_millis(100), async { 1 }, || async { "p" }).await;
        assert_eq!(quick, (1, None));
        let slow = with_progress(
            Duration::from_millis(100),
            async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                2
            },
            || async { "placeholder" },
        )
        .await;
        assert_eq!(slow, (2, Some("placeholder")));
    }
}
