//! The timeline as JSON (the shape the review page and scripts read).

use super::timeline::Timeline;
impl Timeline {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}
