//! Headless Chromium and one of its tabs, driven over the DevTools protocol (CDP) through a
//! plain WebSocket: open a page, evaluate JavaScript, wait for what the page shows, and send any
//! other CDP command (`WebAuthn.addVirtualAuthenticator`, `Emulation.*`, ...). Tests that use it
//! need Chromium and say so with `util::needs(Tool::Chromium)`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A headless Chromium and one of its tabs, driven over the DevTools protocol.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Commands that went unanswered (and were sent again).
    pub unanswered: usize,
}

impl Browser {
    pub fn start(chromium: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // Chromium writes the port it listens on into the profile.
        let port_file: PathBuf = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next().map(str::to_string))
                .filter(|p| !p.is_empty())
            {
                break port;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "chromium never opened its DevTools port"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let listing = ureq::get(&format!("http://127.0.0.1:{port}/json/list"))
            .call()
            .expect("the DevTools endpoint answers")
            .body_mut()
            .read_to_string()
            .unwrap();
        let targets: serde_json::Value = serde_json::from_str(&listing).unwrap();
        let ws_url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a tab")
            .to_string();
        let (ws, _) = tungstenite::connect(ws_url.as_str()).expect("the tab's DevTools socket");
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
        }
        Browser {
            child,
            _profile: profile,
            ws,
            next_id: 0,
            unanswered: 0,
        }
    }

    /// Sends one command and returns its result (events in between are skipped).
    pub fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.try_call(method, params.clone(), Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no answer to {method} {params}"))
    }

    /// `call`, or `None` when no answer came within `wait` (a command sent while the tab
    /// swaps documents can go unanswered).
    pub fn try_call(
        &mut self,
        method: &str,
        params: serde_json::Value,
        wait: Duration,
    ) -> Option<serde_json::Value> {
        self.next_id += 1;
        let id = self.next_id;
        let message = serde_json::json!({"id": id, "method": method, "params": &params});
        self.ws
            .send(tungstenite::Message::text(message.to_string()))
            .unwrap();
        let deadline = Instant::now() + wait;
        loop {
            let message = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    if Instant::now() >= deadline {
                        self.unanswered += 1;
                        return None;
                    }
                    continue;
                }
                Err(e) => panic!("no answer to {method} {params}: {e}"),
            };
            let Ok(text) = message.to_text() else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return Some(value["result"].clone());
            }
        }
    }

    /// The value of a JavaScript expression in the tab (`None`: no answer within 2 s).
    pub fn try_eval(&mut self, expression: &str) -> Option<serde_json::Value> {
        let result = self.try_call(
            "Runtime.evaluate",
            serde_json::json!({"expression": expression, "returnByValue": true}),
            Duration::from_secs(2),
        )?;
        Some(result["result"]["value"].clone())
    }

    pub fn eval(&mut self, expression: &str) -> serde_json::Value {
        let result = self.call(
            "Runtime.evaluate",
            serde_json::json!({"expression": expression, "returnByValue": true}),
        );
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is `true`.
    pub fn wait_until(&mut self, expression: &str, what: &str) {
        let start = Instant::now();
        while self.try_eval(expression) != Some(serde_json::Value::Bool(true)) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the tab never showed {what}; it shows:\n{:?}",
                self.try_eval("document.body ? document.body.innerText : ''")
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Screenshots of the tab as it is now, at 1280 px (desktop) and 390 px (mobile), in light
    /// and dark: `<dir>/<name>-<desktop|mobile>-<light|dark>.png`; `heights` are the two
    /// frames' heights. Prints each file's path.
    pub fn screenshots(&mut self, dir: &Path, name: &str, heights: (u32, u32)) {
        for (width, height, size) in [(1280, heights.0, "desktop"), (390, heights.1, "mobile")] {
            for scheme in ["light", "dark"] {
                self.call(
                    "Emulation.setDeviceMetricsOverride",
                    serde_json::json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": size == "mobile"}),
                );
                self.call(
                    "Emulation.setEmulatedMedia",
                    serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
                );
                std::thread::sleep(Duration::from_millis(300));
                let png = self.call(
                    "Page.captureScreenshot",
                    serde_json::json!({"format": "png"}),
                );
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(png["data"].as_str().unwrap())
                    .unwrap();
                let file = dir.join(format!("{name}-{size}-{scheme}.png"));
                std::fs::write(&file, bytes).unwrap();
                println!("{}", file.display());
            }
        }
        self.call(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        );
    }

    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", serde_json::json!({"url": url}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
