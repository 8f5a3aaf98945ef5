//! One HTTP request of an HTTP signaling (WHIP/WHEP) and what answered it, as the timeline keeps
//! it: method, URL (never with a token), status (absent when nothing answered), time, and the
//! `Content-Type`, `Location`, `ETag`, error body and announced ICE servers of the answer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpStep {
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// An error answer's text, shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The ICE server URLs its `Link: …; rel="ice-server"` headers announced (never credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<String>,
}
