//! Every example in README.md and docs/*.md runs here against the real binary, so none goes
//! stale. The convention (written out for authors in docs/development.md, "Examples in the docs"):
//!
//! - A fenced block whose info string is `console` is an example and is run. Each `$ ` line is a
//!   command for bash (a trailing `\` continues it on the next line); the lines after it, up to
//!   the next `$ `, are its output (stdout and stderr together). A command that prints nothing
//!   shows no lines. In output, a line `...` stands for any number of lines and `[..]` for any
//!   part of a line.
//! - A command ends with `# exit N` when it is expected to exit with N; otherwise it must exit 0.
//! - `$ rtc-assist serve ARGS &` is started by the test with [`Serve`] on 127.0.0.1 port 0 (the
//!   embedded TURN server too, with `--turn`); the address it was documented on (`--listen`,
//!   default 127.0.0.1:8765; `--turn-listen`, default port 3478) is replaced by the real one in
//!   the block's later commands, and back in every output shown. The lines after it, if any,
//!   are its banner. It is stopped when the block ends.
//! - `$ export NAME=VALUE` sets a variable for the block's later commands and servers.
//! - Each block runs in a fresh directory holding `ca.pem` (a private CA), `localhost.pem` and
//!   `localhost.key` (a certificate it signed for localhost and 127.0.0.1), and links to the
//!   repository's `tests/` and `scenarios/`. `rtc-assist` is the binary cargo built; `NO_COLOR`
//!   is set and no `RTC_ASSIST_*` variable is inherited.
//! - A block that cannot run here (root, a Redis cluster, a host that is not this machine) is
//!   ```` ```console not-run: REASON ````. Any other fenced block (`text`, `toml`, …) must hold no
//!   `$ ` or `rtc-assist …` command line, and no indented (4-space) code may hold one: an example
//!   that is not marked is an error, not a skip.
//! - A run block may name no host but loopback (127.0.0.0/8, localhost, [::1]) or one under a
//!   TLD reserved never to resolve (`.example`, `.invalid`, `.test`, `.localhost`): an Origin to
//!   allow or refuse, say.
//!
//! Besides, every relative link in those files must point at a file that exists, and at a
//! heading of it when it carries a `#fragment`.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::certs::Pki;
use crate::common::{BIN, Serve};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// A command still running after this is killed and fails its example.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Blocks run on this many threads (most of an example's time is waiting on the network).
const WORKERS: usize = 3;
const DEFAULT_LISTEN_PORT: u16 = 8765;
const DEFAULT_TURN_PORT: u16 = 3478;

/// One fenced ```console block.
#[derive(Debug)]
struct Block {
    /// `FILE:LINE` of the opening fence.
    at: String,
    /// The reason given by `not-run: REASON`.
    not_run: Option<String>,
    steps: Vec<Step>,
}

#[derive(Debug)]
enum Step {
    Export(String, String),
    Run(Cmd),
}

#[derive(Debug)]
struct Cmd {
    /// `FILE:LINE` of its `$ ` line.
    at: String,
    /// The command for bash, continuation lines included, without the `# exit N` comment.
    shell: String,
    code: i32,
    /// `rtc-assist serve … &`: started by the test.
    background: bool,
    expected: Vec<String>,
}

/// The files whose examples run: README.md and docs/*.md.
fn doc_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files.insert(0, Path::new(ROOT).join("README.md"));
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT).unwrap_or(path).to_string_lossy().into_owned()
}

/// An opening or closing fence: (the fence's marker, the info string).
fn fence(line: &str) -> Option<(String, &str)> {
    let t = line.trim_start();
    let c = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|x| *x == c).count();
    let info = t[n..].trim();
    // CommonMark: a backtick fence's info string has no backtick (```` ```x ```` is inline code).
    (n >= 3 && !(c == '`' && info.contains('`'))).then(|| (c.to_string().repeat(n), info))
}

fn is_command_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("$ ") || t.starts_with("rtc-assist ") || t.starts_with("sudo rtc-assist ")
}

