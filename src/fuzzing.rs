//! Entry points for the fuzz targets in `fuzz/` (README, "Fuzzing"): one function per parser
//! of input an attacker may write, each taking raw bytes, calling the real parser and
//! asserting what must hold of its answer. A panic is what the fuzzer finds. Built only with
//! the `fuzzing` feature, so nothing here widens what the library offers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cache::inputs::{PageRead, RecordBytes};
use crate::cache::render_memo::{self, RenderMemo};
use crate::cache::Tagger;
use crate::publish::markdown::{self, LinkResolution, MarkdownOptions};
use crate::trust::keyring::Keyring;
use crate::trust::record::{self, Origin};

/// The example site's keyring (`approvals/keyring.yaml`): what records and policies are
/// checked against, so that the checks past parsing run too.
fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| {
        Keyring::parse(include_str!("../approvals/keyring.yaml")).expect("the example keyring")
    })
}

/// One folder per process for the parsers that read a file rather than bytes.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a scratch folder"))
        .path()
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A record file read as `approvals/records/` and as a proof shows it, then checked against
/// the example keyring (SPEC §4, conditions 1–5).
pub fn record(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for origin in [Origin::Records, Origin::Proof] {
        if let Ok(parsed) = record::parse_from(text, origin) {
            let now = crate::time::parse_rfc3339("2027-01-01T00:00:00Z").expect("a time");
            let _ = record::check(&parsed, keyring(), &now);
        }
    }
}

/// The flat reader and the full YAML reader accept and refuse the same record files, and
/// read the same fields: whether a signature counts must never depend on which one read it.
pub fn record_readers_agree(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for origin in [Origin::Records, Origin::Proof] {
        let (full, flat) = record::both_readers(text, origin);
        let either = record::parse_from(text, origin);
        match (&full, &either) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.record, b.record, "the readers read different fields: {text:?}");
                assert_eq!(a.signature, b.signature, "{text:?}");
            }
            (Err(_), Err(_)) => {}
            _ => panic!(
                "the readers disagree on {text:?} ({origin:?}): full {full:?} / flat first {either:?}"
            ),
        }
        if let (Some(flat), Ok(full)) = (&flat, &full) {
            assert_eq!(flat.record, full.record, "{text:?}");
            assert_eq!(flat.signature, full.signature, "{text:?}");
        }
    }
}

/// Parse → signed bytes → written back → parsed again: the same record, the same signed
/// bytes, the same id. A record that changed on the way would be another decision.
pub fn record_signed_bytes(data: &[u8]) {
    let Some(text) = text(data) else { return };
    for origin in [Origin::Records, Origin::Proof] {
        let Ok(parsed) = record::parse_from(text, origin) else {
            continue;
        };
        let signed = parsed.record.signed_bytes();
        assert!(signed.starts_with(record::SIGNING_PREFIX));
        let written = parsed.to_yaml();
        let again = record::parse_from(&written, origin).unwrap_or_else(|e| {
            panic!("what was read and written back is refused ({e}): {text:?} → {written:?}")
        });
        assert_eq!(parsed.record, again.record, "{text:?} → {written:?}");
        assert_eq!(parsed.signature, again.signature);
        assert_eq!(
            signed,
            again.record.signed_bytes(),
            "{text:?} → {written:?}"
        );
        assert_eq!(parsed.id(), again.id());
    }
}

/// A page file: its front matter and body.
pub fn page(data: &[u8]) {
    if let Ok((front, body)) = crate::site::content::parse_page(data) {
        assert!(!front.title.trim().is_empty());
        let text = std::str::from_utf8(data).expect("a page parsed is UTF-8");
        assert!(text.ends_with(body), "the body is the end of the page");
    }
}

/// The flat front matter reader and the full YAML reader accept and refuse the same pages,
/// with the same fields.
pub fn front_matter_readers_agree(data: &[u8]) {
    let (either, full) = crate::site::content::both_front_matter_readers(data);
    match (&either, &full) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the readers read different fields: {data:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "the front matter readers disagree on {:?}: flat first {either:?} / full {full:?}",
            String::from_utf8_lossy(data)
        ),
    }
}

