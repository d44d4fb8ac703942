//! The hash chain that makes the history tamper-evident: each record carries the SHA-256
//! of the one before it over a canonical encoding of its content; [`verify_chain`] finds
//! an edit, a deletion, a reordering or a cut-off tail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{EventKind, NewEvent};
use crate::model::{Actor, ChannelRef, InvocationId};

/// An appended event, chained to the one before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub invocation: Option<InvocationId>,
    pub channel: ChannelRef,
    pub actor: Option<Actor>,
    pub kind: EventKind,
    pub summary: String,
    pub data: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the empty chain's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the previous hash and a canonical encoding of the event's content.
pub fn chain_hash(prev_hash: &str, seq: u64, at: &DateTime<Utc>, ev: &NewEvent) -> String {
    let content = serde_json::json!({
        "seq": seq,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "invocation": ev.invocation,
        "channel": ev.channel,
        "actor": ev.actor,
        "kind": ev.kind,
        "summary": ev.summary,
        "data": ev.data,
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

impl AuditEvent {
    pub fn seal(seq: u64, at: DateTime<Utc>, prev_hash: &str, ev: NewEvent) -> Self {
        let hash = chain_hash(prev_hash, seq, &at, &ev);
        Self {
            seq,
            at,
            invocation: ev.invocation,
            channel: ev.channel,
            actor: ev.actor,
            kind: ev.kind,
            summary: ev.summary,
            data: ev.data,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }

    fn content(&self) -> NewEvent {
        NewEvent {
            invocation: self.invocation.clone(),
            channel: self.channel.clone(),
            actor: self.actor.clone(),
            kind: self.kind,
            summary: self.summary.clone(),
            data: self.data.clone(),
        }
    }
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("record {seq} was edited: its content does not match its hash")]
    Edited { seq: u64 },
    #[error(
        "record {seq} does not follow record {prev}: a record was deleted or the order changed"
    )]
    Gap { seq: u64, prev: u64 },
    #[error(
        "record {seq} does not link to the hash of the record before it: a record was deleted, replaced or reordered"
    )]
    Unlinked { seq: u64 },
    #[error(
        "the chain ends at record {last}, but the head recorded {expected}: the tail was truncated"
    )]
    Truncated { last: u64, expected: u64 },
}

/// Checks a whole chain (ordered by seq as stored) against the recorded head, if any.
pub fn verify_chain(events: &[AuditEvent], head: Option<(u64, &str)>) -> Result<usize, ChainBreak> {
    let mut prev_hash = GENESIS.to_owned();
    let mut prev_seq = 0u64;
    for ev in events {
        if ev.seq != prev_seq + 1 {
            return Err(ChainBreak::Gap {
                seq: ev.seq,
                prev: prev_seq,
            });
        }
        if ev.prev_hash != prev_hash {
            return Err(ChainBreak::Unlinked { seq: ev.seq });
        }
        if chain_hash(&ev.prev_hash, ev.seq, &ev.at, &ev.content()) != ev.hash {
            return Err(ChainBreak::Edited { seq: ev.seq });
        }
        prev_hash = ev.hash.clone();
        prev_seq = ev.seq;
    }
    if let Some((expected, hash)) = head
        && (prev_seq < expected || (prev_seq == expected && prev_hash != hash))
    {
        return Err(ChainBreak::Truncated {
            last: prev_seq,
            expected,
        });
    }
    Ok(events.len())
}