/// Every example block of one file, or the first malformed one named by its line.
fn extract(file: &str, text: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, line)) = lines.next() {
        let at = format!("{file}:{n}");
        let Some((marker, info)) = fence(line) else {
            if (line.starts_with("    ") || line.starts_with('\t')) && is_command_line(line) {
                return Err(format!(
                    "{at}: a command in an indented code block: fence it as ```console \
                     (or ```console not-run: REASON)"
                ));
            }
            continue;
        };
        let mut body = Vec::new();
        let mut closed = false;
        for (m, l) in lines.by_ref() {
            if fence(l).is_some_and(|(close, rest)| close.starts_with(&marker) && rest.is_empty()) {
                closed = true;
                break;
            }
            body.push((m, l));
        }
        if !closed {
            return Err(format!("{at}: the {marker} block opened here is never closed"));
        }
        let lang = info.split_whitespace().next().unwrap_or("");
        if lang != "console" {
            if let Some((m, _)) = body.iter().find(|(_, l)| is_command_line(l)) {
                return Err(format!(
                    "{file}:{m}: a command in a {marker}{lang} block: examples are ```console blocks \
                     (or ```console not-run: REASON)"
                ));
            }
            continue;
        }
        let attrs = info["console".len()..].trim();
        let not_run = if attrs.is_empty() {
            None
        } else if let Some(reason) = attrs.strip_prefix("not-run:") {
            if reason.trim().is_empty() {
                return Err(format!("{at}: `not-run:` needs a reason (```console not-run: REASON)"));
            }
            Some(reason.trim().to_owned())
        } else {
            return Err(format!(
                "{at}: unknown attribute `{attrs}` on a console block (only `not-run: REASON`)"
            ));
        };
        let steps = if not_run.is_some() { Vec::new() } else { parse_console(file, &body)? };
        if not_run.is_none() && !steps.iter().any(|s| matches!(s, Step::Run(_))) {
            return Err(format!("{at}: a console block without a `$ ` command"));
        }
        blocks.push(Block { at, not_run, steps });
    }
    Ok(blocks)
}

/// The steps of a console block's body (its lines with their numbers).
fn parse_console(file: &str, body: &[(usize, &str)]) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut lines = body.iter().copied();
    // Whether output lines may follow the last step (not after an export).
    let mut takes_output = false;
    while let Some((n, line)) = lines.next() {
        let at = format!("{file}:{n}");
        let Some(first) = line.strip_prefix("$ ") else {
            match steps.last_mut() {
                Some(Step::Run(cmd)) if takes_output => cmd.expected.push(line.trim_end().to_owned()),
                Some(_) => return Err(format!("{at}: output after an `export`, which prints nothing")),
                None if line.trim().is_empty() => {}
                None => return Err(format!("{at}: output before the block's first `$ ` command")),
            }
            continue;
        };
        let mut shell = first.to_owned();
        while shell.ends_with('\\') {
            let Some((_, next)) = lines.next() else {
                return Err(format!("{at}: the command ends in `\\` but the block ends there"));
            };
            shell.push('\n');
            shell.push_str(next);
        }
        let (shell, code) = split_exit(&shell).map_err(|e| format!("{at}: {e}"))?;
        let (shell, background) = match shell.strip_suffix('&') {
            Some(s) if !s.ends_with('&') => (s.trim_end().to_owned(), true),
            _ => (shell, false),
        };
        if background && code != 0 {
            return Err(format!("{at}: a command in the background has no exit code to expect"));
        }
        if shell.trim().is_empty() {
            return Err(format!("{at}: an empty command"));
        }
        if let Some(assignment) = shell.strip_prefix("export ") {
            let Some((name, value)) = assignment.split_once('=') else {
                return Err(format!("{at}: write `export NAME=VALUE`"));
            };
            let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !plain(name)
                || value.is_empty()
                || value.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c))
            {
                return Err(format!(
                    "{at}: write `export NAME=VALUE` with a plain value (no quotes, spaces or `$`)"
                ));
            }
            steps.push(Step::Export(name.to_owned(), value.to_owned()));
            takes_output = false;
            continue;
        }
        if background {
            serve_words(&shell).map_err(|e| format!("{at}: {e}"))?;
        }
        check_loopback(&shell).map_err(|e| format!("{at}: {e}"))?;
        steps.push(Step::Run(Cmd { at, shell, code, background, expected: Vec::new() }));
        takes_output = true;
    }
    for step in &mut steps {
        if let Step::Run(cmd) = step {
            while cmd.expected.last().is_some_and(|l| l.is_empty()) {
                cmd.expected.pop();
            }
        }
    }
    Ok(steps)
}