/// Markdown of a page nobody trusts, rendered and sanitized: no `<script`, no `on*=`
/// attribute and no `javascript:` URL in the HTML (a page over its budget renders nothing).
pub fn markdown(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let resolve = |dest: &str| -> LinkResolution {
        if dest.ends_with(".md") {
            LinkResolution::Rewrite(format!("/kb/{}/", dest.trim_end_matches(".md")))
        } else if dest.contains("draft") {
            LinkResolution::Unpublished
        } else {
            LinkResolution::Keep
        }
    };
    // A page over its rendering budget renders nothing (site::budget): nothing to check.
    let Ok(rendered) = markdown::render(text, &MarkdownOptions::default(), &resolve) else {
        return;
    };
    if let Some(why) = unsafe_html(&rendered.html) {
        panic!("{why} survives in {:?}\nfrom {text:?}", rendered.html);
    }
}

/// What a browser could run in `html`, if anything: a `<script` element, an `on…`
/// attribute, or a URL attribute with the `javascript:` scheme. A small tokenizer, enough
/// for what html5ever and pulldown-cmark write (text `<` is always `&lt;` there).
pub fn unsafe_html(html: &str) -> Option<String> {
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(bytes.len(), |end| i + end + 3);
            continue;
        }
        i += 1;
        if i < bytes.len() && bytes[i] == b'/' {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"/>".contains(&bytes[i]) {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        if name == "script" {
            return Some("a <script> element".into());
        }
        // Attributes, up to the end of the tag.
        loop {
            while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                break;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"=>/".contains(&bytes[i])
            {
                i += 1;
            }
            let attribute = html[start..i].to_ascii_lowercase();
            if attribute.starts_with("on") {
                return Some(format!("an event handler attribute ({attribute})"));
            }
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                let value_start;
                let value_end;
                match bytes.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        value_start = i + 1;
                        value_end = html[value_start..]
                            .find(q as char)
                            .map_or(bytes.len(), |n| value_start + n);
                        i = (value_end + 1).min(bytes.len());
                    }
                    _ => {
                        value_start = i;
                        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>'
                        {
                            i += 1;
                        }
                        value_end = i;
                    }
                }
                let value = decode_entities(&html[value_start..value_end]);
                let url: String = value
                    .trim_start_matches(|c: char| c <= ' ')
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect::<String>()
                    .to_ascii_lowercase();
                if url.starts_with("javascript:") {
                    return Some(format!("a javascript: URL ({attribute}={value:?})"));
                }
            }
        }
    }
    None
}

