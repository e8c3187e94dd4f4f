//! Caching for AI agents' tool calls: results keyed by the tool and its canonical arguments,
//! invalidated by resource, scoped globally or per session, with loop detection. This is
//! async-cache's agent cache (`@AgentCache`, `@AgentCacheInvalidator`,
//! `AgentCacheSession`), with its undocumented rules written down.
//!
//! A [`ToolCache`] holds a [`ToolPolicy`] per tool:
//! - **One key per call:** the tool's name plus its arguments in [canonical
//!   form](canonical_args): any `Serialize` value, whose object key order, whitespace and
//!   number spelling (`1` and `1.0`) don't change the key.
//! - **Cached or not:** a read-only tool is [`cached`](ToolPolicy::cached) for a TTL; a
//!   [`mutating`](ToolPolicy::mutating) tool never is, and before each call (even one that
//!   fails) it invalidates the [resources](Resource) it names, in every scope and, over a
//!   tiered backing, on every instance. Failures are cached only with a
//!   [negative TTL](ToolPolicy::negative_ttl).
//! - **Single-flight:** concurrent identical calls (two sub-agents asking the same thing)
//!   run the tool once.
//! - **Scope:** [`Scope::Global`] results are shared by every caller; [`Scope::Session`]
//!   results only within one [`Session`], and removed when it ends.
//! - **Loops:** calls through a session are checked against [`LoopLimits`] (the same call
//!   repeated, a cycle of calls, too many calls), and a caught call is raised, logged or
//!   short-circuited ([`LoopAction`]). The rules are exact; see [`LoopLimits`].
//! - **Stats** per tool ([`ToolStats`]), including the time the hits saved.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use larder::agent::{ToolCache, ToolPolicy};
//! use serde_json::{Value, json};
//! use std::time::Duration;
//!
//! let tools: ToolCache<Value> = ToolCache::builder()
//!     .tool("read_cart", ToolPolicy::cached(Duration::from_secs(60)).depends_on("cart:{user_id}"))
//!     .tool("add_to_cart", ToolPolicy::mutating().invalidates("cart:{user_id}"))
//!     .build();
//! let session = tools.session("agent-a");
//! let cart = json!({"user_id": 7});
//! let before = session.call("read_cart", &cart, || async { Ok::<_, String>(json!([])) }).await.unwrap();
//! assert_eq!(before, json!([]));
//! // The write invalidates cart:7 before it runs...
//! session
//!     .call("add_to_cart", &json!({"user_id": 7, "item": "pen"}), || async { Ok::<_, String>(json!("ok")) })
//!     .await
//!     .unwrap();
//! // ...so the next read runs the tool again.
//! let after = session.call("read_cart", &cart, || async { Ok::<_, String>(json!(["pen"])) }).await.unwrap();
//! assert_eq!(after, json!(["pen"]));
//! assert_eq!(tools.stats()["read_cart"].misses, 2);
//! # }
//! ```

mod backing;
mod cache;
mod call;
mod canonical;
mod error;
mod key;
mod loops;
#[cfg(feature = "mcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "mcp")))]
pub mod mcp;
mod node;
mod policy;
mod session;
mod stats;

pub use backing::{ToolBacking, ToolEntry};
pub use cache::{LocalBacking, ToolCache, ToolCacheBuilder};
pub use canonical::canonical_args;
pub use error::ToolError;
pub use key::ToolKey;
pub use loops::{LoopAction, LoopDetected, LoopKind, LoopLimits};
pub use policy::{Resource, Scope, ToolPolicy};
pub use session::Session;
pub use stats::ToolStats;
