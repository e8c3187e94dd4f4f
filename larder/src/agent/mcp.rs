//! [`CachedServer`]: caching for an existing Model Context Protocol tool server built on the
//! official SDK ([`rmcp`]), without rewriting its tools.
//!
//! Wrap the server's [`ServerHandler`] and serve the wrapper instead. Every request goes to
//! the wrapped server unchanged, except `tools/call`, which goes through a
//! [`ToolCache<CallToolResult>`](super::ToolCache): the tool's name and its `arguments` (a
//! JSON object; none is the same call as `{}`) are the call, and the policies are the tool
//! cache's ([`ToolCacheBuilder::tool`](super::ToolCacheBuilder::tool)).
//!
//! # Sessions: one per connection
//!
//! rmcp serves each connection with its own handler value: `serve_server` (stdio, a socket,
//! a pipe) takes one, and the streamable HTTP server makes one per MCP session with its
//! factory. So a `CachedServer` is one client's [`Session`]: [`new`](CachedServer::new)
//! opens a session with a fresh random id (or [`with_session`](CachedServer::with_session)
//! takes yours), loop detection watches that client's calls alone, its
//! [session-scoped](super::Scope::Session) results are its own, and they are removed when
//! rmcp drops the handler, which it does when the connection ends (once the
//! `RunningService` has finished and been dropped). Global results are shared by every
//! client of one [`ToolCache`].
//!
//! rmcp gives a handler no way to tell its peers apart, so one `CachedServer` shared by
//! several connections (behind an `Arc`, say) is one session for all of them: make one per
//! connection.
//!
//! # What is cached, and what a failure is
//!
//! - A result ([`CallToolResult`]) without `isError: true` is the tool's success: cached by
//!   the tool's policy.
//! - A result with `isError: true` is the tool's failure: it goes back to the client as it
//!   is and, like any failure, is cached only within the tool's
//!   [negative TTL](super::ToolPolicy::negative_ttl); calls within it get that same result.
//! - A protocol error ([`ErrorData`]: an unknown tool, bad parameters, a server fault) is
//!   about the request or the server, not the tool's answer: never cached, not even with a
//!   negative TTL, so a server that recovers is asked again.
//! - An answer that is not a result yet (input required, or a task: newer protocol
//!   versions) is passed through, never cached; the client's follow-up request (it carries
//!   `inputResponses` or `requestState`) goes straight to the server, after the
//!   invalidations the tool's policy names.
//!
//! # Loops on the wire
//!
//! A call caught by loop detection, under [`LoopAction::Raise`](super::LoopAction::Raise)
//! or [`ShortCircuit`](super::LoopAction::ShortCircuit) with nothing cached, is answered
//! with a **tool error result** (`isError: true`), not a protocol error: its text says what
//! loop was caught and that the tool did not run, and its `_meta` holds
//! `"larder/loop": {"kind", "period", "tool", "count"}` for programs. The MCP spec puts
//! tool failures in the result so that the model reads them and corrects itself; clients
//! render protocol errors opaquely or treat them as fatal, and some retry them, which is the
//! loop again. A looping agent needs to read "stop repeating this".
//! [`ShortCircuit`](super::LoopAction::ShortCircuit) with a cached result answers with that
//! result; [`Warn`](super::LoopAction::Warn) lets the call run.
//!
//! # Limits
//!
//! - rmcp's `local` feature (handlers that are not `Send`) is not supported.
//! - A hit does not run the server's own argument checks: the identical call passed them
//!   when it ran (calls whose numbers differ only in form, `1` and `1.0`, are identical).
//! - Each `ServerHandler` method of rmcp 3.11 is forwarded; one added by a later 3.x
//!   release would get rmcp's default in the wrapper until larder forwards it.
//!
//! # Examples
//!
//! A tool server, cached, with a real client over an in-process pipe:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use larder::agent::mcp::CachedServer;
//! use larder::agent::{ToolCache, ToolPolicy};
//! use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock};
//! use rmcp::model::{ServerCapabilities, ServerConfig};
//! use rmcp::service::RequestContext;
//! use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! /// An existing server with one slow tool.
//! #[derive(Default)]
//! struct Weather {
//!     runs: Arc<AtomicUsize>,
//! }
//!
//! impl ServerHandler for Weather {
//!     fn get_info(&self) -> ServerConfig {
//!         ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
//!     }
//!
//!     async fn call_tool(
//!         &self,
//!         request: CallToolRequestParams,
//!         _: RequestContext<RoleServer>,
//!     ) -> Result<CallToolResponse, ErrorData> {
//!         self.runs.fetch_add(1, Ordering::SeqCst);
//!         let city = request.arguments.and_then(|a| a.get("city").cloned()).unwrap_or_default();
//!         Ok(CallToolResult::success(vec![ContentBlock::text(format!("4°C in {city}"))]).into())
//!     }
//! }
//!
//! let tools: ToolCache<CallToolResult> = ToolCache::builder()
//!     .tool("forecast", ToolPolicy::cached(Duration::from_secs(600)))
//!     .build();
//! let weather = Weather::default();
//! let runs = Arc::clone(&weather.runs);
//!
//! let (server_end, client_end) = tokio::io::duplex(64 * 1024);
//! let server = tokio::spawn(CachedServer::new(weather, &tools).serve(server_end));
//! let client = ().serve(client_end).await.unwrap();
//! for _ in 0..3 {
//!     let args = serde_json::json!({"city": "Oslo"});
//!     let call = CallToolRequestParams::new("forecast").with_arguments(args.as_object().unwrap().clone());
//!     client.call_tool(call).await.unwrap();
//! }
//! assert_eq!(runs.load(Ordering::SeqCst), 1); // two hits
//! assert_eq!(tools.stats()["forecast"].hits, 2);
//! client.cancel().await.unwrap();
//! server.await.unwrap().unwrap().waiting().await.unwrap();
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;