/// Splits a trailing `# exit N` comment off a command: (the command, N or 0).
fn split_exit(shell: &str) -> Result<(String, i32), String> {
    let last = shell.rsplit('\n').next().unwrap_or(shell);
    let Some(pos) = last.rfind("# exit") else {
        return Ok((shell.trim_end().to_owned(), 0));
    };
    let code = last[pos + "# exit".len()..].trim();
    let code: i32 = code
        .parse()
        .ok()
        .filter(|c| (0..=255).contains(c))
        .ok_or_else(|| format!("malformed exit comment `{}`: write `# exit N` (0-255)", &last[pos..]))?;
    let cut = shell.len() - last.len() + pos;
    Ok((shell[..cut].trim_end().to_owned(), code))
}

/// A background command's words: `[NAME=VALUE…] rtc-assist serve ARGS` → (variables, ARGS).
#[allow(clippy::type_complexity)]
fn serve_words(shell: &str) -> Result<(Vec<(String, String)>, Vec<String>), String> {
    let words = split_words(&shell.replace("\\\n", " "))?;
    let mut words = words.into_iter().peekable();
    let mut env = Vec::new();
    while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            break;
        }
        env.push((name.to_owned(), value.to_owned()));
        words.next();
    }
    if words.next().as_deref() != Some("rtc-assist") || words.next().as_deref() != Some("serve") {
        return Err("only `rtc-assist serve … &` may run in the background (the test starts it)".into());
    }
    Ok((env, words.collect()))
}

/// Shell words with '…' and "…" quoting and backslash escapes; anything the shell would expand
/// or redirect is refused (a background serve is started by the test, not by a shell).
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("an unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('$' | '`') => return Err("no expansion in a background serve's words".into()),
                        Some('\\') => word.push(chars.next().ok_or("a trailing backslash")?),
                        Some(c) => word.push(c),
                        None => return Err("an unterminated \" quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or("a trailing backslash")?);
            }
            '$' | '`' | '|' | ';' | '<' | '>' | '(' | ')' | '*' | '?' | '{' | '}' => {
                return Err(format!("`{c}` in a background serve: plain words only (the test starts it)"));
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Refuses a command that names a host other than loopback.
fn check_loopback(shell: &str) -> Result<(), String> {
    for scheme in ["://", "turn:", "turns:", "stun:", "stuns:"] {
        for (pos, _) in shell.match_indices(scheme) {
            if scheme != "://" && pos > 0 && shell[..pos].ends_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            let rest = &shell[pos + scheme.len()..];
            let rest =
                rest.rsplit_once('@').filter(|(user, _)| !user.contains(['/', ' '])).map_or(rest, |(_, r)| r);
            let host = if let Some(v6) = rest.strip_prefix('[') {
                v6.split(']').next().unwrap_or("")
            } else {
                rest.split([':', '/', '?', ' ', '"', '\'', '\n', ',']).next().unwrap_or("")
            };
            // Names under the TLDs reserved never to resolve (RFC 2606, RFC 6761) reach nobody.
            let reserved =
                [".example", ".invalid", ".test", ".localhost"].iter().any(|tld| host.ends_with(tld));
            let loopback = host == "localhost"
                || host == "::1"
                || reserved
                || host.parse::<std::net::Ipv4Addr>().is_ok_and(|a| a.is_loopback());
            if !loopback {
                return Err(format!(
                    "names host `{host}`: examples run on loopback only (127.0.0.1, localhost, [::1]); \
                     mark the block ```console not-run: REASON"
                ));
            }
        }
    }
    Ok(())
}

/// Replaces `HOST:FROM` by `HOST:TO` for the loopback names, where no digit follows.
fn swap_port(text: &str, from: u16, to: u16) -> String {
    let mut out = text.to_owned();
    for host in ["127.0.0.1:", "localhost:", "[::1]:"] {
        let (needle, with) = (format!("{host}{from}"), format!("{host}{to}"));
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(pos) = rest.find(&needle) {
            let after = &rest[pos + needle.len()..];
            result.push_str(&rest[..pos]);
            if after.starts_with(|c: char| c.is_ascii_digit()) {
                result.push_str(&needle);
            } else {
                result.push_str(&with);
            }
            rest = after;
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Whether `actual` lines fit the `expected` pattern (`...` lines and `[..]` wildcards).
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((p, rest)) if p == "..." => (0..=actual.len()).any(|k| lines_match(rest, &actual[k..])),
        Some((p, rest)) => {
            actual.first().is_some_and(|a| line_matches(p, a)) && lines_match(rest, &actual[1..])
        }
    }
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == line;
    }
    if line.len() < first.len() + last.len() || !line.starts_with(first) || !line.ends_with(last) {
        return false;
    }
    let mut middle = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match middle.find(part) {
            Some(pos) => middle = &middle[pos + part.len()..],
            None => return false,
        }
    }
    true
}

/// Runs a command with bash in `dir`: (exit code, stdout and stderr as they interleaved).
fn run_shell(shell: &str, dir: &Path, env: &[(String, String)]) -> Result<(i32, String), String> {
    use std::os::unix::process::CommandExt;
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("exec 2>&1\n{shell}"))
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("RTC_ASSIST_")) {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd.spawn().map_err(|e| format!("cannot start bash: {e}"))?;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let group = child.id() as i32;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever the command left running (it shares the process group) goes too, so the pipe closes.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
    let out = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    match status {
        Some(status) => Ok((status.code().unwrap_or(-1), out)),
        None => Err(format!("did not finish within {} s; it printed:\n{out}", COMMAND_TIMEOUT.as_secs())),
    }
}

