//! HTML by hand, escaped by type: every value from the store goes through [`Esc`]
//! (text and attributes) or [`enc`] (URL components). Markup is only ever constant.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Text or an attribute value, escaped for HTML.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A URL component (a query value, a path segment), percent-encoded.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `a=1&b=2` from the pairs that have a non-empty value (not yet HTML-escaped).
pub fn query(pairs: &[(&str, &Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", enc(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Only links to the chat clients are rendered as outbound links; anything else in a
/// record (a `javascript:` URL someone pasted) is shown as text.
pub fn safe_link(url: &str) -> Option<&str> {
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

/// `10:02:11` from a stored stamp.
pub fn clock(stamp: &str) -> &str {
    stamp.get(11..19).unwrap_or(stamp)
}

/// `2026-12-01 10:02` from a stored stamp.
pub fn day_minute(stamp: &str) -> String {
    match (stamp.get(..10), stamp.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => stamp.to_owned(),
    }
}

/// The whole page around `body` (which is already HTML).
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · vabot review</title><style>{CSS}</style></head><body>\
<header class=\"top\"><a class=\"brand\" href=\"/review\">vabot <span>review</span></a>\
<span class=\"ro\">read-only</span></header><main>{body}</main>\
<footer>Rendered from vabot's hash-chained audit log. Nothing on this page can change it.</footer>\
</body></html>\n",
        Esc(title)
    )
}

const CSS: &str = r#"
:root{--bg:#f6f7f9;--card:#fff;--ink:#1c2128;--muted:#656d76;--faint:#8c959f;--line:#e3e6ea;
--green:#1a7f37;--red:#cf222e;--amber:#9a6700;--blue:#0969da;--purple:#8250df;--orange:#bc4c00;--grey:#6e7781}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--ink);font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Inter,"Noto Sans",Helvetica,Arial,sans-serif}
body{margin:0}
a{color:var(--blue);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,"JetBrains Mono",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:13px}
header.top{display:flex;align-items:center;justify-content:space-between;padding:10px 32px;background:#fff;border-bottom:1px solid var(--line)}
.brand{font-weight:650;color:var(--ink);letter-spacing:-.01em}.brand span{color:var(--muted);font-weight:500}
.ro{font-size:12px;color:var(--muted);border:1px solid var(--line);border-radius:999px;padding:1px 10px}
main{max-width:1060px;margin:0 auto;padding:28px 32px 16px}
footer{max-width:1060px;margin:0 auto;padding:8px 32px 32px;color:var(--faint);font-size:12px}
h1{font-size:26px;line-height:1.25;margin:4px 0 6px;letter-spacing:-.015em}
h2{font-size:15px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:30px 0 10px;font-weight:600}
.crumb{font-size:13px;color:var(--muted)}.crumb a{color:var(--muted)}
.meta{display:flex;flex-wrap:wrap;gap:6px 18px;color:var(--muted);font-size:14px;margin:6px 0 0}
.meta b{color:var(--ink);font-weight:600}
figure.chart{margin:8px 0 4px}figure.chart img{max-width:100%;max-height:360px;border:1px solid #d0d7de;border-radius:6px;background:#fff}
.chain{display:inline-flex;align-items:center;gap:8px;font-size:13px;border-radius:8px;padding:6px 12px;margin-top:14px}
.chain.ok{background:#dafbe1;color:#116329}
.chain.broken{display:flex;background:#ffebe9;color:#a40e26;border:1px solid #ff8182;font-size:15px;padding:12px 16px;font-weight:600}
.chain.broken small{font-weight:400;display:block;color:#82071e}
.bar{display:flex;flex-wrap:wrap;align-items:end;gap:12px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:20px 0 8px}
.bar label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
.bar select{font:inherit;font-size:14px;padding:5px 8px;border:1px solid #d0d7de;border-radius:6px;background:#fff;min-width:130px}
.btn{display:inline-block;font:inherit;font-size:14px;padding:6px 14px;border-radius:6px;border:1px solid #d0d7de;background:#f6f8fa;color:var(--ink);cursor:pointer}
.btn.primary{background:var(--ink);color:#fff;border-color:var(--ink)}
.spacer{flex:1}
.exports{display:flex;gap:6px;align-items:center;font-size:13px;color:var(--muted)}
.note{font-size:13px;color:var(--muted);margin:6px 2px 0}
ol.tl{list-style:none;margin:18px 0 0;padding:0;position:relative}
ol.tl:before{content:"";position:absolute;left:83px;top:6px;bottom:6px;width:2px;background:var(--line)}
ol.tl>li{display:grid;grid-template-columns:70px 1fr;gap:28px;margin:0 0 12px;position:relative}
ol.tl>li:before{content:"";position:absolute;left:78px;top:15px;width:12px;height:12px;border-radius:50%;background:var(--c,var(--grey));box-shadow:0 0 0 3px var(--bg)}
ol.tl time{font:12px/1 ui-monospace,Menlo,Consolas,monospace;color:var(--muted);padding-top:15px;text-align:right}
.card{background:var(--card);border:1px solid var(--line);border-left:3px solid var(--c,var(--grey));border-radius:8px;padding:10px 14px}
.head{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 10px}
.who{font-weight:650}
.cmd{background:#f3f4f6;border-radius:5px;padding:1px 7px}
.badge{font-size:11.5px;font-weight:600;border-radius:999px;padding:1px 9px;background:#eef1f4;color:var(--muted);white-space:nowrap}
.badge.out{background:color-mix(in srgb,var(--c) 13%,white);color:var(--c)}
.risk-write{background:#ddf4ff;color:#0550ae}.risk-destructive{background:#ffebe9;color:#a40e26}
.right{margin-left:auto;font-size:12.5px}
ul.steps{list-style:none;margin:6px 0 0;padding:0;font-size:14px}
ul.steps li{display:grid;grid-template-columns:64px 120px 1fr;gap:8px;padding:3px 0;border-top:1px dashed #eef0f2}
ul.steps li:first-child{border-top:0}
.st{font:12px ui-monospace,Menlo,Consolas,monospace;color:var(--faint);padding-top:2px}
.k{color:var(--muted);font-size:13px}
.chg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#fff8c5;border-radius:4px;padding:0 5px}
.err{color:var(--red)}
li.pin .card{background:#fbf8ff;border-color:#e9dcff}
.quote{font-size:15px;margin:4px 0 2px;white-space:pre-wrap}
.by{font-size:12.5px;color:var(--muted)}
li.marker{grid-template-columns:70px 1fr}
li.marker .card{background:transparent;border:0;border-left:0;padding:9px 0 0}
li.marker .card b{color:var(--c)}
.out-changed,.out-ok{--c:var(--green)}.out-ok{--c:#4b8f63}
.out-pending,.out-executing{--c:var(--amber)}
.out-denied,.out-failed,.out-refused{--c:var(--red)}
.out-rejected,.out-expired,.out-cancelled,.out-superseded{--c:var(--grey)}
.out-voted,.out-approved{--c:var(--blue)}.out-pinned{--c:var(--purple)}.out-incident{--c:var(--orange)}
.out-executed{--c:var(--green)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:10px;overflow:hidden;font-size:14px}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;background:#fafbfc;text-transform:uppercase;letter-spacing:.04em}
th,td{padding:9px 12px;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
a.inc{display:block;background:#fff;border:1px solid var(--line);border-left:3px solid var(--c);border-radius:10px;padding:12px 14px;color:var(--ink)}
a.inc:hover{text-decoration:none;border-color:#c9ced4;border-left-color:var(--c)}
a.inc .t{font-weight:650;font-size:16px}
a.inc .m{font-size:13px;color:var(--muted);margin-top:4px}
.facts{display:grid;grid-template-columns:170px 1fr;gap:6px 16px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;font-size:14px}
.facts dt{color:var(--muted)}.facts dd{margin:0}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:8px;padding:10px 12px;overflow:auto;max-height:340px}
.empty{color:var(--muted);background:#fff;border:1px dashed var(--line);border-radius:10px;padding:18px;text-align:center}
.arrow{color:var(--faint);padding:0 4px}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_chat_cannot_become_markup() {
        assert_eq!(
            Esc("<script>alert('x')</script> & \"q\"").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn query_values_are_percent_encoded_and_empty_ones_dropped() {
        let c = Some("console:#incident-prod".to_owned());
        let e = Some(String::new());
        assert_eq!(
            query(&[("channel", &c), ("user", &e), ("x", &None)]),
            "channel=console%3A%23incident-prod"
        );
    }

    #[test]
    fn only_http_links_are_rendered_as_links() {
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert!(safe_link("https://app.slack.com/client/T/C").is_some());
    }
}
