//! The console's HTTP API as a test calls it: JSON in and out with a session's bearer token,
//! the one error shape on failure.

use beibao_core::code::Code;
use beibao_server::desk::LoginResponse;
use beibao_sync::wire::ErrorBody;
use serde_json::Value;
use tokio::runtime::Runtime;

/// A console client on a runtime.
#[derive(Debug)]
pub struct Console<'a> {
    /// The runtime the calls block on.
    pub rt: &'a Runtime,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// The server's base URL.
    pub base: String,
}

impl<'a> Console<'a> {
    /// A client of the server at `base`.
    pub fn new(rt: &'a Runtime, base: String) -> Console<'a> {
        Console { rt, http: reqwest::Client::new(), base }
    }

    /// A call: the status and the JSON answer (`null` when it is not JSON).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(async {
            let url = format!("{}/api/v1{path}", self.base);
            let mut req = match method {
                "GET" => self.http.get(url),
                _ => self.http.post(url),
            };
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            if let Some(b) = body {
                req = req.header("content-type", "application/json").body(b.to_string());
            }
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.expect("body");
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }

    /// A GET whose answer is a file: the status, the content type and the bytes.
    pub fn file(&self, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
        self.rt.block_on(async {
            let mut req = self.http.get(format!("{}/api/v1{path}", self.base));
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let kind = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            (status, kind, resp.bytes().await.expect("body").to_vec())
        })
    }

    /// A call that must answer 200, its answer read as `T`.
    pub fn ok<T: serde::de::DeserializeOwned>(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> T {
        let (status, v) = self.call(method, path, Some(token), body);
        assert_eq!(status, 200, "{method} {path}: {v}");
        serde_json::from_value(v).expect("answer shape")
    }

    /// A call that must fail in the one error shape: its status and code.
    pub fn fails(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Code) {
        let (status, v) = self.call(method, path, token, body);
        let e: ErrorBody = serde_json::from_value(v).expect("the one error shape");
        assert!(!e.message.is_empty());
        (status, e.code)
    }

    /// Log in; the session.
    pub fn login(&self, username: &str, password: &str) -> LoginResponse {
        let body = serde_json::json!({ "username": username, "password": password });
        let (status, v) = self.call("POST", "/accounts/login", None, Some(body));
        assert_eq!(status, 200, "{v}");
        serde_json::from_value(v).expect("session")
    }
}