#[allow(deprecated)] // logging (`logging/setLevel`) is a legacy method rmcp still serves
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    CancelledNotificationParam, CompleteRequestParams, CompleteResult, ContentBlock,
    CustomNotification, CustomRequest, CustomResult, DiscoverResult, GetPromptRequestParams,
    GetPromptResponse, GetSkillRequestParams, GetSkillResult, GetTaskParams, GetTaskResult,
    InitializeRequestParams, InitializeResult, JsonObject, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListSkillsResult, ListToolsResult,
    MetaObject, PaginatedRequestParams, ProgressNotificationParam, ProtocolVersion,
    ReadResourceDirectoryRequestParams, ReadResourceDirectoryResult, ReadResourceRequestParams,
    ReadResourceResponse, ServerConfig, SubscribeRequestParams, SubscriptionFilter, Tool,
    UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

use super::backing::ToolBacking;
use super::cache::{LocalBacking, ToolCache};
use super::error::ToolError;
use super::loops::{LoopDetected, LoopKind};
use super::session::Session;

/// An rmcp tool server with its `tools/call` requests cached by a [`ToolCache`]: every other
/// request goes to the wrapped server `S` unchanged. One per connection: it is that
/// client's [`Session`]. See the [module docs](self) for what is cached, the sessions and
/// the answer to a loop.
///
/// `B` is the tool cache's backing: in-process by default, or a
/// [`Tiered`](crate::tier::Tiered) cache shared by several server processes (`CallToolResult`
/// holds JSON values, so give the tier a self-describing codec such as
/// [`Json`](crate::codec::Json)). Over a tier, a write's invalidation reaches the store at
/// once, and the other processes' L1 copies as the tier's watch reports it (see
/// [`Tiered::invalidate_tag`](crate::tier::Tiered::invalidate_tag)).
///
/// # Examples
///
/// ```
/// use larder::agent::mcp::CachedServer;
/// use larder::agent::{ToolCache, ToolPolicy};
/// use rmcp::ServerHandler;
/// use rmcp::model::CallToolResult;
/// use std::time::Duration;
///
/// struct Files; // an existing tool server
/// impl ServerHandler for Files {}
///
/// let tools: ToolCache<CallToolResult> = ToolCache::builder()
///     .tool("read_file", ToolPolicy::cached(Duration::from_secs(30)).depends_on("file:{path}"))
///     .tool("write_file", ToolPolicy::mutating().invalidates("file:{path}"))
///     .build();
/// // Per connection: `CachedServer::new(Files, &tools).serve(transport)`.
/// let server = CachedServer::new(Files, &tools);
/// assert!(server.session().id().starts_with("mcp-"));
/// ```
pub struct CachedServer<S, B = LocalBacking<CallToolResult>> {
    inner: S,
    session: Session<CallToolResult, B>,
}

