//! `imprimatur serve`: the site as `build` would publish it now, the drafts view and the
//! review pages, rendered from memory on request. It never writes `output/` or `reports/`.
//!
//! - `/` is the published view: the same renderer as `build`, so the same bytes.
//! - `/_drafts/` is every page at its current version under a "not approved" banner.
//! - `/_review/` and `/_review/<page id>` are the reviewer's queue and page (`review`).
//! - `/_imprimatur/events` tells open tabs to reload (server-sent events) after a change.
//! - `POST /_decide/<page id>` signs a reviewer's decision, under `--key` or `--agent`
//!   (`decide`); the server judges the site again before it answers.
//! - Under `--team` (`team`), drafts, review pages and decisions are for reviewers signed in
//!   with a passkey (`/_signin`), whose browsers sign their decisions.
//!
//! Only requests whose `Host` names this server are answered (`host`); rendered answers are
//! kept in a cache bounded by count and bytes (`cache`), keyed by path alone except where a
//! page reads the query (the queue's `?reviewer=`, `?space=`, `?step=`).
//!
//! A watcher on `content/`, `approvals/`, `themes/` and `imprimatur.yaml` reloads the site
//! after a save: the site is judged again and the cache of rendered files dropped, so only
//! what is asked for afterwards is rendered. An error (a broken template, a bad config) is
//! shown in the browser until it is fixed; the server keeps running.

pub(crate) mod cache;
pub(crate) mod decide;
pub(crate) mod diff;
pub(crate) mod host;
pub(crate) mod keys;
pub(crate) mod review;
pub(crate) mod side;
pub(crate) mod team;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use notify::{RecursiveMode, Watcher};

use crate::error::{Error, Result};
use crate::publish::render::{Drafts, Renderer};
use crate::publish::theme::Theme;
use crate::report::StatusReport;
use crate::serve::cache::Bounded;
use crate::serve::decide::{Decider, Outcome, Signing};
use crate::serve::host::AllowedHosts;
use crate::site::config::SiteConfig;
use crate::site::memo::Memo;
use crate::site::{Evaluation, Site};
use crate::time;
use crate::trust::signer::{KeySource, Signer};
use crate::workflow::git::Landing;

pub struct ServeOptions {
    pub site_root: PathBuf,
    pub bind: IpAddr,
    /// 0: any free port (the address is printed).
    pub port: u16,
    pub open: bool,
    /// `--now`: judge at this fixed instant; else the clock, read once per reload.
    pub now: Option<String>,
    /// `--key FILE` or `--agent`: the review pages offer this reviewer's decisions as buttons.
    pub key: Option<KeySource>,
    /// `--team`: the team review server of the site's `review:` section (passkeys, sessions).
    pub team: bool,
}

/// What the server shows: one judged site, or why there is none right now.
struct Snapshot {
    loaded: std::result::Result<Loaded, String>,
    /// Rendered responses by [`cache_key`], dropped with the snapshot.
    cache: Mutex<Bounded<Reply>>,
    /// The search index's files of the published view and of the drafts view (in that order),
    /// gathered once at the first request for any of them (one search asks for twenty pieces
    /// or so, and each would otherwise gather every page's words again).
    /// Or why they can't be made (a page's bytes changed since they were judged).
    search: [std::sync::OnceLock<Result<HashMap<String, axum::body::Bytes>, String>>; 2],
}

struct Loaded {
    site: Site,
    eval: Evaluation,
    report: StatusReport,
    drafts: Drafts,
    theme: Theme,
}

#[derive(Clone)]
struct Reply {
    status: StatusCode,
    content_type: &'static str,
    location: Option<String>,
    /// Shared, not copied, by every answer from the cache.
    body: axum::body::Bytes,
}