/// The documented and the real port of each server a block started.
#[derive(Default)]
struct Ports(Vec<(u16, u16)>);

impl Ports {
    fn to_real(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |t, (doc, real)| swap_port(&t, *doc, *real))
    }
    fn to_doc(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |t, (doc, real)| swap_port(&t, *real, *doc))
    }
}

fn port_of(addr: &str) -> Result<u16, String> {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.trim_end_matches("/ws").parse().ok())
        .ok_or_else(|| format!("no port in `{addr}`"))
}

/// Removes `FLAG VALUE` (or `FLAG=VALUE`) from `args` and returns VALUE.
fn take_flag(args: &mut Vec<String>, flag: &str) -> Option<String> {
    let eq = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a.starts_with(&eq)) {
        return Some(args.remove(i)[eq.len()..].to_owned());
    }
    let i = args.iter().position(|a| a == flag)?;
    args.remove(i);
    (i < args.len()).then(|| args.remove(i))
}

fn check_output(cmd: &Cmd, code: i32, out: &str) -> Result<(), String> {
    let actual: Vec<&str> = out.lines().map(str::trim_end).collect();
    let end = actual.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
    let fits = lines_match(&cmd.expected, &actual[..end]);
    if code == cmd.code && fits {
        return Ok(());
    }
    let mut why = format!("{}: `{}`", cmd.at, cmd.shell);
    if code != cmd.code {
        why.push_str(&format!(" exited {code}, the example says {}", cmd.code));
    }
    if !fits {
        why.push_str(" printed other lines than the example shows");
    }
    Err(format!(
        "{why}\n--- the example shows:\n{}\n--- it printed:\n{}",
        cmd.expected.join("\n"),
        actual[..end].join("\n")
    ))
}

