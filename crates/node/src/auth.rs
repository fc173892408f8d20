//! Who may use the HTTP API: member tokens, roles and rate limits, as one middleware around the
//! whole router.
//!
//! Every request under `/v1` carries `Authorization: Bearer <token>`, an
//! [`ApiToken`](tally_identity::ApiToken) a member signed for itself. The middleware finds the
//! chain the route belongs to (the home chain for `/v1/...`, the named one for
//! `/v1/chains/{id}/...`), checks the token against it and the node's clock, looks the member
//! up in that chain's committed state (active, not revoked, certificate valid now), applies the
//! role table ([`Access`]) and the member's rate limit, and only then lets the request reach its
//! handler. Handlers know nothing of this.
//!
//! Open without a token: [`OPEN_PATHS`] (the discovery document `/v1/identity` lists chain ids
//! only, so a client can mint a token; the OpenAPI document) and everything outside `/v1`
//! (metrics, the dashboard's static files, which ask for a token themselves).
//!
//! Rate limits are token buckets. Per client IP, before any signature is checked: every request
//! whose token has not been verified before (a new token, or a forged one) or that is refused
//! takes one, so a flood of bad tokens cannot spend the node's CPU on signature checks. Per member,
//! after authentication: every request takes one. A verified token is remembered (up to
//! [`VERIFIED_TOKENS_MAX`]), so a client that keeps its token pays for one signature check.
//!
//! Invariant: no request under `/v1` other than [`OPEN_PATHS`] reaches a handler without a
//! token whose signature verified for a member the route's chain (or, for block headers, the
//! hosted consortium chain) has active now.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json, Router,
};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use tally_chain::TxError;
use tally_consensus::ChainHandle;
use tally_identity::{ApiToken, PublicKey, SecretKey, TokenError};
use tally_ledger::Role;

use crate::api::ApiError;
use crate::config::ApiConfig;

/// Paths under `/v1` served without a token: the discovery document a client needs to mint
/// one, and the API's description.
pub const OPEN_PATHS: [&str; 2] = ["/v1/identity", "/v1/openapi.json"];

/// Requests per second a member may make by default: far above what a person or a command
/// needs (an import sends a few batches per second), low enough that one member cannot take
/// the node from the others.
pub const MEMBER_REQUESTS_PER_SECOND_DEFAULT: u32 = 500;

/// Requests a member may make at once by default, above its steady rate: a dashboard opening
/// or an export paging through the books.
pub const MEMBER_BURST_DEFAULT: u32 = 1_000;

/// Requests per second one client IP may make by default that need a signature check or are
/// refused: decoding and checking a token costs about 0.14 ms of CPU (debug build, this
/// machine), so this bounds what a flood of forged tokens can cost the node to a few percent of
/// a core, while a command needs one per token it mints.
pub const IP_REQUESTS_PER_SECOND_DEFAULT: u32 = 100;

/// Such requests one IP may make at once by default (many commands started together).
pub const IP_BURST_DEFAULT: u32 = 200;

/// Most verified tokens remembered. Each is a few hundred bytes; past the bound the expired
/// ones are dropped, and if none are, all are (clients then pay one more signature check).
pub const VERIFIED_TOKENS_MAX: usize = 10_000;

/// Tracked members or IPs past which a rate limiter forgets the ones whose buckets are full
/// again, so a scan from many addresses cannot grow the node's memory without bound.
pub const LIMITER_KEYS_MAX: usize = 100_000;

/// How long a token minted by [`mint`] for a command is valid: long enough for a slow import,
/// short enough that a leaked copy is soon worthless.
pub const COMMAND_TOKEN_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// The message of a request without a token.
pub const MISSING_TOKEN: &str =
    "missing Authorization: Bearer <token> header; create one with 'tally token --key FILE'";

/// `GET /v1/identity`: the chains this node hosts, to mint a token for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct IdentityJson {
    /// The home chain, served at `/v1/...`.
    pub home: String,
    /// Every hosted chain, the home chain first.
    pub chains: Vec<String>,
}

