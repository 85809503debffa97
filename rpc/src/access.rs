//! Who may reach the server and how much they may ask of it: browser origins
//! (`--rpc-cors`, enforced on every HTTP request and WebSocket upgrade, not only by the
//! browser's CORS rules) and the per-connection call budget (`--rpc-rate-limit`).
//!
//! A page open in the operator's browser can send requests to `127.0.0.1` like any local
//! program; the only thing that tells it apart is the `Origin` header the browser adds.
//! CORS alone does not stop it: a "simple" POST is sent before CORS is consulted, and
//! WebSocket upgrades are not subject to CORS at all. So a request that names an origin
//! outside the list is refused with 403 before it reaches JSON-RPC; clients that send no
//! `Origin` (curl, wallets, other programs) are not browsers and pass.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, BatchEntryErr, Notification, Request, ResponseFuture, RpcServiceT,
};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::MethodResponse;

/// The JSON-RPC error code of a call refused because its connection spent its budget.
pub const TOO_MANY_CALLS_CODE: i32 = -32029;

/// Origins allowed when `--rpc-cors` is not given and the node is not `--dev`
/// (Substrate's list).
pub const DEFAULT_ORIGINS: [&str; 5] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://polkadot.js.org",
];

/// One allowed origin: exact (`https://polkadot.js.org`) or a host with any port
/// (`http://localhost:*`, which also matches `http://localhost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    /// Lower-case `scheme://host[:port]`, without the `:*`.
    base: String,
    /// Whether any port (or none) is accepted after `base`.
    any_port: bool,
}

impl OriginPattern {
    /// Whether a browser's `Origin` header value is this origin.
    pub fn matches(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        if !self.any_port {
            return origin == self.base;
        }
        match origin.strip_prefix(&self.base) {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(':')
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        }
    }
}

impl std::fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)?;
        if self.any_port {
            f.write_str(":*")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for OriginPattern {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('/').to_ascii_lowercase();
        let (base, any_port) = match text.strip_suffix(":*") {
            Some(base) => (base.to_string(), true),
            None => (text.clone(), false),
        };
        let host = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .unwrap_or("");
        if host.is_empty() || host.contains(['/', '*', ' ', ',']) {
            return Err(format!(
                "'{text}' is not an origin like http://host[:port] (':*' for any port)"
            ));
        }
        Ok(OriginPattern { base, any_port })
    }
}

/// The browser origins the server answers (`--rpc-cors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Every origin (`--rpc-cors all`, and the default under `--dev`).
    Any,
    /// Only these; an empty list refuses every browser.
    Only(Vec<OriginPattern>),
}

impl AllowedOrigins {
    /// Substrate's default: the local machine's web pages and polkadot.js.org.
    pub fn local() -> Self {
        AllowedOrigins::Only(
            DEFAULT_ORIGINS
                .iter()
                .filter_map(|o| o.parse().ok())
                .collect(),
        )
    }

    /// Whether a request carrying `Origin: origin` may be served.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            AllowedOrigins::Any => true,
            AllowedOrigins::Only(patterns) => patterns.iter().any(|p| p.matches(origin)),
        }
    }
}

impl std::fmt::Display for AllowedOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllowedOrigins::Any => f.write_str("all"),
            AllowedOrigins::Only(patterns) if patterns.is_empty() => f.write_str("none"),
            AllowedOrigins::Only(patterns) => {
                for (i, pattern) in patterns.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{pattern}")?;
                }
                Ok(())
            }
        }
    }
}

impl Default for AllowedOrigins {
    fn default() -> Self {
        AllowedOrigins::local()
    }
}

impl std::str::FromStr for AllowedOrigins {
    type Err = String;
    /// `all` (or `*`), or a comma-separated list of origins.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") || text == "*" {
            return Ok(AllowedOrigins::Any);
        }
        text.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(AllowedOrigins::Only)
    }
}