/// Runs one block in a fresh directory; its servers stop when it returns.
fn run_block(block: &Block) -> Result<(), String> {
    let pki = Pki::new();
    pki.server("localhost", &["localhost", "127.0.0.1"]);
    let dir = pki.dir().to_owned();
    for name in ["tests", "scenarios", "dialects"] {
        std::os::unix::fs::symlink(Path::new(ROOT).join(name), dir.join(name)).map_err(|e| e.to_string())?;
    }
    let mut env: Vec<(String, String)> = Vec::new();
    let mut ports = Ports::default();
    let mut servers = Vec::new();
    for step in &block.steps {
        let cmd = match step {
            Step::Export(name, value) => {
                env.push((name.clone(), value.clone()));
                continue;
            }
            Step::Run(cmd) => cmd,
        };
        let shell = ports.to_real(&cmd.shell);
        if !cmd.background {
            let (code, out) =
                run_shell(&shell, &dir, &env).map_err(|e| format!("{}: `{}` {e}", cmd.at, cmd.shell))?;
            check_output(cmd, code, &ports.to_doc(&out))?;
            continue;
        }
        let (vars, mut args) = serve_words(&shell).map_err(|e| format!("{}: {e}", cmd.at))?;
        let listen = take_flag(&mut args, "--listen");
        let doc_port = listen
            .as_deref()
            .map_or(Ok(DEFAULT_LISTEN_PORT), port_of)
            .map_err(|e| format!("{}: {e}", cmd.at))?;
        let turn = args.iter().any(|a| a == "--turn");
        let doc_turn_port = match take_flag(&mut args, "--turn-listen") {
            Some(addr) => Some(port_of(&addr).map_err(|e| format!("{}: {e}", cmd.at))?),
            None => turn.then_some(DEFAULT_TURN_PORT),
        };
        if turn {
            args.extend(["--turn-listen".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        let all_env: Vec<(&str, &str)> =
            env.iter().chain(&vars).map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let serve = std::panic::catch_unwind(|| Serve::start_in_dir(&dir, &arg_refs, &all_env))
            .map_err(|_| format!("{}: `{}` did not start (no banner)", cmd.at, cmd.shell))?;
        if ports.0.iter().any(|(doc, _)| *doc == doc_port) {
            return Err(format!("{}: two servers documented on port {doc_port} in one block", cmd.at));
        }
        ports.0.push((doc_port, port_of(&serve.http).map_err(|e| format!("{}: {e}", cmd.at))?));
        if let (Some(doc), Some(url)) = (doc_turn_port, &serve.turn_url) {
            ports.0.push((
                doc,
                port_of(url.split('?').next().unwrap_or(url)).map_err(|e| format!("{}: {e}", cmd.at))?,
            ));
        }
        if !cmd.expected.is_empty() {
            check_output(cmd, 0, &ports.to_doc(&serve.banner))?;
        }
        servers.push(serve);
    }
    drop(servers);
    Ok(())
}

#[test]
fn every_example_in_the_docs_runs_as_shown() {
    let started = Instant::now();
    let mut blocks = Vec::new();
    for path in doc_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        blocks.extend(extract(&relative(&path), &text).unwrap_or_else(|e| panic!("{e}")));
    }
    let (run, skipped): (Vec<&Block>, Vec<&Block>) = blocks.iter().partition(|b| b.not_run.is_none());
    assert!(run.len() >= 20, "only {} runnable examples found: is the convention still used?", run.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let timings = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                while let Some(block) = run.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let t0 = Instant::now();
                    let result = std::panic::catch_unwind(|| run_block(block))
                        .unwrap_or_else(|_| Err(format!("{}: the runner panicked", block.at)));
                    timings.lock().unwrap().push((t0.elapsed(), block.at.clone()));
                    if let Err(e) = result {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let mut timings = timings.into_inner().unwrap();
    timings.sort_by_key(|t| std::cmp::Reverse(t.0));
    eprintln!(
        "{} examples run in {:.1} s, {} not run; slowest: {}",
        run.len(),
        started.elapsed().as_secs_f64(),
        skipped.len(),
        timings
            .iter()
            .take(5)
            .map(|(d, at)| format!("{at} {:.1} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} example(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// GitHub's anchor for a heading: lowercase, letters, digits, `-` and `_` kept, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The lines of a markdown file outside its fenced code blocks, with their 0-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_code = None::<String>;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some((marker, _)) = fence(line) {
            match &in_code {
                Some(open) if marker.starts_with(open.as_str()) => in_code = None,
                Some(_) => {}
                None => in_code = Some(marker),
            }
        } else if in_code.is_none() {
            out.push((n, line));
        }
    }
    out
}

/// The anchors of a markdown file's headings (outside code blocks), with GitHub's `-N` for repeats.
fn anchors(text: &str) -> Vec<String> {
    let (mut out, mut seen) = (Vec::new(), HashMap::<String, usize>::new());
    for (_, line) in prose_lines(text) {
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else { continue };
        if !title.starts_with(' ') {
            continue;
        }
        let base = slug(title.trim());
        let n = seen.entry(base.clone()).or_default();
        out.push(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for path in doc_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in prose_lines(&text) {
            for (pos, _) in line.match_indices("](") {
                let target = line[pos + 2..].split(')').next().unwrap_or("");
                if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                    continue;
                }
                let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
                let file = if file.is_empty() { path.clone() } else { path.parent().unwrap().join(file) };
                let at = format!("{}:{}", relative(&path), n + 1);
                let Ok(linked) = std::fs::read_to_string(&file)
                    .or_else(|e| if file.is_file() { Ok(String::new()) } else { Err(e) })
                else {
                    broken.push(format!("{at}: {target}: no such file"));
                    continue;
                };
                if !fragment.is_empty() && !anchors(&linked).iter().any(|a| a == fragment) {
                    broken.push(format!("{at}: {target}: no heading with that anchor"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn malformed_examples_are_refused_with_their_line() {
    let cases: &[(&str, &str)] = &[
        ("```console\n$ rtc-assist --version\n", "x.md:1: the ``` block opened here is never closed"),
        ("text\n```console\nrtc-assist 0.1.0\n```\n", "x.md:3: output before the block's first `$ ` command"),
        ("```console\n```\n", "x.md:1: a console block without a `$ ` command"),
        ("```console not-run:\n$ rtc-assist lab\n```\n", "x.md:1: `not-run:` needs a reason"),
        ("```console skip\n$ rtc-assist lab\n```\n", "x.md:1: unknown attribute `skip`"),
        ("```console\n$ rtc-assist token   # exit two\n```\n", "x.md:2: malformed exit comment `# exit two`"),
        (
            "```console\n$ rtc-assist join r \\\n```\n",
            "x.md:2: the command ends in `\\` but the block ends there",
        ),
        (
            "```console\n$ rtc-assist join r &\n```\n",
            "x.md:2: only `rtc-assist serve … &` may run in the background",
        ),
        (
            "```console\n$ rtc-assist serve --fault \"$F\" &\n```\n",
            "x.md:2: no expansion in a background serve's words",
        ),
        ("```console\n$ rtc-assist serve --listen 'a &\n```\n", "x.md:2: an unterminated ' quote"),
        ("```console\n$ export X\n```\n", "x.md:2: write `export NAME=VALUE`"),
        ("```console\n$ export X=1\nout\n```\n", "x.md:3: output after an `export`"),
        (
            "```console\n$ rtc-assist probe wss://voice.example.org/ws\n```\n",
            "x.md:2: names host `voice.example.org`",
        ),
        ("```console\n$ rtc-assist probe --turn turn:10.0.0.5:3478\n```\n", "x.md:2: names host `10.0.0.5`"),
        ("```sh\nrtc-assist demo\n```\n", "x.md:2: a command in a ```sh block"),
        ("```\n$ rtc-assist demo\n```\n", "x.md:2: a command in a ``` block"),
        ("Run it:\n\n    rtc-assist demo\n", "x.md:3: a command in an indented code block"),
        ("````console\n$ rtc-assist demo\n```\n", "x.md:1: the ```` block opened here is never closed"),
    ];
    for (text, want) in cases {
        match extract("x.md", text) {
            Ok(blocks) => panic!("accepted {text:?}: {blocks:?}"),
            Err(e) => assert!(e.starts_with(want), "{text:?}:\n  got  {e}\n  want {want}…"),
        }
    }
    // What the convention allows.
    let ok = "```console\n$ rtc-assist serve --listen 127.0.0.1:8443 &\nrtc-assist serve: [..]\n\
              $ export RTC_ASSIST_TOKEN_SECRET=0123456789abcdef\n\
              $ rtc-assist probe ws://localhost:8443/ws \\\n    --room r   # exit 1\n...\n\n```\n\
              ```console not-run: needs root\n$ sudo rtc-assist lab exec -- bash\n```\n\
              ```toml\n[network]\n```\n";
    let blocks = extract("x.md", ok).unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[1].not_run.as_deref(), Some("needs root"));
    let Step::Run(probe) = &blocks[0].steps[2] else { panic!("{:?}", blocks[0].steps) };
    assert_eq!((probe.code, probe.expected.clone()), (1, vec!["...".to_owned()]));
    assert!(probe.shell.ends_with("--room r"), "{}", probe.shell);
}

#[test]
fn output_patterns_and_port_swaps() {
    let pat = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&pat(&["a", "...", "z"]), &["a", "b", "c", "z"]));
    assert!(lines_match(&pat(&["a", "...", "z"]), &["a", "z"]));
    assert!(!lines_match(&pat(&["a", "z"]), &["a", "b", "z"]));
    assert!(!lines_match(&pat(&["a"]), &["a", "b"]));
    assert!(lines_match(&pat(&["peer [..] joined after [..] ms"]), &["peer 12ab joined after 30 ms"]));
    assert!(!lines_match(&pat(&["x[..]x"]), &["x"]));
    assert!(lines_match(&pat(&[]), &[]));
    assert_eq!(
        swap_port("ws://127.0.0.1:8765/ws 127.0.0.1:87650", 8765, 40001),
        "ws://127.0.0.1:40001/ws 127.0.0.1:87650"
    );
    assert_eq!(swap_port("wss://localhost:8443/ws", 8443, 1), "wss://localhost:1/ws");
    assert_eq!(split_exit("rtc-assist x   # exit 2").unwrap(), ("rtc-assist x".to_owned(), 2));
    assert_eq!(split_exit("rtc-assist x # a note").unwrap(), ("rtc-assist x # a note".to_owned(), 0));
    assert!(
        check_loopback("rtc-assist probe ws://127.0.0.2:1/ws --turn turn:[::1]:3478 --source tone:440")
            .is_ok()
    );
    assert!(check_loopback("curl http://user@example.com/").is_err());
    assert!(check_loopback("rtc-assist serve --allow-origin https://app.example").is_ok());
}