impl<S: fmt::Debug, B> fmt::Debug for CachedServer<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedServer")
            .field("inner", &self.inner)
            .field("session", &self.session)
            .finish()
    }
}

impl<S, B> CachedServer<S, B>
where
    S: ServerHandler,
    B: ToolBacking<CallToolResult>,
{
    /// Wraps `inner` for one connection, in a new session of `tools` with a fresh random id
    /// (`mcp-` and 32 hex digits). The session ends when the wrapper is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolCache;
    /// use larder::agent::mcp::CachedServer;
    /// use rmcp::ServerHandler;
    /// use rmcp::model::CallToolResult;
    ///
    /// struct Search;
    /// impl ServerHandler for Search {}
    ///
    /// let tools: ToolCache<CallToolResult> = ToolCache::builder().build();
    /// let (a, b) = (CachedServer::new(Search, &tools), CachedServer::new(Search, &tools));
    /// assert_ne!(a.session().id(), b.session().id());
    /// ```
    pub fn new(inner: S, tools: &ToolCache<CallToolResult, B>) -> Self {
        Self::with_session(inner, tools.session(fresh_id()))
    }

    /// Wraps `inner` for one connection, in `session`: for a session id of your own (the
    /// user's, or the transport's session id) or a [child](Session::child) of an agent's
    /// session.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolCache;
    /// use larder::agent::mcp::CachedServer;
    /// use rmcp::ServerHandler;
    /// use rmcp::model::CallToolResult;
    ///
    /// struct Search;
    /// impl ServerHandler for Search {}
    ///
    /// let tools: ToolCache<CallToolResult> = ToolCache::builder().build();
    /// let server = CachedServer::with_session(Search, tools.session("user-42"));
    /// assert_eq!(server.session().id(), "user-42");
    /// ```
    pub fn with_session(inner: S, session: Session<CallToolResult, B>) -> Self {
        Self { inner, session }
    }

    /// The wrapped server.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// This connection's session.
    pub fn session(&self) -> &Session<CallToolResult, B> {
        &self.session
    }

    /// A `tools/call` through the tool cache.
    async fn cached_call(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.take();
        if request.input_responses.is_some() || request.request_state.is_some() {
            // The follow-up of an answer that needed the client's input: its result depends on
            // that input, so it is not the cached call.
            let args = Value::Object(arguments.clone().unwrap_or_default());
            let again = self
                .session
                .tools()
                .invalidate_for(&request.name, &args)
                .await;
            request.arguments = arguments;
            let answer = self.inner.call_tool(request, context).await;
            again.finish().await;
            return answer;
        }
        let empty = JsonObject::new();
        let args = arguments.as_ref().unwrap_or(&empty);
        let name = request.name.clone();
        let (inner, arguments) = (&self.inner, &arguments);
        let run = || async move {
            request.arguments = arguments.clone();
            match inner.call_tool(request, context).await {
                Ok(CallToolResponse::Complete(result)) if result.is_error == Some(true) => {
                    Err(Failure::Tool(result))
                }
                Ok(CallToolResponse::Complete(result)) => Ok(result),
                Ok(other) => Err(Failure::Pending(other)),
                Err(error) => Err(Failure::Protocol(error)),
            }
        };
        let answer = self
            .session
            .call_keeping(&name, args, run, Failure::kept_as)
            .await;
        match answer {
            Ok(result) => Ok(result.into()),
            Err(ToolError::Tool(failure)) => {
                match Arc::try_unwrap(failure).unwrap_or_else(|shared| (*shared).clone()) {
                    Failure::Tool(result) => Ok(result.into()),
                    Failure::Pending(response) => Ok(response),
                    Failure::Protocol(error) => Err(error),
                }
            }
            Err(ToolError::CachedFailure { message, .. }) => {
                let result = serde_json::from_str::<CallToolResult>(&message)
                    .unwrap_or_else(|_| CallToolResult::error(vec![ContentBlock::text(message)]));
                Ok(result.into())
            }
            Err(ToolError::Loop(caught)) => Ok(loop_result(&caught, false).into()),
            Err(ToolError::ShortCircuited(caught)) => Ok(loop_result(&caught, true).into()),
            Err(ToolError::Cache(error)) => Err(ErrorData::internal_error(
                format!("larder tool cache: {error}"),
                None,
            )),
        }
    }
}