struct Shared {
    snapshot: RwLock<Arc<Snapshot>>,
    /// Bumped after every reload; open tabs reload when it changes.
    generation: tokio::sync::watch::Sender<u64>,
    /// The `Host` names answered; any other is refused before routing.
    hosts: AllowedHosts,
    site_root: PathBuf,
    now: Option<String>,
    memo: Arc<Memo>,
    /// Held while the site is judged again and swapped in: the last judgement swapped in is
    /// the last one started, so the answer after a decision always shows it.
    reloading: Mutex<()>,
    /// Who decides through the review pages, when a key was given.
    decider: Option<Arc<Decider>>,
    /// `/_keys/`: passkey registration for the `review:` section's relying party.
    registrar: keys::Registrar,
    /// The team review server's state, under `--team`.
    team: Option<Arc<team::Team>>,
}

impl Shared {
    /// Judges the site again now, forgetting what `changed` held, swaps the new judgement in
    /// and tells open tabs.
    fn reload(&self, changed: &[PathBuf]) {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        changed.iter().for_each(|path| self.memo.forget(path));
        let snapshot = load(&self.site_root, self.now.as_deref(), &self.memo);
        if let Err(why) = &snapshot.loaded {
            eprintln!("imprimatur: {why}");
        }
        let previous = std::mem::replace(
            &mut *self.snapshot.write().expect("the snapshot lock"),
            Arc::new(snapshot),
        );
        self.generation.send_modify(|g| *g += 1);
        // Freeing a large site takes a while: after the tabs were told.
        drop(previous);
    }
}

/// Judges the site again, reusing from `memo` what did not change since the last time.
fn load(site_root: &Path, now: Option<&str>, memo: &Arc<Memo>) -> Snapshot {
    let loaded = (|| -> Result<Loaded> {
        let now = time::resolve_now(now).map_err(Error::Usage)?;
        let site = Site::load_with(site_root, Some(memo.clone()), &crate::progress::Unwatched)?;
        crate::notify::config::load(&site.config)?;
        team::config::load(&site.config)?;
        let eval = site.evaluate(now, &site.config.audiences);
        let theme = Theme::load(&site.config.root, &site.config.theme)?;
        let report = StatusReport::from_evaluation(&eval, &[]);
        let drafts = Drafts::collect(&site, &eval);
        Ok(Loaded {
            site,
            eval,
            report,
            drafts,
            theme,
        })
    })()
    .map_err(|e| e.to_string());
    Snapshot {
        loaded,
        cache: Mutex::new(Bounded::new(cache::MAX_ENTRIES, cache::MAX_BYTES)),
        search: Default::default(),
    }
}