/// What a route asks of a token, by path and method. This is the role table: every active
/// member of the route's chain may use every endpoint, except those listed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No token: [`OPEN_PATHS`] and everything outside `/v1`.
    Open,
    /// Any active member of the chain.
    Member,
    /// The access log (`GET .../reads`): members with one of [`ACCESS_LOG_ROLES`].
    AccessLog,
    /// Block headers and consistency proofs: any member of the chain, or of the consortium
    /// chain when this node hosts it (partners check their anchors against these).
    Headers,
    /// `GET /v1/chains`: a member of any chain the node hosts.
    AnyChain,
}

/// The roles that may read the access log: who read which sealed field is for whoever runs
/// the system and for auditors.
pub const ACCESS_LOG_ROLES: [Role; 2] = [Role::Admin, Role::Auditor];

/// Where a request goes: the chain it addresses (`None` for `/v1/chains` and open paths) and
/// what it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub chain: Option<String>,
    pub access: Access,
    /// Whether the request only reads (GET or HEAD).
    pub read: bool,
}

/// Classifies a request by method and path; `home` is the node's home chain.
pub fn route_of(method: &Method, path: &str, home: &str) -> Route {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let open = Route {
        chain: None,
        access: Access::Open,
        read,
    };
    let Some(rest) = path.strip_prefix("/v1") else {
        return open;
    };
    if OPEN_PATHS.contains(&path) || !(rest.is_empty() || rest.starts_with('/')) {
        return open;
    }
    if rest == "/chains" || rest == "/chains/" {
        return Route {
            chain: None,
            access: Access::AnyChain,
            read,
        };
    }
    let (chain, endpoint) = match rest.strip_prefix("/chains/") {
        Some(named) => match named.split_once('/') {
            Some((chain, endpoint)) => (chain, endpoint),
            None => (named, ""),
        },
        None => (home, rest.trim_start_matches('/')),
    };
    // HEAD runs the GET handler (without sending the body): the same rules apply.
    let access = if read && (endpoint == "reads" || endpoint == "reads/") {
        Access::AccessLog
    } else if read && (endpoint.starts_with("blocks/") || endpoint == "proofs/consistency") {
        Access::Headers
    } else {
        Access::Member
    };
    Route {
        chain: Some(chain.to_owned()),
        access,
        read,
    }
}

/// The authenticated caller, put into the request's extensions for handlers that care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The chain whose member it is (the token's chain).
    pub chain: String,
    pub member: PublicKey,
    pub role: Role,
}

/// The middleware's state: the hosted chains, the verified tokens and the rate limiters.
pub struct Auth {
    chains: Vec<ChainHandle>,
    /// Verified tokens by their text: the signature and form need no second check.
    verified: Mutex<HashMap<String, ApiToken>>,
    members: DefaultKeyedRateLimiter<PublicKey>,
    ips: DefaultKeyedRateLimiter<IpAddr>,
}

impl Auth {
    pub fn new(chains: Vec<ChainHandle>, config: &ApiConfig) -> Auth {
        Auth {
            chains,
            verified: Mutex::new(HashMap::new()),
            members: RateLimiter::keyed(
                Quota::per_second(config.member_requests_per_second)
                    .allow_burst(config.member_burst),
            ),
            ips: RateLimiter::keyed(
                Quota::per_second(config.ip_requests_per_second).allow_burst(config.ip_burst),
            ),
        }
    }

    fn chain(&self, id: &str) -> Option<&ChainHandle> {
        self.chains.iter().find(|chain| chain.chain_id() == id)
    }

    fn consortium(&self) -> Option<&ChainHandle> {
        self.chains
            .iter()
            .find(|chain| chain.genesis().consortium.is_some())
    }

