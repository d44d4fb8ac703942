//! Tokens and the argument cursor each command parser consumes.

use super::ParseError;
use super::spec::Spec;

/// Splits on whitespace, honouring "double" and 'single' quotes.
pub fn tokenize(text: &str) -> Result<Vec<String>, ParseError> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_token = false;
    let mut quote: Option<char> = None;
    for ch in text.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => current.push(ch),
            None if ch == '"' || ch == '\'' => {
                quote = Some(ch);
                in_token = true;
            }
            None if ch.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut current));
                    in_token = false;
                }
            }
            None => {
                current.push(ch);
                in_token = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(ParseError::syntax(format!(
            "unterminated quote: a {q} was opened but never closed"
        )));
    }
    if in_token {
        tokens.push(current);
    }
    Ok(tokens)
}

/// The arguments of one command, with its spec at hand for error messages.
#[derive(Debug)]
pub struct Args {
    pub spec: &'static Spec,
    tokens: Vec<String>,
}

impl Args {
    pub fn new(spec: &'static Spec, tokens: Vec<String>) -> Self {
        Self { spec, tokens }
    }

    /// Removes `--name` and returns whether it was there.
    pub fn switch(&mut self, name: &str) -> Result<bool, ParseError> {
        let flag = format!("--{name}");
        if let Some(pos) = self.tokens.iter().position(|t| *t == flag) {
            self.tokens.remove(pos);
            return Ok(true);
        }
        if let Some(t) = self
            .tokens
            .iter()
            .find(|t| t.starts_with(&format!("{flag}=")))
        {
            return Err(ParseError::invalid(
                self.spec,
                format!("`{flag}` takes no value, but got `{t}`"),
            ));
        }
        Ok(false)
    }

    /// Removes `--name value` or `--name=value` and returns the value.
    pub fn flag(&mut self, name: &str) -> Result<Option<String>, ParseError> {
        let flag = format!("--{name}");
        let with_eq = format!("{flag}=");
        if let Some(pos) = self.tokens.iter().position(|t| t.starts_with(&with_eq)) {
            let t = self.tokens.remove(pos);
            let value = t[with_eq.len()..].to_owned();
            if value.is_empty() {
                return Err(ParseError::missing(
                    self.spec,
                    &format!("a value for `{flag}`"),
                ));
            }
            return Ok(Some(value));
        }
        if let Some(pos) = self.tokens.iter().position(|t| *t == flag) {
            if pos + 1 >= self.tokens.len() || self.tokens[pos + 1].starts_with("--") {
                return Err(ParseError::missing(
                    self.spec,
                    &format!("a value for `{flag}`"),
                ));
            }
            self.tokens.remove(pos);
            return Ok(Some(self.tokens.remove(pos)));
        }
        Ok(None)
    }

    /// The next positional argument, or an error naming what was expected.
    pub fn required(&mut self, what: &str) -> Result<String, ParseError> {
        self.optional()
            .ok_or_else(|| ParseError::missing(self.spec, what))
    }

    /// The next positional argument, if any (flags are not positionals).
    pub fn optional(&mut self) -> Option<String> {
        let pos = self.tokens.iter().position(|t| !t.starts_with("--"))?;
        Some(self.tokens.remove(pos))
    }

    /// Everything that is left, joined by spaces (for titles and PromQL).
    pub fn rest(&mut self) -> String {
        std::mem::take(&mut self.tokens).join(" ")
    }

    /// Fails on anything not consumed: unknown options or extra arguments.
    pub fn finish(self) -> Result<(), ParseError> {
        if let Some(flag) = self.tokens.iter().find(|t| t.starts_with("--")) {
            let name = flag.split('=').next().unwrap_or(flag);
            let options: Vec<&str> = self
                .spec
                .args
                .split(['[', ']', ' '])
                .filter(|w| w.starts_with("--"))
                .collect();
            let msg = if options.is_empty() {
                format!("`{}` has no options, but got `{name}`", self.spec.name)
            } else {
                format!(
                    "`{name}` is not an option of `{}`; its options are {}",
                    self.spec.name,
                    options.join(", ")
                )
            };
            return Err(ParseError::invalid(self.spec, msg));
        }
        if let Some(extra) = self.tokens.first() {
            return Err(ParseError::invalid(
                self.spec,
                format!("unexpected extra argument `{extra}`"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_group_words_and_unterminated_quotes_are_refused() {
        assert_eq!(
            tokenize(r#"incident start "db down" now"#).unwrap(),
            vec!["incident", "start", "db down", "now"]
        );
        assert_eq!(tokenize("a ''").unwrap(), vec!["a", ""]);
        assert!(tokenize("config set x 'oops").is_err());
    }
}