/// HTTP middleware refusing, with 403, any request (WebSocket upgrades included) whose
/// `Origin` header names an origin that is not allowed.
#[derive(Debug, Clone)]
pub(crate) struct OriginGuardLayer {
    allowed: Arc<AllowedOrigins>,
}

impl OriginGuardLayer {
    pub(crate) fn new(allowed: Arc<AllowedOrigins>) -> Self {
        OriginGuardLayer { allowed }
    }
}

impl<S> tower::Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;
    fn layer(&self, inner: S) -> OriginGuard<S> {
        OriginGuard {
            inner,
            allowed: self.allowed.clone(),
        }
    }
}

/// See [`OriginGuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct OriginGuard<S> {
    inner: S,
    allowed: Arc<AllowedOrigins>,
}

impl<S> OriginGuard<S> {
    fn admits<B>(&self, request: &http::Request<B>) -> bool {
        request
            .headers()
            .get_all(http::header::ORIGIN)
            .iter()
            .all(|value| {
                value
                    .to_str()
                    .is_ok_and(|origin| self.allowed.allows(origin))
            })
    }
}

type GuardFuture<F, R, E> = futures::future::Either<F, std::future::Ready<Result<R, E>>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for OriginGuard<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future, Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if self.admits(&request) {
            return futures::future::Either::Left(self.inner.call(request));
        }
        log::debug!(
            "RPC: refused a request from origin {:?}",
            request.headers().get(http::header::ORIGIN)
        );
        let mut refused = http::Response::new(ResBody::default());
        *refused.status_mut() = http::StatusCode::FORBIDDEN;
        futures::future::Either::Right(std::future::ready(Ok(refused)))
    }
}

/// How many calls a connection may still make: a bucket of `per_minute` calls, refilled
/// continuously at `per_minute` per 60 seconds. Counted in exact units (a call is
/// 60,000,000 units; each microsecond adds `per_minute` units) so no rounding can
/// give or take a call.
#[derive(Debug)]
struct Budget {
    per_minute: u128,
    available: u128,
    refilled_at: Instant,
}

/// Units one call costs: the microseconds in a minute.
const CALL_COST: u128 = 60_000_000;

impl Budget {
    fn full(per_minute: NonZeroU32) -> Self {
        let per_minute = u128::from(per_minute.get());
        Budget {
            per_minute,
            available: per_minute * CALL_COST,
            refilled_at: Instant::now(),
        }
    }

    /// Takes one call from the budget at time `now`, if there is one.
    fn spend(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at).as_micros();
        self.refilled_at = self.refilled_at.max(now);
        self.available = self
            .available
            .saturating_add(elapsed.saturating_mul(self.per_minute))
            .min(self.per_minute * CALL_COST);
        if self.available >= CALL_COST {
            self.available -= CALL_COST;
            true
        } else {
            false
        }
    }
}

/// RPC middleware giving each connection its own call budget. jsonrpsee builds the RPC
/// service once per WebSocket connection (and once per HTTP request, which therefore is
/// its own connection here), so every [`CallBudget`] made by this layer starts full and
/// is shared by no one else.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallBudgetLayer {
    per_minute: NonZeroU32,
}

impl CallBudgetLayer {
    pub(crate) fn new(per_minute: NonZeroU32) -> Self {
        CallBudgetLayer { per_minute }
    }
}

impl<S> tower::Layer<S> for CallBudgetLayer {
    type Service = CallBudget<S>;
    fn layer(&self, inner: S) -> CallBudget<S> {
        CallBudget {
            inner,
            per_minute: self.per_minute,
            budget: Arc::new(Mutex::new(Budget::full(self.per_minute))),
        }
    }
}

/// See [`CallBudgetLayer`]. Calls over the budget, alone or inside a batch, are answered
/// with [`TOO_MANY_CALLS_CODE`] and never run.
#[derive(Debug, Clone)]
pub(crate) struct CallBudget<S> {
    inner: S,
    per_minute: NonZeroU32,
    budget: Arc<Mutex<Budget>>,
}