    /// The chains whose members `route` accepts, the route's own chain first.
    fn accepted_chains(&self, route: &Route) -> Vec<String> {
        match (&route.chain, route.access) {
            (_, Access::AnyChain) => self
                .chains
                .iter()
                .map(|chain| chain.chain_id().to_owned())
                .collect(),
            (Some(chain), Access::Headers) => {
                let mut accepted = vec![chain.clone()];
                if let Some(consortium) = self.consortium() {
                    if consortium.chain_id() != chain {
                        accepted.push(consortium.chain_id().to_owned());
                    }
                }
                accepted
            }
            // This node's enterprise holds the whole consortium chain already (it validates it):
            // its private chain's members may read that copy here, e.g. to follow their trades.
            // Writing still takes a consortium member's token (and signature).
            (Some(chain), _)
                if route.read
                    && self
                        .consortium()
                        .is_some_and(|consortium| consortium.chain_id() == chain) =>
            {
                let mut accepted = vec![chain.clone()];
                accepted.extend(
                    self.chains
                        .iter()
                        .map(|hosted| hosted.chain_id().to_owned())
                        .filter(|hosted| hosted != chain),
                );
                accepted
            }
            (Some(chain), _) => vec![chain.clone()],
            (None, _) => Vec::new(),
        }
    }

    /// Takes one request from `ip`'s bucket, or says when to come back.
    fn charge_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.ips.len() > LIMITER_KEYS_MAX {
            self.ips.retain_recent();
        }
        self.ips.check_key(&ip).map_err(|not_until| {
            Refusal::RateLimited(not_until.wait_time_from(self.ips.clock().now()))
        })
    }

    fn charge_member(&self, member: &PublicKey) -> Result<(), Refusal> {
        if self.members.len() > LIMITER_KEYS_MAX {
            self.members.retain_recent();
        }
        self.members.check_key(member).map_err(|not_until| {
            Refusal::RateLimited(not_until.wait_time_from(self.members.clock().now()))
        })
    }

    /// Everything but the member's rate limit: the token's form, signature, chain and window,
    /// and the member's standing and role. `ip` pays once for a request whose token needs a
    /// signature check (before it) or that is refused.
    fn authenticate(
        &self,
        route: &Route,
        authorization: Option<&HeaderValue>,
        ip: IpAddr,
        now_ms: u64,
    ) -> Result<Caller, Refusal> {
        let mut charged = false;
        let result = self.identify(route, authorization, ip, now_ms, &mut charged);
        if matches!(
            result,
            Err(Refusal::Unauthenticated(_) | Refusal::NotAllowed(_))
        ) && !charged
        {
            self.charge_ip(ip)?;
        }
        result
    }

    /// [`Auth::authenticate`] without the charge for a refusal; sets `charged` when it took
    /// from `ip`'s bucket.
    fn identify(
        &self,
        route: &Route,
        authorization: Option<&HeaderValue>,
        ip: IpAddr,
        now_ms: u64,
        charged: &mut bool,
    ) -> Result<Caller, Refusal> {
        let text = bearer(authorization)?;
        let known = self.verified_token(text);
        let token = match &known {
            Some(token) => token.clone(),
            None => {
                *charged = true;
                self.charge_ip(ip)?;
                ApiToken::decode(text).map_err(Refusal::token)?
            }
        };
        let accepted = self.accepted_chains(route);
        if !accepted.contains(&token.chain) {
            return Err(match (&route.chain, route.access) {
                (Some(chain), _) => Refusal::token(TokenError::WrongChain {
                    token: token.chain.clone(),
                    expected: chain.clone(),
                }),
                (None, _) => Refusal::Unauthenticated(format!(
                    "token is for chain '{}', which this node does not host (it hosts {})",
                    token.chain,
                    quoted(&accepted)
                )),
            });
        }
        if known.is_some() {
            token.check_time(now_ms).map_err(Refusal::token)?;
        } else {
            token.check(&token.chain, now_ms).map_err(Refusal::token)?;
        }
        let chain = self.chain(&token.chain).ok_or_else(|| {
            Refusal::Unauthenticated(format!("chain '{}' is not hosted here", token.chain))
        })?;
        let role = chain
            .state()
            .authorise(&token.member, now_ms)
            .map_err(|error| Refusal::Unauthenticated(standing(&error, &token)))?;
        // Remembered only once the member is known to be active: a stranger's well-signed
        // tokens never take room from members'.
        if known.is_none() {
            self.remember(text, &token, now_ms);
        }
        if route.access == Access::AccessLog && !ACCESS_LOG_ROLES.contains(&role) {
            return Err(Refusal::NotAllowed(format!(
                "the access log is for the admin and auditor roles; member {} is {}",
                token.member,
                role.as_str()
            )));
        }
        Ok(Caller {
            chain: token.chain,
            member: token.member,
            role,
        })
    }

    fn verified_token(&self, text: &str) -> Option<ApiToken> {
        let verified = self
            .verified
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        verified.get(text).cloned()
    }

    fn remember(&self, text: &str, token: &ApiToken, now_ms: u64) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if verified.len() >= VERIFIED_TOKENS_MAX {
            verified.retain(|_, token| token.expires_ms >= now_ms);
            if verified.len() >= VERIFIED_TOKENS_MAX {
                verified.clear();
            }
        }
        verified.insert(text.to_owned(), token.clone());
    }
}

