//! Discord payloads as the adapter receives them: a gateway frame (serenity's
//! `GatewayEvent`, which carries `INTERACTION_CREATE` and `MESSAGE_REACTION_ADD`) or a
//! bare interaction; a `/va` command's options are turned back into command text by the
//! generated schema and parsed by the grammar. Nothing may panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serenity::all::{Event, Interaction};
use serenity::model::event::GatewayEvent;
use vabot_commands::catalog::Catalog;
use vabot_discord::Schema;

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::voicehelper);
static SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| Schema::generate().expect("the grammar yields a Discord schema"));

fn command_text(interaction: &Interaction) {
    if let Interaction::Command(cmd) | Interaction::Autocomplete(cmd) = interaction
        && let Ok(text) = SCHEMA.text_of(&cmd.data.options)
    {
        let _ = vabot_commands::parse(&text, &CATALOG);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(GatewayEvent::Dispatch(_, Event::InteractionCreate(ev))) =
        serde_json::from_slice::<GatewayEvent>(data)
    {
        command_text(&ev.interaction);
    }
    if let Ok(interaction) = serde_json::from_slice::<Interaction>(data) {
        command_text(&interaction);
    }
});
