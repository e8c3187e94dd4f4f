//! [`ToolPolicy`]: how one tool's calls are cached, and [`Resource`]s, the names of what a
//! result depends on and what a mutating tool changes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::canonical::write_value;
use crate::{Error, ErrorKind, Tag};

/// Whose entries a cached tool's results are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scope {
    /// Shared by every caller and every session (and, over a tiered cache, every process).
    #[default]
    Global,
    /// Visible only through the [`Session`](super::Session) that made the call, and dropped
    /// when it ends.
    Session,
}

/// Resources computed from a call's arguments, for [`ToolPolicy::depends_on_with`] and
/// [`ToolPolicy::invalidates_with`]: `None` when the arguments don't say.
type Derive = Arc<dyn Fn(&Value) -> Option<Vec<String>> + Send + Sync>;

/// A resource: a fixed name (`"cart"`), a template filled from the call's arguments
/// (`"cart:{user_id}"`), or a function of the arguments.
///
/// A template's `{field}` is the argument of that name, and `{a.b}` the field `b` of the
/// argument `a`. A string argument is inserted as it is; any other value in its canonical
/// form (`7`, `true`, `[1,2]`). A template must start with literal text (its *base*, e.g.
/// `cart` for `cart:{user_id}`, without a trailing `:`): an entry that depends on a template
/// is tagged with the filled name and with the base, so invalidating the base (`"cart"`)
/// reaches every cart.
#[derive(Clone)]
pub struct Resource(ResourceKind);

#[derive(Clone)]
enum ResourceKind {
    Fixed(Box<str>),
    Template { base: Box<str>, parts: Box<[Part]> },
    Derived(Derive),
}

#[derive(Debug, Clone)]
enum Part {
    Text(Box<str>),
    Field(Box<[Box<str>]>),
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ResourceKind::Fixed(name) => f.debug_tuple("Resource").field(name).finish(),
            ResourceKind::Template { parts, .. } => f.debug_tuple("Resource").field(parts).finish(),
            ResourceKind::Derived(_) => f.write_str("Resource(<fn>)"),
        }
    }
}

/// What a resource names for one call.
pub(crate) enum Resolved {
    /// These names (a template's filled name and its base).
    Names(Vec<String>),
    /// The arguments lack a field the template needs; `base` is the template's base, the
    /// widest name it can mean.
    Unresolved { base: Option<String> },
}

impl Resource {
    /// Parses `spec`: a fixed name, or a template with `{field}`s.
    fn parse(spec: &str) -> Result<Self, Error> {
        if !spec.contains(['{', '}']) {
            if spec.is_empty() {
                return Err(config("a resource name is empty"));
            }
            return Ok(Self(ResourceKind::Fixed(spec.into())));
        }
        let mut parts = Vec::new();
        let mut rest = spec;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Text(rest.into()));
                    rest = "";
                }
                Some(at) if rest.as_bytes()[at] == b'}' => {
                    return Err(config(format!(
                        "the resource template {spec:?} has a '}}' without its '{{'"
                    )));
                }
                Some(at) => {
                    if at > 0 {
                        parts.push(Part::Text(rest[..at].into()));
                    }
                    let after = &rest[at + 1..];
                    let close = after.find('}').ok_or_else(|| {
                        config(format!(
                            "the resource template {spec:?} has an unclosed '{{'"
                        ))
                    })?;
                    let field = &after[..close];
                    if field.is_empty() || field.contains('{') {
                        return Err(config(format!(
                            "the resource template {spec:?} has an empty or nested field"
                        )));
                    }
                    let path: Box<[Box<str>]> = field.split('.').map(Into::into).collect();
                    if path.iter().any(|segment| segment.is_empty()) {
                        return Err(config(format!(
                            "the resource template {spec:?} has an empty path segment in {{{field}}}"
                        )));
                    }
                    parts.push(Part::Field(path));
                    rest = &after[close + 1..];
                }
            }
        }
        let base = match parts.first() {
            Some(Part::Text(text)) => text.trim_end_matches(':').to_string(),
            _ => String::new(),
        };
        if base.is_empty() {
            return Err(config(format!(
                "the resource template {spec:?} must start with a name (such as \"cart:{{user_id}}\")"
            )));
        }
        Ok(Self(ResourceKind::Template {
            base: base.into(),
            parts: parts.into(),
        }))
    }

    /// What this resource names for a call with `args`.
    pub(crate) fn resolve(&self, args: &Value) -> Resolved {
        match &self.0 {
            ResourceKind::Fixed(name) => Resolved::Names(vec![name.to_string()]),
            ResourceKind::Derived(derive) => match derive(args) {
                Some(names) => Resolved::Names(names),
                None => Resolved::Unresolved { base: None },
            },
            ResourceKind::Template { base, parts } => {
                let mut name = String::new();
                for part in parts.iter() {
                    match part {
                        Part::Text(text) => name.push_str(text),
                        Part::Field(path) => {
                            let found = path
                                .iter()
                                .try_fold(args, |value, segment| value.get(&**segment));
                            match found {
                                Some(Value::String(s)) => name.push_str(s),
                                Some(other) => write_value(other, &mut name),
                                None => {
                                    return Resolved::Unresolved {
                                        base: Some(base.to_string()),
                                    };
                                }
                            }
                        }
                    }
                }
                Resolved::Names(vec![name, base.to_string()])
            }
        }
    }
}