/// Why a request was refused, before its handler.
#[derive(Debug)]
enum Refusal {
    /// `401 unauthenticated`, with `WWW-Authenticate: Bearer`.
    Unauthenticated(String),
    /// `403 not_allowed`: the member's role may not use the endpoint.
    NotAllowed(String),
    /// `429 rate_limited`, with `Retry-After` in whole seconds.
    RateLimited(Duration),
}

impl Refusal {
    fn token(error: TokenError) -> Refusal {
        Refusal::Unauthenticated(error.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthenticated(message) => (
                [(header::WWW_AUTHENTICATE, "Bearer")],
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message),
            )
                .into_response(),
            Refusal::NotAllowed(message) => {
                ApiError::new(StatusCode::FORBIDDEN, "not_allowed", message).into_response()
            }
            Refusal::RateLimited(wait) => {
                // Whole seconds, rounded up: a client that waits that long finds a token.
                let seconds = wait.as_millis().div_ceil(1000).max(1);
                (
                    [(header::RETRY_AFTER, seconds.to_string())],
                    ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!("too many requests; retry after {seconds} s"),
                    ),
                )
                    .into_response()
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(header: Option<&HeaderValue>) -> Result<&str, Refusal> {
    let header = header.ok_or_else(|| Refusal::Unauthenticated(MISSING_TOKEN.to_owned()))?;
    let text = header
        .to_str()
        .map_err(|_| Refusal::Unauthenticated("Authorization header is not text".to_owned()))?;
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::Unauthenticated(format!(
            "Authorization header uses the scheme '{scheme}'; send 'Bearer <token>' (create one with 'tally token --key FILE')"
        )));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Refusal::Unauthenticated(MISSING_TOKEN.to_owned()));
    }
    Ok(token)
}

/// Why a member may not act on its chain now, for the 401 message.
fn standing(error: &TxError, token: &ApiToken) -> String {
    let (member, chain) = (&token.member, &token.chain);
    match error {
        TxError::UnknownSigner { .. } => format!("{member} is not a member of chain '{chain}'"),
        TxError::SignerRevoked { .. } => format!("member {member} was revoked on chain '{chain}'"),
        TxError::CertificateExpired { .. } => {
            format!("the certificate of member {member} on chain '{chain}' does not cover the present time")
        }
        other => format!("member {member} may not act on chain '{chain}': {other}"),
    }
}