/// An attribute value as a browser reads it: character references decoded (numeric ones and
/// the few named ones a scheme could hide behind).
fn decode_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&n| n <= 12);
        let decoded = end.and_then(|n| {
            let name = &rest[1..n];
            let c = if let Some(num) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
            } else if let Some(num) = name.strip_prefix('#') {
                num.parse().ok().and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "colon" => Some(':'),
                    "tab" => Some('\t'),
                    "newline" => Some('\n'),
                    _ => None,
                }
            };
            c.map(|c| (c, n + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `approvals/keyring.yaml`.
pub fn keyring_file(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(keyring) = Keyring::parse(text) {
        for key in keyring.keys.values() {
            if let Some(public) = key.public_key.ed25519() {
                let _ = keyring.key_for_public(public);
            }
            let _ = (key.public_key.encoded(), key.public_key.kind());
        }
    }
}

/// A space's policy (`approvals/policies/<space>.yaml`), against the example keyring.
pub fn policy(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ =
        crate::trust::policy::Policy::parse(text, "kb", "approvals/policies/kb.yaml", keyring());
}

/// A `--key` file: PKCS#8 PEM or OpenSSH. Encrypted keys stop at the passphrase, before any
/// key derivation: a file may name any KDF cost, and until those are bounded (issue 32, item
/// 3) one input would hang the fuzzer. Inputs are capped at the size the CLI reads.
pub fn key_file(data: &[u8]) {
    if data.len() > 64 * 1024 {
        return;
    }
    let Some(text) = text(data) else { return };
    let mut no_passphrase = || -> crate::Result<zeroize::Zeroizing<String>> {
        Err(crate::Error::Refused("no passphrase while fuzzing".into()))
    };
    let _ = crate::trust::keyfile::parse(text, Path::new("fuzz.key"), &mut no_passphrase);
}

/// A bundle manifest read back from the store: what it accepts is canonical, so writing the
/// entries again gives the same bytes.
pub fn store_manifest(data: &[u8]) {
    use crate::trust::version;
    let _ = version::is_manifest(data);
    if let Ok(entries) = version::parse_manifest(data) {
        assert_eq!(
            version::manifest_text(&entries).as_bytes(),
            data,
            "a manifest accepted is canonical"
        );
    }
}

/// The notification ledger (`.imprimatur/notified.json`): what it reads, written back, reads
/// back to the same written form (which sorts the entries: a ledger read need not be sorted).
pub fn notify_ledger(data: &[u8]) {
    use crate::notify::ledger::Ledger;
    let Ok(ledger) = Ledger::parse(data) else {
        return;
    };
    let json = ledger.to_json();
    let again = Ledger::parse(json.as_bytes())
        .unwrap_or_else(|e| panic!("the ledger written back is refused ({e}): {json}"));
    assert_eq!(json, again.to_json(), "the written form is stable");
    let _ = ledger.has("x", "email", Some("a@b"));
}

fn tagger() -> Tagger {
    Tagger::for_test([7; 32])
}

/// The render memo beside `output/`, its body tagged as the build tags it (a fuzzer forges no
/// HMAC): what decodes, written again, decodes the same.
pub fn render_memo(data: &[u8]) {
    let _ = RenderMemo::from_bytes(data, &tagger());
    let memo = RenderMemo::from_bytes(&render_memo::tagged(data, &tagger()), &tagger());
    if memo == RenderMemo::default() {
        return;
    }
    let mut file = tempfile::tempfile_in(scratch()).expect("a scratch file");
    memo.write_to(&tagger(), &mut file)
        .expect("a memo is written");
    let written = std::fs::read(file_path(&file)).unwrap_or_default();
    if !written.is_empty() {
        assert_eq!(RenderMemo::from_bytes(&written, &tagger()), memo);
    }
}

/// A file's bytes through `/proc/self/fd` (an unnamed temporary file has no other name).
fn file_path(file: &std::fs::File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// What a build kept of the pages and records it read (`cache::inputs`), past the tag.
/// Kept records are parsed again as any record file.
pub fn kept_inputs(data: &[u8]) {
    use crate::cache::inputs::open_payload;
    let Some((&which, payload)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        let _ = open_payload::<PageRead>(tagger(), b"imprimatur-kept-pages-v1", payload);
    } else if let Some(entries) =
        open_payload::<RecordBytes>(tagger(), b"imprimatur-kept-records-v1", payload)
    {
        for (_, bytes) in entries {
            record(&bytes);
        }
    }
}

/// The counted records kept beside `output/` (`site::counted`): the index, then each kept
/// record's path and text, then the text parsed as a record.
pub fn counted_records(data: &[u8]) {
    let output = scratch().join("output");
    let path = crate::cache::counted::path_for(&output);
    std::fs::write(&path, data).expect("a scratch file");
    let counted = crate::cache::counted::Counted::load(&output, "counted".into());
    assert!(
        counted.entries.windows(2).all(|w| w[0].id < w[1].id),
        "entries sorted by id, each once"
    );
    for entry in &counted.entries {
        if let Some(kept) = counted.read(entry) {
            let _ = record::parse(&kept.text);
        }
    }
}

/// The signatures earlier builds verified (`verified-<site>.bin` in the cache folder).
pub fn verified_cache(data: &[u8]) {
    let known = crate::cache::verified::known_tags(data);
    assert!(known.len() <= data.len() / 32);
}

/// A page's `proof.json`, as `audit` reads it: the proof, its Markdown, its records (read as
/// a proof shows them) and its keys.
pub fn proof(data: &[u8]) {
    use base64::Engine as _;
    let Ok(proof) = serde_json::from_slice::<crate::publish::proof::Proof>(data) else {
        return;
    };
    let _ = base64::engine::general_purpose::STANDARD.decode(&proof.markdown);
    for text in proof.records.values() {
        let _ = record::parse_from(text, Origin::Proof);
    }
    for key in proof.keys.values() {
        let _ = crate::trust::keyring::decode_public_key(key);
    }
}

/// A passkey registration's attestation object (`/_keys/register`, from any browser): CBOR,
/// authenticator data and a COSE key, for the relying party `localhost`.
pub fn passkey_registration(data: &[u8]) {
    let _ = crate::trust::webauthn::registration::read_attestation(data, "localhost");
}
