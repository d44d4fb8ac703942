//! `milvus collections`: REST v2 `POST /v2/vectordb/collections/list`.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) fn render_collections(list: &[String]) -> Message {
    if list.is_empty() {
        return Message::new(Tone::Warning)
            .header("Milvus has no collections in database `default`")
            .context("RAG retrieval needs its collections; see runbook §4.4");
    }
    Message::new(Tone::Info)
        .header(format!("Milvus collections ({})", list.len()))
        .table(
            &["COLLECTION"],
            list.iter().map(|c| vec![c.clone()]).collect(),
        )
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let list = x.milvus_collections("milvus collections").await?;
    let summary = format!("milvus collections: {}", list.len());
    Ok(Outcome::reply(render_collections(&list), summary))
}