/// Runs the server until Ctrl-C. Prints the address first (`serving … at http://…/`).
pub fn serve(opts: &ServeOptions, out: &mut dyn std::io::Write) -> Result<()> {
    // The key first: its passphrase is asked once, here, before anything is served.
    let decider = match &opts.key {
        Some(source) => {
            let site = Site::load(&opts.site_root)?;
            let signer = Signer::open(source, &site.keyring)?;
            Some(Arc::new(Decider::new(source.clone(), signer, &site)?))
        }
        None => None,
    };
    let team = if opts.team {
        Some(Arc::new(team_for(opts)?))
    } else {
        None
    };
    let memo = Arc::new(Memo::default());
    let first = load(&opts.site_root, opts.now.as_deref(), &memo);
    if let Err(why) = &first.loaded {
        // Starting on a broken site is fine: the browser shows why until it is fixed.
        eprintln!("imprimatur: the site does not load yet: {why}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("<tokio runtime>", e))?;
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| Error::Usage(format!("can't listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io("<listener>", e))?;
    // The names of the site as it loads now; a site that does not load yet is reached by
    // loopback names only, until the server is started again.
    let review_url = first
        .loaded
        .as_ref()
        .ok()
        .and_then(|l| l.site.config.review_url.clone());
    // Passkeys are registered for the `review:` section's relying party (`/_keys/`); a site
    // that does not load yet, or has no such section, registers none until started again.
    let relying = match (&team, first.loaded.as_ref().ok()) {
        (Some(team), _) => Some(team.config.relying()),
        (None, Some(l)) => team::config::load(&l.site.config)?.map(|r| r.relying()),
        (None, None) => None,
    };
    let (generation, _) = tokio::sync::watch::channel(0u64);
    let shared = Arc::new(Shared {
        snapshot: RwLock::new(Arc::new(first)),
        generation,
        hosts: AllowedHosts::new(
            local,
            match &team {
                Some(t) => Some(t.config.public_url.as_str()),
                None => review_url.as_deref(),
            },
        ),
        site_root: opts.site_root.clone(),
        now: opts.now.clone(),
        memo,
        reloading: Mutex::new(()),
        decider,
        registrar: keys::Registrar::new(relying)?,
        team,
    });
    let url = match &shared.team {
        Some(t) => format!("{}/", t.config.public_url),
        None => format!("http://{local}/"),
    };
    watch(&opts.site_root, shared.clone())?;
    if let Some(team) = shared.team.clone() {
        pull_every(team::PULL_EVERY, team, shared.clone());
    }
    // Best effort: a closed stdout (a parent that read the address and left) must not stop
    // the server.
    let _ = writeln!(
        out,
        "serving {} at {url}\n  published view: {url}\n  drafts (not approved): {url}_drafts/\n  review queue: {url}_review/\npress Ctrl-C to stop",
        opts.site_root.display()
    )
    .and_then(|_| out.flush());
    if let Some(d) = &shared.decider {
        eprintln!(
            "imprimatur: the review pages sign decisions as '{}'",
            d.reviewer()
        );
    }
    if let Some(t) = &shared.team {
        eprintln!(
            "imprimatur: team review server for {} (relying party '{}'), listening on {local}; reviewers sign in with a passkey at {url}_signin",
            t.config.public_url, t.config.rp_id
        );
    } else if !opts.bind.is_loopback() {
        eprintln!(
            "imprimatur: warning: serving on {addr}, not loopback: anyone who can reach it sees every draft and review page"
        );
    }
    if opts.open {
        if let Err(e) = std::process::Command::new("xdg-open").arg(&url).spawn() {
            eprintln!("imprimatur: could not open a browser ({e}); open {url}");
        }
    }
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(shared.clone());
    runtime
        .block_on(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        })
        .map_err(|e| Error::io("<server>", e))?;
    Ok(())
}

/// The team server's state from the site's `review:` section, or why `--team` can't run:
/// no section, a key given too, or a non-loopback address without https in front.
fn team_for(opts: &ServeOptions) -> Result<team::Team> {
    if opts.key.is_some() {
        return Err(Error::Usage(
            "serve --team holds no signing key: reviewers sign with their own passkeys; leave out --key and --agent".into(),
        ));
    }
    let config = team::config::load(&SiteConfig::load(&opts.site_root)?)?.ok_or_else(|| {
        Error::config(
            crate::site::config::CONFIG_FILE,
            "review",
            "serve --team needs a review: section (public_url at least; see README, Site config)",
        )
    })?;
    if !opts.bind.is_loopback() && !config.https {
        return Err(Error::Usage(format!(
            "serve --team: --bind {} is not loopback, and review.public_url ({}) is plain HTTP: a team server beyond this machine runs behind a TLS proxy, with an https public_url",
            opts.bind, config.public_url
        )));
    }
    let landing = Landing::open(
        &opts.site_root,
        team::git_settings(&config, &opts.site_root)?,
    )?;
    // What the branch holds, before the first judgement.
    landing.pull()?;
    team::Team::new(config, landing)
}

/// A team server pulls its branch every `period` (and before every decision), so what it
/// shows is what the branch holds: other servers' decisions, writers' pushes. A pull that
/// brought something judges the site again.
fn pull_every(period: Duration, team: Arc<team::Team>, shared: Arc<Shared>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(period);
        match team.landing.pull() {
            Ok(pulled) if pulled.changed() => {
                shared.reload(std::slice::from_ref(&shared.site_root))
            }
            Ok(_) => {}
            Err(e) => eprintln!("imprimatur: {e}"),
        }
    });
}

/// Watches the site's input; after a burst of changes settles, reloads the snapshot. The
/// watcher lives in the reload thread, which adds input folders created after the start.
fn watch(site_root: &Path, shared: Arc<Shared>) -> Result<()> {
    // What changed: the paths an event names, or the whole site when the watcher lost track
    // (an error, a queue overflow): then nothing read before is reused.
    let (tx, rx) = mpsc::channel::<Vec<PathBuf>>();
    let everything = site_root.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let changed = match event {
            Ok(e) if matches!(e.kind, notify::EventKind::Access(_)) => return,
            Ok(e) if e.need_rescan() || e.paths.is_empty() => vec![everything.clone()],
            Ok(e) => e.paths,
            Err(_) => vec![everything.clone()],
        };
        let _ = tx.send(changed);
    })
    .map_err(|e| Error::Usage(format!("can't watch {}: {e}", site_root.display())))?;
    // The root itself (not recursively: output/ and reports/ change on every build), and the
    // input folders whole.
    watcher
        .watch(site_root, RecursiveMode::NonRecursive)
        .map_err(|e| Error::Usage(format!("can't watch {}: {e}", site_root.display())))?;
    let mut watched = std::collections::BTreeSet::new();
    let mut watch_inputs = move |watcher: &mut notify::RecommendedWatcher, root: &Path| {
        for dir in ["content", "approvals", "themes"] {
            let path = root.join(dir);
            if !watched.contains(dir) && path.is_dir() {
                match watcher.watch(&path, RecursiveMode::Recursive) {
                    Ok(()) => {
                        watched.insert(dir);
                    }
                    Err(e) => eprintln!("imprimatur: can't watch {}: {e}", path.display()),
                }
            }
        }
    };
    watch_inputs(&mut watcher, site_root);
    let root = site_root.to_path_buf();
    std::thread::spawn(move || {
        while let Ok(mut changed) = rx.recv() {
            // Editors write a file in several steps: wait for quiet, then load once.
            while let Ok(more) = rx.recv_timeout(Duration::from_millis(30)) {
                changed.extend(more);
            }
            watch_inputs(&mut watcher, &root);
            shared.reload(&changed);
        }
    });
    Ok(())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    let team = shared.team.is_some();
    let mut response = answer(shared, method, headers, uri, body).await;
    // A team server's pages are never framed by another site (its session cookie is
    // SameSite=Strict already; this covers the published view and the sign-in too).
    if team
        && !response
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    response
}