/// A session id no other connection has, in this process or another: 128 random bits from
/// std's randomly seeded hasher keys.
fn fresh_id() -> String {
    let draw = || RandomState::new().build_hasher().finish();
    format!("mcp-{:016x}{:016x}", draw(), draw())
}

/// Why a `tools/call` gave no result to cache.
#[derive(Debug, Clone)]
enum Failure {
    /// A result with `isError: true`: the tool's failure, cached within a negative TTL.
    Tool(CallToolResult),
    /// Not a result yet (input required, a task): passed through, never cached.
    Pending(CallToolResponse),
    /// A protocol error: never cached.
    Protocol(ErrorData),
}

impl Failure {
    /// What a failure is kept as within a negative TTL: a tool error result as its JSON,
    /// which the hits within it turn back into the same result.
    fn kept_as(&self) -> Option<String> {
        match self {
            Self::Tool(result) => serde_json::to_string(result).ok(),
            Self::Pending(_) | Self::Protocol(_) => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tool(result) => {
                let mut texts = result.content.iter().filter_map(|c| c.as_text());
                match texts.next() {
                    Some(first) => f.write_str(&first.text)?,
                    None => f.write_str("the tool answered with an error result")?,
                }
                for text in texts {
                    write!(f, "; {}", text.text)?;
                }
                Ok(())
            }
            Self::Pending(_) => f.write_str("the tool needs more input before it answers"),
            Self::Protocol(error) => write!(f, "{error}"),
        }
    }
}

/// The answer to a call that loop detection caught: a tool error result the model can read.
fn loop_result(caught: &LoopDetected, short_circuited: bool) -> CallToolResult {
    let advice = match caught.kind {
        LoopKind::Depth => "this session has made too many tool calls; finish with what you have",
        _ => "stop repeating it: use the results you already have, or try something else",
    };
    let text = if short_circuited {
        format!("{caught}. The tool was not run and no earlier result is cached; {advice}.")
    } else {
        format!("{caught}. The tool was not run; {advice}.")
    };
    let (kind, period) = match caught.kind {
        LoopKind::Repeat => ("repeat", None),
        LoopKind::Oscillation { period } => ("oscillation", Some(period)),
        LoopKind::Depth => ("depth", None),
    };
    let mut meta = JsonObject::new();
    meta.insert(
        "larder/loop".to_string(),
        json!({"kind": kind, "period": period, "tool": caught.tool, "count": caught.count}),
    );
    CallToolResult::error(vec![ContentBlock::text(text)]).with_meta(Some(MetaObject(meta)))
}

/// Everything but `tools/call` goes to the wrapped server.
#[allow(deprecated)] // `subscribe` and `unsubscribe` are legacy methods rmcp still serves
impl<S, B> ServerHandler for CachedServer<S, B>
where
    S: ServerHandler,
    B: ToolBacking<CallToolResult>,
{
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.cached_call(request, context).await
    }

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        self.inner.ping(context).await
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.inner.initialize(request, context).await
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, ErrorData> {
        self.inner.negotiate_initialize(request)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        self.inner.discover(context).await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.inner.complete(request, context).await
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.set_level(request, context).await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.inner.get_prompt(request, context).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.inner.list_prompts(request, context).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        self.inner.list_resources(request, context).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.inner.list_resource_templates(request, context).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.inner.read_resource(request, context).await
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.inner.accepted_subscription_filter(requested)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        self.inner.listen(context).await
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.subscribe(request, context).await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.unsubscribe(request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.inner.list_tools(request, context).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.get_tool(name)
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        self.inner.on_custom_request(request, context).await
    }

    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        context: NotificationContext<RoleServer>,
    ) {
        self.inner.on_cancelled(notification, context).await;
    }

    async fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        context: NotificationContext<RoleServer>,
    ) {
        self.inner.on_progress(notification, context).await;
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.inner.on_initialized(context).await;
    }

    async fn on_roots_list_changed(&self, context: NotificationContext<RoleServer>) {
        self.inner.on_roots_list_changed(context).await;
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) {
        self.inner
            .on_custom_notification(notification, context)
            .await;
    }

    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        self.inner.get_task(request, context).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.update_task(request, context).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.cancel_task(request, context).await
    }

    async fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, ErrorData> {
        self.inner.list_skills(request, context).await
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, ErrorData> {
        self.inner.get_skill(request, context).await
    }

    async fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceDirectoryResult, ErrorData> {
        self.inner.read_resource_directory(request, context).await
    }
}
