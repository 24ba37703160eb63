//! Slack-compatible incoming webhooks (Slack, Mattermost, Microsoft Teams' Slack format):
//! one POST of `{"text": ...}` per message to the URL held by the configured variable.

use std::time::Duration;

use crate::notify::SendError;

pub fn send(
    url: &str,
    env: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(), SendError> {
    let bytes = serde_json::to_vec(body).expect("a chat message serializes");
    crate::notify::webhook::post(url, env, &[], &bytes, timeout).map_err(SendError::Route)
}
