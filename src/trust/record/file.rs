//! The record file format (SPEC §4): how `Record`'s fields are read and written. Reading is
//! strict — YAML 1.2 decides what is text (`no`, `2026-11-20T10:00:00Z`) and what is not (`42`,
//! `true`, `~`), and a value of the wrong kind is refused, naming what was found. Writing
//! double-quotes every string. The envelope fields `imprimatur` and `signature` live here too.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, IntoDeserializer as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_saphyr::DoubleQuoted;

use super::{Assignment, Record, RecordFileParsed, FORMAT_VERSION};
use crate::time::{self, Instant};
use crate::trust::version::Version;
use crate::trust::webauthn;

impl<'de> Deserialize<'de> for RecordFileParsed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordFileVisitor)
    }
}

struct RecordFileVisitor;

impl<'de> Visitor<'de> for RecordFileVisitor {
    type Value = RecordFileParsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML mapping of record fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, fields: A) -> Result<RecordFileParsed, A::Error> {
        let mut envelope = Envelope {
            fields,
            format_version: false,
            signature: None,
            webauthn: None,
        };
        let record = Record::deserialize(de::value::MapAccessDeserializer::new(&mut envelope))?;
        if !envelope.format_version {
            return Err(de::Error::missing_field("imprimatur"));
        }
        let signature = envelope
            .signature
            .ok_or_else(|| de::Error::missing_field("signature"))?;
        Ok(RecordFileParsed {
            record: record.into(),
            signature,
            webauthn: envelope.webauthn.map(Into::into),
        })
    }
}

/// A record file is the record's fields inside an envelope of more: `imprimatur` (the format
/// version), `signature` and, for a passkey's signature, `webauthn` (SPEC §4a). This map takes
/// those out as they go by and hands every other field to `Record`'s derived, strict
/// `Deserialize`.
struct Envelope<A> {
    fields: A,
    format_version: bool,
    signature: Option<Vec<u8>>,
    webauthn: Option<webauthn::Envelope>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Envelope<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.fields.next_key::<String>()? {
            match key.as_str() {
                "imprimatur" => {
                    self.fields.next_value::<FormatVersion>()?;
                    self.format_version = true;
                }
                "signature" => self.signature = Some(self.fields.next_value::<SignatureBytes>()?.0),
                "webauthn" => {
                    let raw = self.fields.next_value::<webauthn::RawEnvelope>()?;
                    self.webauthn = Some(raw.decode().map_err(de::Error::custom)?);
                }
                _ => return seed.deserialize(key.into_deserializer()).map(Some),
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.fields.next_value_seed(seed)
    }
}

/// `imprimatur: 1`, an integer: `"1"` or `1.0` are not format versions.
struct FormatVersion;

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Integer(n) if n == i128::from(FORMAT_VERSION) => Ok(FormatVersion),
            other => Err(de::Error::custom(format!(
                "format version {other} is not supported (expected {FORMAT_VERSION})"
            ))),
        }
    }
}

/// A signature, base64 in the file (its length is checked once the envelope is known:
/// `super::check_fields`).
struct SignatureBytes(Vec<u8>);

impl<'de> Deserialize<'de> for SignatureBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = required_text(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| de::Error::custom("not valid base64"))?;
        Ok(SignatureBytes(bytes))
    }
}

/// One YAML value as the record format sees it, before its type is checked: YAML 1.2 decides
/// what is text (`no`, `2026-11-20T10:00:00Z`) and what is not (`42`, `true`, `~`), quoted or not.
enum Scalar {
    Text(String),
    Flag(bool),
    Integer(i128),
    /// Anything else, described for an error message ("a list", "nothing", "1.5").
    Other(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(text) => write!(f, "'{text}'"),
            Scalar::Flag(b) => write!(f, "{b}"),
            Scalar::Integer(n) => write!(f, "{n}"),
            Scalar::Other(what) => f.write_str(what),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Flag(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Integer(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Integer(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
        Ok(Scalar::Integer(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
        Ok(Scalar::Other(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("nothing".into()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("nothing".into()))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<Scalar, S::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("a list".into()))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Scalar, M::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Scalar::Other("a mapping".into()))
    }
}

pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Text(text) => Ok(text),
        other => Err(de::Error::custom(format!(
            "must be a string, found {other}"
        ))),
    }
}

pub(super) fn required_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = text(d)?;
    if text.is_empty() {
        return Err(de::Error::custom("missing"));
    }
    Ok(text)
}

pub(super) fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text(d).map(Some)
}

pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Flag(b) => Ok(Some(b)),
        other => Err(de::Error::custom(format!(
            "must be true or false, found {other}"
        ))),
    }
}

pub(super) fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
    let text = required_text(d)?;
    Version::parse(&text).ok_or_else(|| {
        de::Error::custom(format!(
            "'{text}' is not sha256: followed by 64 lowercase hex digits"
        ))
    })
}

pub(super) fn signed_at<'de, D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
    let text = required_text(d)?;
    time::parse_signed_at(&text).ok_or_else(|| {
        de::Error::custom(format!(
            "'{text}' is not RFC 3339 UTC with whole seconds and 'Z' (e.g. 2026-11-20T10:00:00Z)"
        ))
    })
}

/// A string written double-quoted in YAML; a plain string everywhere else (the signed JSON).
pub(super) fn quoted<S: Serializer>(value: &impl fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    DoubleQuoted(value.to_string()).serialize(s)
}

pub(super) fn quoted_some<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(text) => quoted(text, s),
        None => s.serialize_none(),
    }
}

pub(super) fn signed_at_text<S: Serializer>(t: &Instant, s: S) -> Result<S::Ok, S::Error> {
    quoted(&time::format_utc(t), s)
}

/// `assign: {technical: [eli, raj]}`: a mapping of step names to lists of reviewer ids, every
/// one of them text; anything else is refused, naming what was found.
pub(super) fn assign<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Assignment>, D::Error> {
    struct Text(String);
    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            text(d).map(Text)
        }
    }
    struct Names(Vec<String>);
    impl<'de> Deserialize<'de> for Names {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NamesVisitor)
        }
    }
    struct NamesVisitor;
    impl<'de> Visitor<'de> for NamesVisitor {
        type Value = Names;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of reviewer ids")
        }
        fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<Names, S::Error> {
            let mut names = Vec::new();
            while let Some(Text(name)) = seq.next_element()? {
                names.push(name);
            }
            Ok(Names(names))
        }
    }
    struct AssignVisitor;
    impl<'de> Visitor<'de> for AssignVisitor {
        type Value = Assignment;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of step names to lists of reviewer ids")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Assignment, M::Error> {
            let mut out = Assignment::new();
            while let Some(Text(step)) = map.next_key()? {
                let Names(names) = map.next_value()?;
                if out.insert(step.clone(), names).is_some() {
                    return Err(de::Error::custom(format!("step '{step}' appears twice")));
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(AssignVisitor).map(Some)
}

pub(super) fn quoted_assign<S: Serializer>(
    value: &Option<Assignment>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap as _;
    let Some(assign) = value else {
        return s.serialize_none();
    };
    let mut map = s.serialize_map(Some(assign.len()))?;
    for (step, names) in assign {
        let names: Vec<DoubleQuoted<String>> = names.iter().cloned().map(DoubleQuoted).collect();
        map.serialize_entry(&DoubleQuoted(step.clone()), &names)?;
    }
    map.end()
}