async fn answer(
    shared: Arc<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    // Before anything is read or rendered: an absolute request target names its host too,
    // and both must be this server's.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let target_ok = uri
        .authority()
        .is_none_or(|a| shared.hosts.allows(Some(a.as_str())));
    if !target_ok || !shared.hosts.allows(host) {
        return misdirected(&shared.hosts);
    }
    let path = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    if let Some(rest) = path.strip_prefix(keys::KEYS_PREFIX) {
        let snapshot = shared.snapshot.read().expect("the snapshot lock").clone();
        let site = snapshot.loaded.as_ref().ok().map(|l| &l.site);
        return shared.registrar.respond(
            &method,
            &headers,
            rest.trim_end_matches('/'),
            &body,
            site,
        );
    }
    if path == "/_keys" {
        return reply(redirect(keys::KEYS_PREFIX));
    }
    // A team server's sign-in, its gate in front of drafts and review pages, and its
    // decisions come first; the reviewer signed in, if any, is who the review page is for.
    let mut passkey_reviewer = None;
    if let Some(team) = shared.team.clone() {
        let req = team::Request {
            method: &method,
            headers: &headers,
            path: &path,
            query: uri.query().unwrap_or(""),
            body: &body,
        };
        if let Some(response) = team::route(&shared, &team, &req).await {
            return response;
        }
        passkey_reviewer = team
            .session(&headers)
            .filter(|(id, s)| team.still_valid(&shared, id, s))
            .map(|(id, s)| team.reviewer(&id, &s));
    }
    if let Some(id) = path.strip_prefix(decide::DECIDE_PREFIX) {
        let id = id.trim_end_matches('/').to_string();
        return decision(shared, &method, &headers, host.unwrap_or(""), id, body).await;
    }
    if method != Method::GET && method != Method::HEAD {
        return refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET reads this server's pages; decisions are POSTed to /_decide/<page>",
            None,
        );
    }
    match path.as_str() {
        "/_imprimatur/events" => return events(&shared).into_response(),
        "/_imprimatur/reload.js" => {
            return reply(Reply {
                status: StatusCode::OK,
                content_type: "text/javascript; charset=utf-8",
                location: None,
                body: axum::body::Bytes::from_static(RELOAD_JS.as_bytes()),
            })
        }
        _ => {}
    }
    let snapshot = shared.snapshot.read().expect("the snapshot lock").clone();
    let filter = filter_of(&path, uri.query().unwrap_or(""));
    let key = cache_key(&path, filter.as_ref());
    // A team server's review page is its reviewer's own (their buttons, their tokens): never
    // kept for the next one.
    let personal = passkey_reviewer.is_some() && path.starts_with("/_review/");
    let hit = if personal {
        None
    } else {
        snapshot.cache.lock().expect("the cache lock").get(&key)
    };
    let rendered = match hit {
        Some(hit) => hit,
        None => {
            let rendered = tokio::task::spawn_blocking({
                let snapshot = snapshot.clone();
                let decider = shared.decider.clone();
                move || {
                    let signing = match (&passkey_reviewer, decider.as_deref()) {
                        (Some(p), _) => Signing::Passkey(p),
                        (None, Some(d)) => Signing::Key(d),
                        (None, None) => Signing::Nobody,
                    };
                    respond(&snapshot, &path, filter.as_ref(), signing)
                }
            })
            .await
            .unwrap_or_else(|e| error_page(&format!("rendering failed: {e}")));
            if !personal {
                let size = rendered.body.len() + rendered.location.as_ref().map_or(0, String::len);
                snapshot
                    .cache
                    .lock()
                    .expect("the cache lock")
                    .insert(key, rendered.clone(), size);
            }
            rendered
        }
    };
    let mut response = reply(rendered);
    let (entries, bytes) = {
        let cache = snapshot.cache.lock().expect("the cache lock");
        (cache.len(), cache.bytes())
    };
    // What the cache holds now, for whoever wants to watch it stay bounded (tests/serve.rs).
    if let Ok(value) = format!("entries={entries} bytes={bytes}").parse() {
        response.headers_mut().insert("x-imprimatur-cache", value);
    }
    response
}