fn quoted(chains: &[String]) -> String {
    chains
        .iter()
        .map(|chain| format!("'{chain}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The node's clock in milliseconds since the Unix epoch. Reading the wall clock is the API
/// edge's business: a token's window is about real time, not about block times.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// The middleware: refuses, or passes the request on with its [`Caller`].
pub async fn authenticate(
    State(auth): State<Arc<Auth>>,
    mut request: Request,
    next: Next,
) -> Response {
    let home = auth.chains.first().map_or("", |chain| chain.chain_id());
    let route = route_of(request.method(), request.uri().path(), home);
    if route.access == Access::Open {
        return next.run(request).await;
    }
    // A named chain the node does not host: the router answers 404, nothing is served.
    if let Some(chain) = &route.chain {
        if auth.chain(chain).is_none() {
            return next.run(request).await;
        }
    }
    // Requests that reach the router without a socket (in-process tests) share one bucket.
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let caller = auth
        .authenticate(
            &route,
            request.headers().get(header::AUTHORIZATION),
            ip,
            now_ms(),
        )
        .and_then(|caller| auth.charge_member(&caller.member).map(|()| caller));
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refusal) => refusal.into_response(),
    }
}

/// Puts the whole router behind [`authenticate`].
pub fn protect(router: Router, chains: &[ChainHandle], config: &ApiConfig) -> Router {
    let auth = Arc::new(Auth::new(chains.to_vec(), config));
    router.layer(axum::middleware::from_fn_with_state(auth, authenticate))
}

/// The chains this node hosts, to mint a member token for.
///
/// Open: a client needs a chain id before it can sign a token, and the ids are all it says.
#[utoipa::path(
    get,
    path = "/v1/identity",
    tag = "chain",
    operation_id = "identity",
    responses(
        (status = 200, description = "The home chain and every hosted chain's id.",
             body = IdentityJson),
    ),
)]
pub(crate) async fn identity(State(chains): State<Vec<ChainHandle>>) -> Json<IdentityJson> {
    Json(IdentityJson {
        home: chains
            .first()
            .map_or_else(String::new, |chain| chain.chain_id().to_owned()),
        chains: chains
            .iter()
            .map(|chain| chain.chain_id().to_owned())
            .collect(),
    })
}

/// A token for `chain_id` signed by `key`, valid from now for `lifetime_ms`, as text for an
/// `Authorization: Bearer` header. Clients (the CLI, tests) call it; the node never signs one.
pub fn mint(key: &SecretKey, chain_id: &str, lifetime_ms: u64) -> Result<String, TokenError> {
    let now = now_ms();
    ApiToken::issue(key, chain_id, now, now.saturating_add(lifetime_ms))
        .map(|token| token.encode())
        .map_err(|error| TokenError::Malformed {
            reason: error.to_string(),
        })
}

/// A rate of at least one, from a configured number (`NonZeroU32` in the config already
/// refuses zero; this keeps the defaults' constants plain numbers).
pub(crate) fn non_zero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified() {
        let get = Method::GET;
        let home = "books";
        let route = |method: &Method, path: &str| route_of(method, path, home);
        assert_eq!(route(&get, "/v1/identity").access, Access::Open);
        assert_eq!(route(&get, "/v1/openapi.json").access, Access::Open);
        assert_eq!(route(&get, "/metrics").access, Access::Open);
        assert_eq!(route(&get, "/dashboard/app.js").access, Access::Open);
        assert_eq!(route(&get, "/v1x/status").access, Access::Open);
        assert_eq!(route(&get, "/v1/chains").access, Access::AnyChain);
        assert_eq!(
            route(&get, "/v1/status"),
            Route {
                chain: Some("books".into()),
                access: Access::Member,
                read: true,
            }
        );
        assert_eq!(route(&get, "/v1").access, Access::Member);
        assert_eq!(route(&get, "/v1/reads").access, Access::AccessLog);
        assert_eq!(route(&Method::POST, "/v1/reads").access, Access::Member);
        assert!(!route(&Method::POST, "/v1/transactions").read);
        assert_eq!(route(&Method::HEAD, "/v1/reads").access, Access::AccessLog);
        assert_eq!(
            route(&get, "/v1/chains/consortium/reads"),
            Route {
                chain: Some("consortium".into()),
                access: Access::AccessLog,
                read: true,
            }
        );
        assert_eq!(route(&get, "/v1/blocks/3").access, Access::Headers);
        assert_eq!(
            route(&get, "/v1/chains/other/proofs/consistency").access,
            Access::Headers
        );
        assert_eq!(
            route(&get, "/v1/chains/other/proofs/entries/x").access,
            Access::Member
        );
        assert_eq!(
            route(&get, "/v1/chains/other"),
            Route {
                chain: Some("other".into()),
                access: Access::Member,
                read: true,
            }
        );
    }
}
