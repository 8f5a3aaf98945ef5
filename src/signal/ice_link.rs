//! ICE servers in HTTP `Link` headers (RFC 9725 §4.6, RFC 8288): how a WHIP/WHEP endpoint hands
//! out STUN/TURN servers — `<turn:h:3478?transport=udp>; rel="ice-server"; username="u";
//! credential="c"; credential-type="password"` — read by the client and written by `serve`.
//! A header may hold several links separated by commas; commas and semicolons inside `<…>` and
//! quoted strings do not split. Hostile values give no server, never a panic.

use crate::signal::ice_url::IceUrl;
use crate::signal::protocol::IceServer;

/// At most this many ICE servers are taken from one response.
const MAX_SERVERS: usize = 16;
/// Longest header value read.
const MAX_VALUE: usize = 8 * 1024;

/// The `Link` value for one ICE server URL (credentials only with both parts).
pub fn format_link(url: &str, server: &IceServer) -> String {
    let mut link = format!("<{url}>; rel=\"ice-server\"");
    if let (Some(u), Some(c)) = (&server.username, &server.credential) {
        link.push_str(&format!(
            "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
            quote(u),
            quote(c)
        ));
    }
    link
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Every ICE server the `Link` header values announce (`rel="ice-server"`, a valid STUN or TURN
/// URL); other links and malformed ones are skipped.
pub fn parse_links<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<IceServer> {
    let mut out = Vec::new();
    for value in values.into_iter().filter(|v| v.len() <= MAX_VALUE) {
        for link in split_outside(value, ',') {
            if out.len() == MAX_SERVERS {
                return out;
            }
            if let Some(server) = parse_link(link) {
                out.push(server);
            }
        }
    }
    out
}

/// One link-value: `<url>` then `; name="value"` parameters.
fn parse_link(link: &str) -> Option<IceServer> {
    let link = link.trim();
    let rest = link.strip_prefix('<')?;
    let end = rest.find('>')?;
    let url = rest[..end].trim();
    let mut params = split_outside(&rest[end + 1..], ';').into_iter();
    if !params.next()?.trim().is_empty() {
        return None;
    }
    let (mut rel, mut username, mut credential) = (false, None, None);
    for p in params {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), unquote(v.trim())?),
            None => (p.trim().to_ascii_lowercase(), String::new()),
        };
        match name.as_str() {
            "rel" => rel = value.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("ice-server")),
            "username" => username = Some(value),
            "credential" => credential = Some(value),
            _ => {}
        }
    }
    if !rel || IceUrl::parse(url).is_err() {
        return None;
    }
    Some(IceServer { urls: vec![url.to_owned()], username, credential })
}

/// A token or a quoted string with its backslash escapes undone.
fn unquote(v: &str) -> Option<String> {
    let Some(inner) = v.strip_prefix('"') else { return Some(v.to_owned()) };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return chars.as_str().trim().is_empty().then_some(out),
            c => out.push(c),
        }
    }
    None
}

/// `s` split at `sep` where it is outside `<…>` and quoted strings.
fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut in_url, mut in_quote, mut escaped) = (Vec::new(), 0, false, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' if !in_url => in_quote = !in_quote,
            '<' if !in_quote => in_url = true,
            '>' if !in_quote => in_url = false,
            c if c == sep && !in_url && !in_quote => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_announce_stun_and_turn_servers_with_credentials() {
        let servers = parse_links([
            r#"<stun:127.0.0.1:3478>; rel="ice-server""#,
            r#"<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="1700000000:a"; credential="x\"y;z,w"; credential-type="password", <https://example.com/next>; rel="next""#,
        ]);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, ["stun:127.0.0.1:3478"]);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].urls, ["turn:127.0.0.1:3478?transport=udp"]);
        assert_eq!(servers[1].username.as_deref(), Some("1700000000:a"));
        assert_eq!(servers[1].credential.as_deref(), Some("x\"y;z,w"));
    }

    #[test]
    fn what_serve_writes_the_client_reads() {
        let s = IceServer {
            urls: vec!["turns:localhost:5349?transport=tcp".into()],
            username: Some("u\\ser".into()),
            credential: Some("p\"w".into()),
        };
        let link = format_link(&s.urls[0], &s);
        assert_eq!(parse_links([link.as_str()]), [s]);
    }

    #[test]
    fn hostile_links_give_no_server() {
        for bad in [
            "",
            "<",
            ">",
            "<stun:127.0.0.1>",
            r#"<stun:127.0.0.1>; rel="next""#,
            r#"<http://127.0.0.1>; rel="ice-server""#,
            r#"<stun:127.0.0.1>; rel="ice-server"; username="unterminated"#,
            r#"<stun:127.0.0.1>; rel="ice-server"; username="a"b"#,
            r#"x<stun:127.0.0.1>; rel="ice-server""#,
            r#"<stun:127.0.0.1; rel="ice-server""#,
            "\u{0}<\u{0}>;;;,,,",
        ] {
            assert!(parse_links([bad]).is_empty(), "{bad}");
        }
        let many = vec![r#"<stun:127.0.0.1>; rel="ice-server""#; 100].join(", ");
        assert_eq!(parse_links([many.as_str()]).len(), MAX_SERVERS);
        let huge = format!("<stun:127.0.0.1>; rel=\"ice-server\"; x=\"{}\"", "a".repeat(MAX_VALUE));
        assert!(parse_links([huge.as_str()]).is_empty());
    }
}