/// `/_decide/<id>`: a POST that passes every check signs one record, the site is judged again,
/// and the answer sends the browser back to the review page showing it (303, Post/Redirect/
/// Get). Anything else writes nothing and says why.
async fn decision(
    shared: Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    host: &str,
    id: String,
    body: axum::body::Bytes,
) -> Response {
    if method != Method::POST {
        let mut response = refused(
            StatusCode::METHOD_NOT_ALLOWED,
            "a decision is signed only by the review page's buttons (POST); nothing changes over GET",
            Some(&id),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    if let Err((status, why)) = decide::check_request(shared.decider.as_deref(), headers, host) {
        return refused(status, &why, Some(&id));
    }
    let outcome = tokio::task::spawn_blocking({
        let shared = shared.clone();
        let id = id.clone();
        move || {
            let decider = shared.decider.as_deref().expect("checked above");
            let now = match time::resolve_now(shared.now.as_deref()) {
                Ok(now) => now,
                Err(why) => return Outcome::Refused(StatusCode::INTERNAL_SERVER_ERROR, why),
            };
            let outcome = decide::decide(decider, &shared.site_root, &id, now, &body);
            if matches!(outcome, Outcome::Written(_)) {
                // Before the answer: the page the browser is sent to shows the new record.
                shared.reload(&[shared.site_root.join("approvals")]);
            }
            outcome
        }
    })
    .await
    .unwrap_or_else(|e| Outcome::Refused(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
    match outcome {
        Outcome::Written(record) => {
            eprintln!("imprimatur: signed {record}");
            Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(
                    header::LOCATION,
                    crate::report::inbox::review_link("/_review/", &id),
                )
                .header(header::CACHE_CONTROL, "no-store")
                .header("x-imprimatur-record", record)
                .body(Body::empty())
                .expect("a valid response")
        }
        Outcome::Refused(status, why) => refused(status, &why, Some(&id)),
    }
}

fn refused(status: StatusCode, why: &str, id: Option<&str>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(decide::refusal_page(status, why, id)))
        .expect("a valid response")
}

/// The only query a page reads: the review queue's filters (`review::QueueFilter`). Every
/// other address ignores its query string.
fn filter_of(path: &str, query: &str) -> Option<review::QueueFilter> {
    (path == "/_review/").then(|| review::QueueFilter::from_query(query))
}

/// The cache key of an answer: the decoded path, and the filter where the page reads one.
/// The path's length goes first, so no path can be mistaken for another path and a filter.
fn cache_key(path: &str, filter: Option<&review::QueueFilter>) -> String {
    match filter {
        Some(f) => format!("{}:{path}?{}", path.len(), f.key()),
        None => format!("{}:{path}", path.len()),
    }
}

/// The answer to a request for another name (421): nothing of the site, not even its title.
fn misdirected(hosts: &AllowedHosts) -> Response {
    Response::builder()
        .status(StatusCode::MISDIRECTED_REQUEST)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(format!(
            "421 Misdirected Request: this imprimatur serve answers only to {} (set review_url in imprimatur.yaml to the name a team server is reached by)\n",
            hosts.names().join(", ")
        )))
        .expect("a valid response")
}

fn reply(r: Reply) -> Response {
    let mut builder = Response::builder()
        .status(r.status)
        .header(header::CONTENT_TYPE, r.content_type)
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(location) = &r.location {
        builder = builder.header(header::LOCATION, location);
    }
    builder.body(Body::from(r.body)).expect("a valid response")
}

fn events(shared: &Shared) -> impl IntoResponse {
    use tokio_stream::StreamExt as _;
    let stream = tokio_stream::wrappers::WatchStream::from_changes(shared.generation.subscribe())
        .map(|g| {
            Ok::<_, std::convert::Infallible>(Event::default().event("reload").data(g.to_string()))
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Renders the answer to one request from one snapshot.
fn respond(
    snapshot: &Snapshot,
    path: &str,
    filter: Option<&review::QueueFilter>,
    signing: Signing,
) -> Reply {
    let loaded = match &snapshot.loaded {
        Ok(l) => l,
        Err(why) => return error_page(why),
    };
    let Some(rel) = path.strip_prefix('/') else {
        return not_found();
    };
    if rel == "_review" || rel == "_drafts" {
        return redirect(&format!("/{rel}/"));
    }
    if rel == "_review/" {
        let filter = filter.cloned().unwrap_or_default();
        let html = review::queue(&loaded.site, &loaded.eval, &loaded.report, &filter);
        return html_reply(html);
    }
    if let Some(id) = rel.strip_prefix("_review/") {
        let id = id.trim_end_matches('/');
        return match review::page_review(&loaded.site, &loaded.eval, &loaded.report, id, signing) {
            Some(html) => html_reply(html),
            None => not_found(),
        };
    }
    let (renderer, rel, prefix) = match rel.strip_prefix("_drafts/") {
        Some(rest) => (
            Renderer::drafts(
                &loaded.site,
                &loaded.eval,
                &loaded.drafts,
                crate::report::build::draft_banners(&loaded.report),
                &loaded.theme,
                true,
            ),
            rest,
            "/_drafts/",
        ),
        None => (
            Renderer::published(&loaded.site, &loaded.eval, &loaded.theme),
            rel,
            "/",
        ),
    };
    if rel.split('/').any(|s| s == ".." || s == ".") {
        return not_found();
    }
    if crate::publish::render::is_search_file(rel) {
        // [published, drafts], as `prefix` says which view this is.
        let view = if prefix == "/" { 0 } else { 1 };
        let files = snapshot.search[view].get_or_init(|| {
            let files = renderer.search_files().map_err(|e| e.to_string())?;
            Ok(files
                .into_iter()
                .map(|(path, bytes)| (path, bytes.into()))
                .collect())
        });
        let files = match files {
            Ok(files) => files,
            Err(why) => return error_page(why),
        };
        return match files.get(rel) {
            Some(bytes) => Reply {
                status: StatusCode::OK,
                content_type: content_type(rel),
                location: None,
                body: bytes.clone(),
            },
            None => not_found(),
        };
    }
    match renderer.file(rel) {
        Ok(Some(bytes)) => Reply {
            status: StatusCode::OK,
            content_type: content_type(if rel.is_empty() || rel.ends_with('/') {
                "index.html"
            } else {
                rel
            }),
            location: None,
            body: bytes.into(),
        },
        Ok(None) if !rel.is_empty() && !rel.ends_with('/') => {
            match renderer.file(&format!("{rel}/")) {
                Ok(Some(_)) => redirect(&format!("{prefix}{rel}/")),
                _ => site_not_found(&renderer, prefix),
            }
        }
        Ok(None) => site_not_found(&renderer, prefix),
        Err(e) => error_page(&e.to_string()),
    }
}

fn html_reply(html: String) -> Reply {
    Reply {
        status: StatusCode::OK,
        content_type: "text/html; charset=utf-8",
        location: None,
        body: html.into(),
    }
}

fn redirect(to: &str) -> Reply {
    Reply {
        status: StatusCode::PERMANENT_REDIRECT,
        content_type: "text/plain; charset=utf-8",
        location: Some(to.to_string()),
        body: axum::body::Bytes::new(),
    }
}

/// An address the site does not have: the theme's `404.html`, as a static host serves it,
/// with its links from this view's root.
fn site_not_found(renderer: &Renderer, prefix: &str) -> Reply {
    match renderer.not_found_at(prefix.to_string()) {
        Ok(html) => Reply {
            status: StatusCode::NOT_FOUND,
            ..html_reply(html)
        },
        Err(e) => error_page(&e.to_string()),
    }
}

fn not_found() -> Reply {
    Reply {
        status: StatusCode::NOT_FOUND,
        content_type: "text/html; charset=utf-8",
        location: None,
        body: axum::body::Bytes::from_static(
            b"<!DOCTYPE html>\n<title>Not found</title>\n<p>Nothing is published at this address. Drafts are under <a href=\"/_drafts/\">/_drafts/</a>.</p>\n<script src=\"/_imprimatur/reload.js\" defer></script>\n",
        ),
    }
}

/// The site can't be shown: say why, and reload when it is fixed.
fn error_page(why: &str) -> Reply {
    Reply {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        content_type: "text/html; charset=utf-8",
        location: None,
        body: axum::body::Bytes::from(
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>imprimatur: the site does not build</title>\n<script src=\"/_imprimatur/reload.js\" defer></script></head>\n<body style=\"font:16px/1.5 system-ui,sans-serif;margin:2rem\">\n<h1>The site does not build</h1>\n<pre style=\"white-space:pre-wrap;background:#fde2e1;color:#7f1d1d;padding:1rem;border-radius:6px\">{}</pre>\n<p>Fix it and save: this page reloads by itself.</p>\n</body></html>\n",
                crate::escape::html(why)
            )
            .into_bytes(),
        ),
    }
}

fn content_type(path: &str) -> &'static str {
    // The feeds and the list of redirects (render::feed, render::redirects) by their names.
    if path == "feed.xml" || path.ends_with("/feed.xml") {
        return "application/atom+xml";
    }
    if path == "_redirects" {
        return "text/plain; charset=utf-8";
    }
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "md" => "text/plain; charset=utf-8",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Reloads the tab when the server says the site changed. Served at /_imprimatur/reload.js
/// for the server's own pages; the theme's `static/live.js` does the same for site pages.
const RELOAD_JS: &str = include_str!("../../themes/default/static/live.js");
