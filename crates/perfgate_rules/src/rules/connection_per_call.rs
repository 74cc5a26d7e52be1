//! `connection-per-call`: a client, session, pool or connection built per call instead of
//! once and reused.

use super::per_call::{self, Wording};
use crate::{Checker, RuleMeta};
use perfgate_catalog::Kind;
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "connection-per-call",
    category: Category::Io,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "a client, session, pool or connection built per call instead of once and reused",
    doc: r#"## What it does
Finds HTTP clients, sessions, database connections and pools, Redis clients, gRPC channels
and WebSocket connections (`reqwest::Client::new()`, `TcpStream::connect`,
`aiohttp.ClientSession()`, `requests.get` without a `Session`, `redis.Redis()`,
`asyncpg.create_pool`, ...) created in a function that runs per request or per task and
dropped when it returns. It follows helpers that build and return a client
(`make_client()` called from a handler is reported at the handler, with the chain). A call
that makes its request itself (`requests.get(url)`) drops its session before it returns:
it is reported where it is made, whatever becomes of the response.

Not reported: clients built in constructors (`__init__`, `new`, `default`, a builder's
`build`, the synchronous methods of a type named `*Loader`), in `main` or other start-up
code (functions reached only from entry points), stored on `self` or in a global, returned
to the caller (also through an adaptor or inside what is returned: `make().map_err(..)`,
`Output { client: Arc::new(make()?) }`; or passed into a value that is returned or kept:
`factory = sessionmaker(bind=engine); return factory`, `self.api = Api(client)`; or as the
output of a returned future, as a connector service's `call` hands back
`Box::pin(async move { .. Ok((io, addr)) })`), or created inside a
`OnceLock`/`LazyLock`/`lazy_static` initialiser, a cache's `get_with(key, init)` or a
memoized (`@lru_cache`) function. A client created inside a hot loop is reported by
`alloc-in-loop` instead. A socket or WebSocket (`TcpStream::connect`, `connect_async`,
`asyncio.open_connection`, `websockets.connect`) is the session itself where the function
serves it: it loops over the connection, relays it (`copy_bidirectional`) or awaits a
project function that loops (a proxy tunnel, a subscriber); one connection per call is then
the design. The same socket opened for one request and reply is reported. Nor are
connectivity probes, whose names say so (`is_endpoint_reachable`, `tcp_latency`,
`health_check`, `can_connect`): a probe opens a fresh connection on purpose.

## Why is this bad?
A client owns a connection pool. Building one per call throws away every pooled
connection, so each request pays DNS, TCP and TLS handshakes again (tens to hundreds of
milliseconds), and under load the process exhausts sockets and file descriptors.
`requests.get(...)` builds and discards a `Session` on every call for the same reason.

## Example
```python
async def fetch_profile(user_id):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{API}/users/{user_id}") as r:
            return await r.json()
```

## Use instead
```python
class ProfileClient:
    def __init__(self):
        self.session = aiohttp.ClientSession()

    async def fetch_profile(self, user_id):
        async with self.session.get(f"{API}/users/{user_id}") as r:
            return await r.json()
```
In Rust, build one `reqwest::Client` at start-up and clone it (it is an `Arc` inside), or
keep it in a `static CLIENT: LazyLock<Client>`.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        per_call::check(
            cx,
            &META,
            &[Kind::Connection],
            |a, cid, info| {
                if probes_connectivity(&a.func(cid.func).name) {
                    return None;
                }
                info.api_of(Kind::Connection)
            },
            &Wording {
                what: "a new client or connection",
                impact: "every call pays connection set-up (DNS, TCP and TLS handshakes) and loses pooled connections; under load sockets and file descriptors run out",
                fix: "create the client once (in the constructor, at start-up, or in a `OnceLock`/module-level singleton) and reuse it",
                skip_loops: true,
                same_input_only: false,
                sessions: true,
                kind: Kind::Connection,
            },
            out,
        );
    }
}

/// Does the function's name say it probes a peer (`is_endpoint_reachable`, `tcp_latency`,
/// `health_check`)? A probe opens a fresh connection on purpose: a pooled one would report
/// the pool's state, not the peer's. (`ping` is not one: it is as often a request to a
/// server the code talks to anyway, over a connection it should keep.)
fn probes_connectivity(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "reachable",
        "latency",
        "probe",
        "health",
        "alive",
        "connectivity",
        "can_connect",
    ]
    .iter()
    .any(|w| name.contains(w))
}