impl<S> CallBudget<S> {
    fn spend(&self) -> bool {
        // A poisoned lock only means another call panicked mid-update; the numbers in it
        // are still a budget.
        let mut budget = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        budget.spend(Instant::now())
    }

    fn refusal(&self) -> ErrorObjectOwned {
        ErrorObjectOwned::owned(
            TOO_MANY_CALLS_CODE,
            format!(
                "too many requests: this connection may make {} calls per minute",
                self.per_minute
            ),
            None::<()>,
        )
    }
}

impl<S> RpcServiceT for CallBudget<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        if self.spend() {
            ResponseFuture::future(self.inner.call(request))
        } else {
            let refused = MethodResponse::error(request.id, self.refusal())
                .with_extensions(request.extensions);
            ResponseFuture::ready(refused)
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let entries = batch
            .into_iter()
            .map(|entry| match entry {
                Ok(BatchEntry::Call(request)) if !self.spend() => {
                    Err(BatchEntryErr::new(request.id, self.refusal()))
                }
                other => other,
            })
            .collect();
        let inner = self.inner.clone();
        async move { inner.batch(Batch::from(entries)).await }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        // Notifications are never answered and our methods have no effect when called as
        // one, so they cost nothing but parsing, which the request size limit bounds.
        let inner = self.inner.clone();
        async move { inner.notification(notification).await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn default_origins_are_the_local_machine_and_polkadot_js() {
        let allowed = AllowedOrigins::local();
        for origin in [
            "http://localhost:3000",
            "http://localhost",
            "https://127.0.0.1:8443",
            "HTTP://LOCALHOST:80",
            "https://polkadot.js.org",
        ] {
            assert!(allowed.allows(origin), "{origin}");
        }
        for origin in [
            "http://evil.example",
            "http://localhost.evil.example",
            "http://localhost:3000.evil.example",
            "http://127.0.0.1.nip.io:80",
            "https://polkadot.js.org.evil.example",
            "https://polkadot.js.org:8080",
            "null",
            "",
        ] {
            assert!(!allowed.allows(origin), "{origin}");
        }
    }

    #[test]
    fn cors_flag_parses_all_lists_and_refuses_non_origins() {
        assert_eq!("all".parse::<AllowedOrigins>(), Ok(AllowedOrigins::Any));
        assert_eq!("*".parse::<AllowedOrigins>(), Ok(AllowedOrigins::Any));
        let list: AllowedOrigins = "https://app.example, http://localhost:*"
            .parse()
            .expect("list");
        assert!(list.allows("https://app.example"));
        assert!(list.allows("http://localhost:8000"));
        assert!(!list.allows("http://app.example"));
        assert!(!""
            .parse::<AllowedOrigins>()
            .expect("empty")
            .allows("http://localhost"));
        assert!("localhost:3000".parse::<AllowedOrigins>().is_err());
        assert!("http://".parse::<AllowedOrigins>().is_err());
        assert!("http://a.example/path".parse::<AllowedOrigins>().is_err());
    }

    #[test]
    fn a_budget_allows_its_calls_per_minute_then_refuses() {
        let mut budget = Budget::full(NonZeroU32::new(5).expect("non-zero"));
        let start = budget.refilled_at;
        assert_eq!((0..10).filter(|_| budget.spend(start)).count(), 5);
        // 5 a minute is one every 12 seconds.
        assert!(!budget.spend(start + Duration::from_secs(11)));
        assert!(budget.spend(start + Duration::from_secs(12)));
        assert!(!budget.spend(start + Duration::from_secs(12)));
        // Idle time refills the bucket, never beyond its size.
        let later = start + Duration::from_secs(600);
        assert_eq!((0..10).filter(|_| budget.spend(later)).count(), 5);
    }
}