fn config(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

/// The tag an entry that depends on resource `name` carries.
pub(crate) fn resource_tag(name: &str) -> Tag {
    Tag::from(format!("larder.agent.resource:{name}"))
}

/// How one tool's calls are cached: whether at all, for how long, in which scope, what their
/// results depend on, and what the tool invalidates when it runs.
///
/// Three starting points: [`cached`](Self::cached) for a read-only tool,
/// [`mutating`](Self::mutating) for a tool that changes resources (never cached; it
/// invalidates them before it runs), and [`uncached`](Self::uncached) for a tool whose
/// results must not be reused (a clock, a random draw).
///
/// # Examples
///
/// ```
/// use larder::agent::{Scope, ToolPolicy};
/// use std::time::Duration;
///
/// let read_cart = ToolPolicy::cached(Duration::from_secs(60))
///     .depends_on("cart:{user_id}")
///     .scope(Scope::Session);
/// let add_to_cart = ToolPolicy::mutating().invalidates("cart:{user_id}");
/// assert!(read_cart.is_cacheable());
/// assert!(!add_to_cart.is_cacheable());
/// ```
#[derive(Debug, Clone)]
pub struct ToolPolicy {
    pub(crate) cacheable: bool,
    pub(crate) ttl: Option<Duration>,
    pub(crate) negative_ttl: Option<Duration>,
    pub(crate) scope: Scope,
    pub(crate) depends_on: Vec<Resource>,
    pub(crate) invalidates: Vec<Resource>,
    /// The first bad resource spec given, reported by the builder.
    pub(crate) error: Option<Error>,
}

impl ToolPolicy {
    fn base(cacheable: bool, ttl: Option<Duration>) -> Self {
        Self {
            cacheable,
            ttl,
            negative_ttl: None,
            scope: Scope::Global,
            depends_on: Vec::new(),
            invalidates: Vec::new(),
            error: None,
        }
    }

    /// A read-only tool whose results are cached for `ttl`.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    /// use std::time::Duration;
    ///
    /// let search = ToolPolicy::cached(Duration::from_secs(300)).depends_on("web");
    /// assert!(search.is_cacheable());
    /// ```
    pub fn cached(ttl: Duration) -> Self {
        Self::base(true, Some(ttl))
    }

    /// A read-only tool whose results are cached for the cache's own TTL (none, unless the
    /// backing cache has one).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    ///
    /// assert!(ToolPolicy::cached_default().is_cacheable());
    /// ```
    pub fn cached_default() -> Self {
        Self::base(true, None)
    }

    /// A tool that changes resources: never cached, and before each call (even one that then
    /// fails) every entry that depends on a resource from [`invalidates`](Self::invalidates)
    /// is removed, in every scope.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    ///
    /// let checkout = ToolPolicy::mutating().invalidates("cart:{user_id}").invalidates("orders");
    /// assert!(!checkout.is_cacheable());
    /// ```
    pub fn mutating() -> Self {
        Self::base(false, None)
    }

    /// A tool whose calls always run: not cached, invalidating nothing. Tools without a
    /// policy of their own get this one, unless the builder sets another
    /// [default](super::ToolCacheBuilder::default_policy).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    ///
    /// assert!(!ToolPolicy::uncached().is_cacheable());
    /// ```
    pub fn uncached() -> Self {
        Self::base(false, None)
    }

    /// Whether calls of the tool are cached.
    pub fn is_cacheable(&self) -> bool {
        self.cacheable
    }

    /// The scope of the cached results: [`Scope::Global`] (the default) or
    /// [`Scope::Session`].
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::{Scope, ToolPolicy};
    /// use std::time::Duration;
    ///
    /// let notes = ToolPolicy::cached(Duration::from_secs(60)).scope(Scope::Session);
    /// # let _ = notes;
    /// ```
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Caches the tool's failures too, for `ttl`: a call within it gets the first failure's
    /// message ([`ToolError::CachedFailure`](super::ToolError::CachedFailure)) without running
    /// the tool. Without it, failures are never cached.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    /// use std::time::Duration;
    ///
    /// let lookup = ToolPolicy::cached(Duration::from_secs(60)).negative_ttl(Duration::from_secs(5));
    /// # let _ = lookup;
    /// ```
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// A resource the tool's results depend on (see [`Resource`] for templates): a mutating
    /// tool that invalidates it removes them. A call whose arguments lack a template's field
    /// is not cached, since nothing could invalidate it.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    /// use std::time::Duration;
    ///
    /// let read = ToolPolicy::cached(Duration::from_secs(60))
    ///     .depends_on("inventory")
    ///     .depends_on("cart:{user.id}");
    /// # let _ = read;
    /// ```
    pub fn depends_on(mut self, resource: &str) -> Self {
        match Resource::parse(resource) {
            Ok(resource) => self.depends_on.push(resource),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// Resources the tool's results depend on, computed from the arguments; `None` when
    /// they can't be told (the call is then not cached).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    /// use std::time::Duration;
    ///
    /// let read = ToolPolicy::cached(Duration::from_secs(60)).depends_on_with(|args| {
    ///     let ids = args.get("ids")?.as_array()?;
    ///     Some(ids.iter().map(|id| format!("item:{id}")).collect())
    /// });
    /// # let _ = read;
    /// ```
    pub fn depends_on_with(
        mut self,
        derive: impl Fn(&Value) -> Option<Vec<String>> + Send + Sync + 'static,
    ) -> Self {
        self.depends_on
            .push(Resource(ResourceKind::Derived(Arc::new(derive))));
        self
    }

    /// A resource the tool changes (see [`Resource`] for templates): before each call, every
    /// entry that depends on it is removed. A call whose arguments lack a template's field
    /// invalidates the template's base (`cart` for `cart:{user_id}`): every cart.
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    ///
    /// let add = ToolPolicy::mutating().invalidates("cart:{user_id}");
    /// # let _ = add;
    /// ```
    pub fn invalidates(mut self, resource: &str) -> Self {
        match Resource::parse(resource) {
            Ok(resource) => self.invalidates.push(resource),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// Resources the tool changes, computed from the arguments; `None` when they can't be
    /// told, which invalidates nothing (name a fixed resource too if that is unsafe).
    ///
    /// # Examples
    ///
    /// ```
    /// use larder::agent::ToolPolicy;
    ///
    /// let bulk = ToolPolicy::mutating().invalidates_with(|args| {
    ///     let ids = args.get("ids")?.as_array()?;
    ///     Some(ids.iter().map(|id| format!("item:{id}")).collect())
    /// });
    /// # let _ = bulk;
    /// ```
    pub fn invalidates_with(
        mut self,
        derive: impl Fn(&Value) -> Option<Vec<String>> + Send + Sync + 'static,
    ) -> Self {
        self.invalidates
            .push(Resource(ResourceKind::Derived(Arc::new(derive))));
        self
    }

    /// The tags a cached result of a call with `args` carries, or `None` if a resource
    /// can't be told from them (the call is then not cached).
    pub(crate) fn result_tags(&self, args: &Value) -> Option<Vec<Tag>> {
        let mut tags = Vec::with_capacity(self.depends_on.len() * 2);
        for resource in &self.depends_on {
            match resource.resolve(args) {
                Resolved::Names(names) => tags.extend(names.iter().map(|n| resource_tag(n))),
                Resolved::Unresolved { .. } => return None,
            }
        }
        Some(tags)
    }

    /// The resources a call with `args` invalidates: for a template the arguments don't fill,
    /// its base.
    pub(crate) fn invalidated(&self, args: &Value) -> Vec<String> {
        let mut names = Vec::new();
        for resource in &self.invalidates {
            match resource.resolve(args) {
                // A filled template names the resource first and its base second: a mutation
                // of one cart invalidates that cart, not every cart.
                Resolved::Names(mut resolved) => {
                    if matches!(resource.0, ResourceKind::Template { .. }) {
                        resolved.truncate(1);
                    }
                    names.extend(resolved);
                }
                Resolved::Unresolved { base: Some(base) } => names.push(base),
                Resolved::Unresolved { base: None } => {}
            }
        }
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(spec: &str, args: Value) -> Option<Vec<String>> {
        match Resource::parse(spec).unwrap().resolve(&args) {
            Resolved::Names(n) => Some(n),
            Resolved::Unresolved { .. } => None,
        }
    }

    #[test]
    fn templates_fill_from_arguments() {
        assert_eq!(
            names("cart:{user_id}", json!({"user_id": 7})).unwrap(),
            ["cart:7", "cart"]
        );
        assert_eq!(
            names(
                "cart:{user.id}/{kind}",
                json!({"user": {"id": "u1"}, "kind": "gift"})
            )
            .unwrap(),
            ["cart:u1/gift", "cart"]
        );
        assert_eq!(
            names("cart:{user_id}", json!({"user_id": 7.0})).unwrap()[0],
            "cart:7"
        );
        assert_eq!(names("cart:{user_id}", json!({})), None);
        assert_eq!(names("inventory", json!({})).unwrap(), ["inventory"]);
    }

    #[test]
    fn bad_templates_are_config_errors() {
        for spec in [
            "",
            "{user}",
            "cart:{",
            "cart:}",
            "cart:{}",
            "cart:{a..b}",
            ":{a}",
        ] {
            let error = Resource::parse(spec).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config, "{spec}");
        }
        let policy = ToolPolicy::mutating().invalidates("cart:{");
        assert!(policy.error.is_some());
    }

    #[test]
    fn a_mutation_without_the_field_invalidates_the_base() {
        let policy = ToolPolicy::mutating()
            .invalidates("cart:{user_id}")
            .invalidates("orders");
        assert_eq!(
            policy.invalidated(&json!({"user_id": 3})),
            ["cart:3", "orders"]
        );
        assert_eq!(policy.invalidated(&json!({})), ["cart", "orders"]);
    }

    #[test]
    fn a_read_without_the_field_is_not_cached() {
        let policy = ToolPolicy::cached_default().depends_on("cart:{user_id}");
        assert!(policy.result_tags(&json!({})).is_none());
        let tags = policy.result_tags(&json!({"user_id": 1})).unwrap();
        assert_eq!(tags.len(), 2);
    }
}
