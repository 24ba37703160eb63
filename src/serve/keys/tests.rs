//! The registration desk's own rules: the person's fields, the page token, and the challenges
//! (single use, expiring, bounded).

use super::*;

fn form(fields: &[(&str, &str)]) -> Form {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    Form::parse(body.as_bytes())
}

/// A form's fields, and what its check should complain of (none: nothing).
type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

#[test]
fn the_persons_fields_are_checked_before_any_passkey_is_made() {
    let cases: &[Case] = &[
        (&[("reviewer", "dana"), ("name", "Dana Example")], None),
        (
            &[
                ("reviewer", "dana"),
                ("name", "Dana"),
                ("groups", "legal, compliance"),
            ],
            None,
        ),
        (
            &[("reviewer", "Dana"), ("name", "Dana")],
            Some("reviewer id 'Dana'"),
        ),
        (
            &[("reviewer", ""), ("name", "Dana")],
            Some("reviewer id ''"),
        ),
        (&[("reviewer", "dana"), ("name", "")], Some("name:")),
        (
            &[("reviewer", "dana"), ("name", "Dana\u{7}")],
            Some("name:"),
        ),
        (
            &[
                ("reviewer", "dana"),
                ("name", "Dana"),
                ("groups", "Legal Team"),
            ],
            Some("group 'Legal Team'"),
        ),
    ];
    for (fields, expect) in cases {
        let got = form(fields).problem();
        match expect {
            None => assert_eq!(got, None, "{fields:?}"),
            Some(e) => assert!(
                got.as_deref().is_some_and(|g| g.contains(e)),
                "{fields:?}: {got:?}"
            ),
        }
    }
    assert_eq!(
        form(&[("groups", "b, a,,a")]).groups(),
        vec!["a".to_string(), "b".to_string()]
    );
}

#[test]
fn the_token_is_this_servers_own() {
    let one = Registrar::new(None).unwrap();
    let other = Registrar::new(None).unwrap();
    assert!(one.token_matches(&one.token()));
    assert!(!one.token_matches(&other.token()));
    assert!(!one.token_matches(""));
    assert!(!one.token_matches("not base64!"));
}

fn answering(challenge: &[u8]) -> Vec<u8> {
    let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge);
    format!(r#"{{"type":"webauthn.create","challenge":"{c}"}}"#).into_bytes()
}

#[test]
fn a_challenge_is_redeemed_once_and_only_before_it_expires() {
    let desk = Registrar::new(None).unwrap();
    let t0 = Instant::now();
    let c = desk.issue(t0).unwrap();
    assert_eq!(desk.redeem(&answering(&c), t0), Some(c));
    assert_eq!(desk.redeem(&answering(&c), t0), None, "used twice");
    let late = desk.issue(t0).unwrap();
    assert_eq!(
        desk.redeem(&answering(&late), t0 + CHALLENGE_LIFETIME),
        None
    );
    assert_eq!(desk.redeem(&answering(&[1; 32]), t0), None, "never issued");
    assert_eq!(desk.redeem(b"not json", t0), None);
}

#[test]
fn outstanding_challenges_are_bounded_and_expired_ones_make_room() {
    let desk = Registrar::new(None).unwrap();
    let t0 = Instant::now();
    for _ in 0..MAX_PENDING {
        desk.issue(t0).unwrap();
    }
    assert!(desk.issue(t0).unwrap_err().contains("too many"));
    assert!(desk
        .issue(t0 + CHALLENGE_LIFETIME + Duration::from_secs(1))
        .is_ok());
}
