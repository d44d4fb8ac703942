//! The `/va` grammar on arbitrary UTF-8: `parse` returns a command or a `ParseError`,
//! never panics, and whatever it accepts has a name in the command table and a help
//! topic; rendering the error (what the user sees) never panics either.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use vabot_commands::catalog::Catalog;
use vabot_commands::grammar;

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::voicehelper);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match grammar::parse(text, &CATALOG) {
        Ok(command) => {
            let name = command.name();
            assert!(!name.is_empty());
            // `help <name>` must know every command the parser produces.
            assert!(
                grammar::help_topic(name).is_ok(),
                "no help topic for `{name}` (from {text:?})"
            );
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    // `help <anything>` answers or explains, never panics.
    let _ = grammar::help_topic(text);
});
